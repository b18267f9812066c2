import { readFileSync } from 'node:fs';
import * as kms from '@nest-kms/kms';
import * as secrets from '@nest-kms/secrets';
import * as config from '@nest-kms/config';

/*
 * README's error table is where users look up a code they caught: it lists exactly the codes the
 * error classes of the public faces carry, each with its class. Codes are read from instances,
 * not copied here, so a new error class or a changed code fails this until the table follows.
 */

const FACES: Record<string, Record<string, unknown>> = {
  '@nest-kms/kms': kms,
  '@nest-kms/secrets': secrets,
  '@nest-kms/config': config,
};

type ErrorClass = new (...args: unknown[]) => kms.NestKmsError;

/**
 * Arguments for the constructors that read theirs to build the message; every other class is
 * constructed without any, which is enough to carry its code.
 */
const SAMPLE_ARGUMENTS = new Map<Function, unknown[]>([
  [kms.ColumnNotServedError, ['Entity', 'property', []]],
  [kms.ActorBlockedError, ['actor', 0]],
  [secrets.SecretExpiredError, ['NAME', new Date(0)]],
  [secrets.SecretRestoreConflictError, [['NAME']]],
  [config.ConfigValidationError, ['Schema', []]],
]);

interface ExportedError {
  readonly face: string;
  readonly type: ErrorClass;
  /** undefined: a base class, whose instances carry no code. */
  readonly code: string | undefined;
}

function exportedErrors(): ExportedError[] {
  const errors: ExportedError[] = [];
  for (const [face, exports] of Object.entries(FACES)) {
    for (const value of Object.values(exports)) {
      if (typeof value !== 'function' || !(value.prototype instanceof kms.NestKmsError)) continue;
      const type = value as ErrorClass;
      let instance: kms.NestKmsError;
      try {
        instance = new type(...(SAMPLE_ARGUMENTS.get(type) ?? []));
      } catch (error) {
        throw new Error(
          `${face} ${type.name} cannot be constructed without arguments (${String(error)}): give it sample arguments in SAMPLE_ARGUMENTS`,
          { cause: error },
        );
      }
      errors.push({ face, type, code: instance.code });
    }
  }
  return errors;
}

/** README's "## Errors" table: each row's code and class. */
function readmeErrorTable(): { code: string; className: string }[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Errors\n'));
  expect(section, 'README.md has an "## Errors" section').toBeDefined();
  const rows = section!.split('\n').filter((line) => /^\|\s*`/.test(line));
  return rows.map((row) => {
    const [code, className] = row
      .split('|')
      .slice(1, 3)
      .map((cell) => cell.trim().replace(/^`|`$/g, ''));
    return { code, className };
  });
}

describe("README's error table", () => {
  const errors = exportedErrors();
  const withCodes = errors.filter((error) => error.code !== undefined);
  const table = readmeErrorTable();

  it('is compared with error classes from every public face', () => {
    for (const face of Object.keys(FACES)) {
      expect(withCodes.filter((error) => error.face === face).length, face).toBeGreaterThan(2);
    }
    // A class whose instances carry no code is a base: another exported error class extends it.
    for (const base of errors.filter((error) => error.code === undefined)) {
      expect(
        errors.some((error) => error.type.prototype instanceof base.type),
        `${base.type.name} carries no code and nothing extends it`,
      ).toBe(true);
    }
  });

  it('lists every code an exported error class carries, with that class', () => {
    const listed = new Map(table.map((row) => [row.code, row.className]));
    const missing = withCodes
      .filter((error) => listed.get(error.code!) !== error.type.name)
      .map((error) => `${error.code} (${error.type.name}, ${error.face})`);
    expect(missing).toEqual([]);
  });

  it('lists no code that no exported error class carries, and each code once', () => {
    const carried = new Set(withCodes.map((error) => error.code));
    expect(table.filter((row) => !carried.has(row.code)).map((row) => row.code)).toEqual([]);
    expect(table.length).toBe(new Set(table.map((row) => row.code)).size);
  });

  it('gives each code to one class', () => {
    const codes = withCodes.map((error) => error.code);
    expect(codes.length).toBe(new Set(codes).size);
  });
});
