import { randomUUID } from 'node:crypto';
import type { KmsStorage } from '@nest-kms/kms/extension';
import { QueryFailedError } from 'typeorm';
import type { SecretAuditEntity } from '../entities/secret-audit.entity.js';

/** Rows per INSERT: 9 parameters each, within both engines' limits. */
export const AUDIT_INSERT_MAX_ROWS = 500;

const INSERT_AUDIT =
  'INSERT INTO kms_secret_audit (record_id, at, action, secret_name, version, actor, outcome, error_code, key_id) VALUES';
/**
 * A write may commit and still fail for its caller (its answer timed out, or came after the
 * connection was given up on); the retry sends the same records, and this makes it add only
 * those not there yet. Postgres 9.5 and SQLite 3.24 have it.
 */
const ONCE_PER_RECORD = 'ON CONFLICT (record_id) DO NOTHING';

/**
 * True when the database refused a row for what it holds (Postgres SQLSTATE classes 22, data
 * exception, and 23, integrity constraint; SQLite's constraint, type and size errors), as opposed
 * to anything about the table or the connection (a missing or locked table, a timeout), which a
 * retry may get past. Only the first kind may be given up on: the table coming back between two
 * single-row inserts must not make an earlier row look like a bad record. A record already in
 * the table is no failure at all (insertAuditRows skips it), so a retry never looks like one.
 */
export function isRecordRefusal(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return false;
  return (
    /^2[23][0-9A-Z]{3}$/.test(code) ||
    code.startsWith('SQLITE_CONSTRAINT') ||
    code === 'SQLITE_MISMATCH' ||
    code === 'SQLITE_TOOBIG'
  );
}

/**
 * The record with its id, given on its first write rather than when the record is made, so a
 * buffered read spends nothing on it; every later write of the same row reuses it.
 */
export function withRecordId(row: SecretAuditEntity): SecretAuditEntity {
  row.recordId ??= randomUUID();
  return row;
}

/**
 * One multi-row INSERT of at most AUDIT_INSERT_MAX_ROWS rows, idempotent: a record whose
 * `recordId` is in the table already is skipped, so writing a batch again adds nothing. A
 * conflict on `recordId` is never an error (nor a refusal). TypeORM's insert builder spent
 * 28-55 µs of CPU per record on a 500-row batch (its parameter handling grows with the batch).
 */
export function insertAuditRows(
  storage: KmsStorage,
  rows: readonly SecretAuditEntity[],
): Promise<void> {
  return storage.run(async (dataSource) => {
    const postgres = dataSource.options.type === 'postgres';
    const parameters: unknown[] = [];
    const tuples = rows.map((row) => {
      const first =
        parameters.push(
          withRecordId(row).recordId,
          row.at,
          row.action,
          row.secretName,
          row.version,
          row.actor,
          row.outcome,
          row.errorCode,
          row.keyId ?? null,
        ) - 8;
      return postgres
        ? `($${first}, $${first + 1}, $${first + 2}, $${first + 3}, $${first + 4}, $${first + 5}, $${first + 6}, $${first + 7}, $${first + 8})`
        : '(?, ?, ?, ?, ?, ?, ?, ?, ?)';
    });
    await dataSource.query(`${INSERT_AUDIT} ${tuples.join(', ')} ${ONCE_PER_RECORD}`, parameters);
  });
}
