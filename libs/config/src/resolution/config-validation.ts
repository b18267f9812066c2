import { validate, type ValidationError } from 'class-validator';
import type { ConfigProblem } from '../interfaces/config-problem.interface.js';
import type { ConfigSource } from '../interfaces/config-status.interface.js';
import { redact, textForms } from '../masking/redaction.js';

/** What is known of a field's value, to report a refusal without it. */
export interface ValidatedField {
  readonly value: unknown;
  readonly raw: unknown;
  readonly source: ConfigSource;
  readonly key: string | null;
  readonly sensitive: boolean;
}

/**
 * Validates the schema as a whole with class-validator: a fresh instance (class defaults) with
 * `fields` set on it. Returns one problem per refused field; every message is stripped of the
 * field's value in any form it may take.
 */
export async function validateFields(
  schema: new () => object,
  fields: ReadonlyMap<string, ValidatedField>,
): Promise<ConfigProblem[]> {
  const candidate = new schema();
  for (const [field, { value }] of fields) {
    Object.defineProperty(candidate, field, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  let errors: ValidationError[];
  try {
    errors = await validate(candidate, {
      // The candidate is always an instance of the schema; a schema with no validator
      // decorators at all is valid, not an "unknown value".
      forbidUnknownValues: false,
      validationError: { target: false, value: true },
    });
  } catch (error) {
    return [
      {
        field: schema.name,
        kind: 'validation',
        source: null,
        key: null,
        constraints: {
          validator: `a validator threw ${error instanceof Error ? error.name : 'a non-error'}`,
        },
      },
    ];
  }
  // A message function may print any field; every sensitive value goes, wherever it appears.
  const secrets = [...fields.values()]
    .filter((field) => field.sensitive)
    .flatMap((field) => textForms(field.raw, field.value));
  return errors.map((error) => {
    const field = fields.get(error.property);
    const sensitive = field?.sensitive ?? false;
    const forms = textForms(field?.raw, field?.value);
    const constraints: Record<string, string> = {};
    collect(error, '', forms, sensitive, constraints);
    for (const [name, message] of Object.entries(constraints)) {
      constraints[name] = redact(message, secrets, true);
    }
    return {
      field: error.property,
      kind: 'validation',
      source: field?.source ?? 'default',
      key: field?.key ?? null,
      constraints,
    };
  });
}

/** Flattens nested errors (ValidateNested) into `path: constraint` entries. */
function collect(
  error: ValidationError,
  path: string,
  forms: readonly string[],
  sensitive: boolean,
  into: Record<string, string>,
): void {
  const own = [...forms, ...textForms(error.value)];
  for (const [name, message] of Object.entries(error.constraints ?? {})) {
    into[path === '' ? name : `${path}: ${name}`] = redact(message, own, sensitive);
  }
  for (const child of error.children ?? []) {
    collect(
      child,
      path === '' ? child.property : `${path}.${child.property}`,
      forms,
      sensitive,
      into,
    );
  }
}
