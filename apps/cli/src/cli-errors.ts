import { NestKmsError, quotedInput } from '@nest-kms/kms';

/** Process exit codes: documented in `--help` and docs/cli.md; scripts depend on them. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  masterKey: 5,
  readOnlyRegion: 6,
  auditTrailBroken: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit-code table as `--help` prints it. */
export const EXIT_CODE_HELP: readonly [ExitCode, string][] = [
  [EXIT.ok, 'done'],
  [
    EXIT.failure,
    'failed (database unreachable, a backup that does not open, an import that failed, ...)',
  ],
  [
    EXIT.usage,
    'usage error: unknown command or option, missing operand or input, invalid name or value',
  ],
  [
    EXIT.notFound,
    'not found: no such secret or version (or it is deleted or expired), no such file',
  ],
  [
    EXIT.conflict,
    'conflict: import found different stored values, restore conflict, file exists, secret state',
  ],
  [
    EXIT.masterKey,
    'master key: missing or invalid, not the key of this keyring, or refused by its provider',
  ],
  [
    EXIT.readOnlyRegion,
    'read-only region: a write refused in a replica region (KMS_REGION_ROLE=replica); run it in the primary',
  ],
  [
    EXIT.auditTrailBroken,
    'audit trail broken: "audit verify" found records deleted, altered or cut from the chain',
  ],
];

/** A failure the CLI itself detects; `code` is printed as is (`nest-kms: <code>: <message>`). */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
  ) {
    super(message);
  }
}

/** A command line the CLI cannot run. Messages never echo an operand it did not understand. */
export function usageError(message: string): CliError {
  return new CliError('USAGE', `${message} (see nest-kms --help)`, EXIT.usage);
}

const EXIT_BY_CODE: Record<string, ExitCode> = {
  SECRET_INVALID_INPUT: EXIT.usage,
  KMS_INVALID_INPUT: EXIT.usage,
  SECRET_NOT_FOUND: EXIT.notFound,
  SECRET_DELETED: EXIT.notFound,
  SECRET_EXPIRED: EXIT.notFound,
  SECRET_VERSION_NOT_FOUND: EXIT.notFound,
  SECRET_INVALID_STATE: EXIT.conflict,
  SECRET_RESTORE_CONFLICT: EXIT.conflict,
  KMS_MASTER_KEY_MISSING: EXIT.masterKey,
  KMS_INVALID_MASTER_KEY: EXIT.masterKey,
  KMS_MASTER_KEY_MISMATCH: EXIT.masterKey,
  // Refused by the key's provider (access denied, a wrong PIN, a disabled key): an operator's
  // fix, like a wrong key. A provider that does not answer is a failure like a database down.
  KMS_MASTER_KEY_PROVIDER_ERROR: EXIT.masterKey,
  // Not a failure to retry here: the same command succeeds against the primary region.
  KMS_REGION_READ_ONLY: EXIT.readOnlyRegion,
};

/** The library speaks of its API; the operator at a shell needs the command. */
const CLI_HINTS: Record<string, (error: NestKmsError) => string> = {
  SECRET_DELETED: (error) =>
    `; with the CLI: nest-kms secrets recover ${(error as { secretName?: string }).secretName}`,
  KMS_REGION_READ_ONLY: (error) =>
    (error as { primary?: string | null }).primary
      ? `; run the command there: --db (or DATABASE_URL) naming the primary region's database, without KMS_REGION_ROLE=replica`
      : `; run the command in the primary region (--db naming its database, without KMS_REGION_ROLE=replica); KMS_REGION_PRIMARY names it in this message`,
};

export interface Failure {
  code: string;
  /** One line, never a stack trace. */
  message: string;
  exitCode: ExitCode;
}

/**
 * What to tell the operator about `error`. Library errors carry no secrets by contract; other
 * errors (driver, file system) may repeat their input: their text is shown only quoted (bounded,
 * escaped), after credentials in URLs are masked.
 */
export function describeFailure(error: unknown): Failure {
  if (error instanceof CliError) {
    return { code: error.code, message: oneLine(error.message), exitCode: error.exitCode };
  }
  if (error instanceof NestKmsError) {
    return {
      code: error.code,
      message: oneLine(error.message) + (CLI_HINTS[error.code]?.(error) ?? ''),
      exitCode: EXIT_BY_CODE[error.code] ?? EXIT.failure,
    };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') {
    const path = (error as NodeJS.ErrnoException).path;
    return {
      code: 'FILE_NOT_FOUND',
      message: `no such file: ${quotedInput(path)}`,
      exitCode: EXIT.notFound,
    };
  }
  return {
    code: typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'FAILED',
    message: quotedInput(maskCredentials(oneLine(messageOf(error)))),
    exitCode: EXIT.failure,
  };
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    // Node's connect errors (every address refused) carry their reasons inside.
    return messageOf(error.errors[0]) || 'connection failed';
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** `postgres://user:password@host` → `postgres://user:****@host`. */
export function maskCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1****@');
}
