import { IS_OPTIONAL, ValidationTypes, getMetadataStorage } from 'class-validator';
import { SECRET_NAME_PATTERN } from '@nest-kms/secrets';
import { inferValueType, type ValueType } from '../conversion/value-type.js';
import type { ConfigProblem } from '../interfaces/config-problem.interface.js';
import {
  readFieldDeclarations,
  type FieldDeclaration,
  type SourceDeclaration,
} from '../metadata/config-field.metadata.js';

/** How one field is resolved: what the decorators said, checked and completed. */
export interface FieldPlan {
  readonly field: string;
  readonly sensitive: boolean;
  readonly valueType: ValueType;
  /** The secret read first (@FromSecret), else null. */
  readonly secret: string | null;
  /** The environment variable read next (@FromEnv, or a secret's fallback), else null. */
  readonly env: string | null;
  /** The environment variable importFromEnv() reads for this secret, else null. */
  readonly importEnv: string | null;
  readonly defaultValue: unknown;
  /** @IsOptional(): no value anywhere leaves it undefined instead of refusing to start. */
  readonly optional: boolean;
}

export interface ConfigPlan {
  readonly fields: readonly FieldPlan[];
  /** Declaration problems (empty or invalid names, two sources, unknown type). */
  readonly problems: readonly ConfigProblem[];
}

/** Environment variable names: anything non-empty without `=` or NUL (what a process can hold). */
export const ENV_NAME = /^[^=\0]+$/;

/** What a registration puts before the names its schema declares. */
export interface NamePrefixes {
  readonly env: string;
  readonly secret: string;
}

const NO_PREFIXES: NamePrefixes = { env: '', secret: '' };

/**
 * Reads and checks a schema's declarations; `defaults` is a fresh instance (class defaults).
 * Names are prefixed here, once: everything after (reads, status, errors, imports) sees the
 * names the store and the environment hold.
 */
export function planConfig(
  schema: Function,
  defaults: object,
  prefixes: NamePrefixes = NO_PREFIXES,
): ConfigPlan {
  const fields: FieldPlan[] = [];
  const problems: ConfigProblem[] = [];
  const optional = optionalFields(schema);
  for (const declared of readFieldDeclarations(schema)) {
    const declaration = prefixed(declared, prefixes);
    const field = String(declaration.field);
    const complaints = checkDeclaration(declaration);
    const source = declaration.sources[0] as SourceDeclaration | undefined;
    const defaultValue = (defaults as Record<string | symbol, unknown>)[declaration.field];
    const designType: unknown = Reflect.getMetadata('design:type', schema.prototype, field);
    const valueType = inferValueType(source?.options.type, designType, defaultValue);
    if (!valueType) {
      complaints.type =
        "its type cannot be read from TypeScript (a union, unknown, or no annotation and no default): pass { type: 'string' | 'number' | 'boolean' | 'date' | 'json' }";
    }
    if (Object.keys(complaints).length > 0 || !valueType) {
      problems.push({
        field,
        kind: 'declaration',
        source: null,
        key: null,
        constraints: complaints,
      });
      continue;
    }
    const secret = source?.kind === 'secret' ? source : undefined;
    const importEnv = secret ? (secret.options.envName ?? secret.name) : null;
    fields.push({
      field,
      sensitive: declaration.sensitive || secret !== undefined,
      valueType,
      secret: secret ? secret.name : null,
      env: source?.kind === 'env' ? source.name : secret?.options.fallbackToEnv ? importEnv : null,
      importEnv,
      defaultValue,
      optional: optional.has(field),
    });
  }
  return { fields, problems };
}

/**
 * The declaration with the registration's prefixes. A name that is invalid as declared stays
 * unprefixed, so that the check below still refuses it (`''` under `reporting/` would pass).
 */
function prefixed(declaration: FieldDeclaration, prefixes: NamePrefixes): FieldDeclaration {
  if (prefixes.env === '' && prefixes.secret === '') return declaration;
  const env = (name: unknown) => (isEnvName(name) ? prefixes.env + name : name);
  const sources = declaration.sources.map((source): SourceDeclaration => {
    if (source.kind === 'env') return { ...source, name: env(source.name) as string };
    const valid = typeof source.name === 'string' && SECRET_NAME_PATTERN.test(source.name);
    const { envName } = source.options;
    return {
      ...source,
      name: valid ? prefixes.secret + source.name : source.name,
      // The environment side keeps the declared name (a secret prefix such as `reporting/` is
      // no part of a variable's name), under the environment prefix.
      options: {
        ...source.options,
        envName: (envName === undefined ? (valid ? env(source.name) : undefined) : env(envName)) as
          string | undefined,
      },
    };
  });
  return { ...declaration, sources };
}

const isEnvName = (name: unknown): name is string =>
  typeof name === 'string' && ENV_NAME.test(name);

/** Constraint name → what is wrong with the field's decorators. */
function checkDeclaration(declaration: FieldDeclaration): Record<string, string> {
  const complaints: Record<string, string> = {};
  if (typeof declaration.field === 'symbol')
    complaints.field = 'symbol-named fields are not supported';
  if (declaration.sources.length > 1) {
    const names = declaration.sources.map(
      (source) => `@From${source.kind === 'env' ? 'Env' : 'Secret'}`,
    );
    complaints.sources = `has ${names.join(' and ')}: declare one source (fallbackToEnv reads both)`;
  }
  for (const source of declaration.sources) {
    if (source.kind === 'env') {
      if (!isEnvName(source.name)) {
        complaints.envName = '@FromEnv names no environment variable (empty, or contains = or NUL)';
      }
      continue;
    }
    if (typeof source.name !== 'string' || !SECRET_NAME_PATTERN.test(source.name)) {
      complaints.secretName =
        '@FromSecret names no valid secret (1-128 characters: a letter or digit, then letters, digits, _ . - /)';
    }
    const { envName } = source.options;
    if (envName !== undefined && !isEnvName(envName)) {
      complaints.envName = '@FromSecret envName names no environment variable';
    }
  }
  return complaints;
}

/** Fields carrying class-validator's @IsOptional(). */
function optionalFields(schema: Function): Set<string> {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(schema, '', true, false);
  return new Set(
    metadata
      .filter(
        (entry) =>
          entry.type === ValidationTypes.CONDITIONAL_VALIDATION && entry.name === IS_OPTIONAL,
      )
      .map((entry) => entry.propertyName),
  );
}
