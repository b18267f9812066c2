import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { KmsConfigurationError } from '@nest-kms/kms';
import type { KmsStorage } from '@nest-kms/kms/extension';
import type { AuditAction, AuditOutcome } from '../entities/secret-audit.entity.js';
import type {
  AuditTrailProblem,
  AuditTrailRecord,
  AuditTrailVerification,
} from './audit-trail.interface.js';

/** The chain's row in kms_audit_chain. */
const CHAIN = 'secret-audit';
/** Records sealed per transaction: 3 parameters each, within both engines' limits. */
const SEAL_BATCH = 500;
/** Records read per query when verifying or reading the trail. */
const READ_BATCH = 1_000;
/** Problems a verification lists in full (it counts them all). */
const MAX_LISTED_PROBLEMS = 100;

const RECORD_COLUMNS =
  'id, record_id, at, action, secret_name, version, actor, outcome, error_code, key_id';

/** What one run of seal() did: records sealed, and the head it left. */
export interface SealedRun {
  records: number;
  headSeq: number;
  headMac: string;
}

interface StoredRecord {
  id: number;
  recordId: string | null;
  at: number;
  action: AuditAction;
  secretName: string | null;
  version: number | null;
  actor: string | null;
  outcome: AuditOutcome;
  errorCode: string | null;
  keyId: string | null;
}

/**
 * The audit trail's hash chain. Records are written unsealed (a buffered read record must not
 * wait for a lock); seal() then gives the oldest unsealed ones their places in order, each with
 * MAC = HMAC-SHA256(key, previous MAC ‖ position ‖ the record's every field), and moves the head.
 * The key derives from the keyring (the same on every replica, never stored), so a database
 * writer without the keyring can delete or alter records but cannot mend the chain after it.
 * Sealing locks the head row: one replica at a time extends the chain, whatever the engine.
 */
export class AuditChain {
  constructor(
    private readonly storage: KmsStorage,
    private readonly key: () => Buffer,
    private readonly now: () => number,
  ) {}

  /** Seals every record written so far, oldest first; returns how many, and the new head. */
  async seal(): Promise<SealedRun> {
    const run: SealedRun = { records: 0, headSeq: 0, headMac: '' };
    for (;;) {
      const batch = await this.storage.transaction((manager) => this.sealBatch(manager));
      run.records += batch.records;
      run.headSeq = batch.headSeq;
      run.headMac = batch.headMac;
      if (batch.records < SEAL_BATCH) return run;
    }
  }

  private async sealBatch(manager: EntityManager): Promise<SealedRun> {
    const postgres = manager.connection.options.type === 'postgres';
    const q = (sql: string, parameters: unknown[]) =>
      manager.query(numbered(sql, postgres), parameters);
    // The UPDATE takes the head's row lock (Postgres) or the write lock (SQLite) first, so two
    // replicas never seal from the same head.
    await q('UPDATE kms_audit_chain SET sealed_at = ? WHERE name = ?', [this.now(), CHAIN]);
    const [head] = (await q('SELECT seq, mac FROM kms_audit_chain WHERE name = ?', [CHAIN])) as {
      seq: string | number;
      mac: string;
    }[];
    if (head === undefined) {
      throw new KmsConfigurationError(
        'The audit chain head (kms_audit_chain) is missing: run SECRETS_MIGRATIONS',
      );
    }
    const rows = (await q(
      `SELECT ${RECORD_COLUMNS} FROM kms_secret_audit WHERE chain_seq IS NULL ORDER BY id LIMIT ${SEAL_BATCH}`,
      [],
    )) as Record<string, unknown>[];
    let seq = Number(head.seq);
    let mac = head.mac;
    if (rows.length === 0) return { records: 0, headSeq: seq, headMac: mac };
    const key = this.key();
    const parameters: unknown[] = [];
    for (const row of rows) {
      const record = storedRecord(row);
      seq++;
      mac = recordMac(key, mac, seq, record);
      parameters.push(record.id, seq, mac);
    }
    const tuples = rows
      .map((_, i) =>
        postgres
          ? `($${3 * i + 1}::integer, $${3 * i + 2}::bigint, $${3 * i + 3}::varchar)`
          : '(?, ?, ?)',
      )
      .join(', ');
    await manager.query(
      postgres
        ? `UPDATE kms_secret_audit AS a SET chain_seq = v.seq, chain_mac = v.mac FROM (VALUES ${tuples}) AS v(id, seq, mac) WHERE a.id = v.id`
        : `UPDATE kms_secret_audit SET chain_seq = v.column2, chain_mac = v.column3 FROM (VALUES ${tuples}) AS v WHERE kms_secret_audit.id = v.column1`,
      parameters,
    );
    await q('UPDATE kms_audit_chain SET seq = ?, mac = ? WHERE name = ?', [seq, mac, CHAIN]);
    return { records: rows.length, headSeq: seq, headMac: mac };
  }

  /** Sealed records after position `afterSeq`, in chain order: what threat detection reads. */
  async read(afterSeq: number, limit: number): Promise<AuditTrailRecord[]> {
    const rows = await this.storage.queryRows(
      `SELECT chain_seq, ${RECORD_COLUMNS} FROM kms_secret_audit WHERE chain_seq > ? ORDER BY chain_seq LIMIT ${Math.min(limit, READ_BATCH)}`,
      [afterSeq],
    );
    return rows.map((row) => ({ seq: Number(row.chain_seq), ...publicRecord(storedRecord(row)) }));
  }

  /**
   * Recomputes the whole chain: every position present once, every MAC right, the end where the
   * head says. A deleted record is a gap, an altered one a wrong MAC, records cut from the end a
   * head beyond the last record. Reads in batches; a trail of millions takes a while.
   */
  async verify(): Promise<AuditTrailVerification> {
    const key = this.key();
    const [head] = await this.storage.queryRows(
      'SELECT seq, mac FROM kms_audit_chain WHERE name = ?',
      [CHAIN],
    );
    const headSeq = Number(head?.seq ?? 0);
    const problems: AuditTrailProblem[] = [];
    let problemCount = 0;
    const problem = (found: AuditTrailProblem) => {
      problemCount++;
      if (problems.length < MAX_LISTED_PROBLEMS) problems.push(found);
    };
    let expected = 1;
    let previousMac = '';
    let verified = 0;
    for (;;) {
      const rows = await this.storage.queryRows(
        `SELECT chain_seq, chain_mac, ${RECORD_COLUMNS} FROM kms_secret_audit WHERE chain_seq >= ? ORDER BY chain_seq LIMIT ${READ_BATCH}`,
        [expected],
      );
      for (const row of rows) {
        const seq = Number(row.chain_seq);
        const stored = String(row.chain_mac);
        if (seq > expected) {
          problem({ kind: 'missing', fromSeq: expected, toSeq: seq - 1 });
        } else if (!macEquals(stored, recordMac(key, previousMac, seq, storedRecord(row)))) {
          problem({ kind: 'altered', fromSeq: seq, toSeq: seq });
        } else {
          verified++;
        }
        // The next record is checked against what is stored here: one altered record is one
        // problem, not every record after it.
        previousMac = stored;
        expected = seq + 1;
      }
      if (rows.length < READ_BATCH) break;
    }
    const lastSeq = expected - 1;
    if (headSeq > lastSeq) problem({ kind: 'truncated', fromSeq: lastSeq + 1, toSeq: headSeq });
    else if (headSeq === lastSeq && lastSeq > 0 && !macEquals(String(head?.mac), previousMac)) {
      problem({ kind: 'head', fromSeq: headSeq, toSeq: headSeq });
    }
    const [unsealed] = await this.storage.queryRows(
      'SELECT COUNT(*) AS count, MIN(at) AS oldest FROM kms_secret_audit WHERE chain_seq IS NULL',
      [],
    );
    return {
      intact: problemCount === 0,
      verifiedRecords: verified,
      lastSeq: headSeq,
      problemCount,
      problems,
      unsealedRecords: Number(unsealed?.count ?? 0),
      oldestUnsealedAt: unsealed?.oldest == null ? null : Number(unsealed.oldest),
    };
  }
}

/** The MAC of the record at `seq`, chained to the MAC before it. */
function recordMac(key: Buffer, previousMac: string, seq: number, record: StoredRecord): string {
  const fields = [
    seq,
    record.id,
    record.recordId,
    record.at,
    record.action,
    record.secretName,
    record.version,
    record.actor,
    record.outcome,
    record.errorCode,
    record.keyId,
  ];
  return createHmac('sha256', key)
    .update(`${previousMac}\n${JSON.stringify(fields)}`)
    .digest('base64url');
}

function macEquals(stored: string, computed: string): boolean {
  const a = Buffer.from(stored);
  const b = Buffer.from(computed);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A row as either driver returns it (Postgres gives bigints as strings). */
function storedRecord(row: Record<string, unknown>): StoredRecord {
  return {
    id: Number(row.id),
    recordId: (row.record_id as string | null) ?? null,
    at: Number(row.at),
    action: row.action as AuditAction,
    secretName: (row.secret_name as string | null) ?? null,
    version: row.version == null ? null : Number(row.version),
    actor: (row.actor as string | null) ?? null,
    outcome: row.outcome as AuditOutcome,
    errorCode: (row.error_code as string | null) ?? null,
    keyId: (row.key_id as string | null) ?? null,
  };
}

function publicRecord(record: StoredRecord): Omit<AuditTrailRecord, 'seq'> {
  return {
    at: record.at,
    action: record.action,
    secretName: record.secretName,
    version: record.version,
    actor: record.actor,
    outcome: record.outcome,
    errorCode: record.errorCode,
    keyId: record.keyId,
  };
}

function numbered(sql: string, postgres: boolean): string {
  let at = 0;
  return postgres ? sql.replace(/\?/g, () => `$${++at}`) : sql;
}
