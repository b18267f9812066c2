/** Socket errors of a database that cannot be reached. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Postgres SQLSTATEs of a server that is going away, not accepting connections, out of
 * connections, or that cancelled a statement at statement_timeout.
 */
const POSTGRES_STATES = new Set(['57P01', '57P02', '57P03', '57014', '53300']);

/** SQLite: another connection holds the lock past the busy timeout, or the file is gone. */
const SQLITE_PREFIXES = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_IOERR'];

/** node-postgres and pg-pool report lost connections and their own timeouts without a code. */
const POSTGRES_CLIENT_MESSAGES: readonly [text: string, reason: string][] = [
  ['Query read timeout', 'query timeout'],
  ['timeout exceeded when trying to connect', 'connect timeout'],
  ['Connection terminated due to connection timeout', 'connect timeout'],
  ['Connection terminated', 'connection lost'],
  ['Client has encountered a connection error', 'connection lost'],
];

/**
 * Why `error` means the database could not be reached or did not answer in time, or undefined
 * when it is any other failure. Reads the TypeORM wrapper (`driverError`) and `cause` chains.
 * The reason is a code or a fixed phrase: never the driver's message, which may quote a row.
 */
export function databaseUnavailableReason(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code) || POSTGRES_STATES.has(code) || code.startsWith('08')) {
        return code === '57014' ? 'statement timeout (57014)' : code;
      }
      if (SQLITE_PREFIXES.some((prefix) => code.startsWith(prefix))) return code;
    }
    if (typeof message === 'string') {
      const known = POSTGRES_CLIENT_MESSAGES.find(([text]) => message.startsWith(text));
      if (known) return known[1];
    }
    const next = current as { driverError?: unknown; cause?: unknown };
    current = next.driverError ?? next.cause;
  }
  return undefined;
}
