import { In, type EntityManager } from 'typeorm';
import { SecretVersionEntity } from '../entities/secret-version.entity.js';
import { SecretEntity } from '../entities/secret.entity.js';
import { insertTagRows, tagRows } from '../listing/secret-tags.js';
import { toBackupSecret, toSecretRow, toVersionRows, type BackupSecret } from './backup-payload.js';

/** What a restore would do to this database, secret by secret. */
export interface RestorePlan {
  /** Not here at all: to insert. */
  missing: BackupSecret[];
  /** Here with exactly the backup's rows: nothing to do. */
  unchanged: string[];
  /** Here with other rows: the restore is refused. */
  conflicts: string[];
}

/** Names per query: far below the bound-parameter limits of SQLite and Postgres. */
const NAMES_PER_QUERY = 500;
/** Rows per multi-row INSERT, for the same reason. */
const ROWS_PER_INSERT = 100;

/**
 * Compares a backup's secrets with the rows this database holds for their names. A secret is
 * unchanged only when its row and every version row are identical (envelopes byte for byte;
 * for those in `sealedAnew`, whose values this restore sealed anew, everything but the
 * envelopes); orphan version rows without a secret row count as a conflict too.
 */
export async function planRestore(
  manager: EntityManager,
  secrets: readonly BackupSecret[],
  sealedAnew: ReadonlySet<string>,
): Promise<RestorePlan> {
  const rows = new Map<string, SecretEntity>();
  const versions = new Map<string, SecretVersionEntity[]>();
  for (const names of chunks(
    secrets.map((secret) => secret.name),
    NAMES_PER_QUERY,
  )) {
    for (const row of await manager.find(SecretEntity, { where: { name: In(names) } })) {
      rows.set(row.name, row);
    }
    for (const row of await manager.find(SecretVersionEntity, {
      where: { secretName: In(names) },
    })) {
      const held = versions.get(row.secretName) ?? [];
      held.push(row);
      versions.set(row.secretName, held);
    }
  }
  const plan: RestorePlan = { missing: [], unchanged: [], conflicts: [] };
  for (const secret of secrets) {
    const row = rows.get(secret.name);
    const held = versions.get(secret.name) ?? [];
    if (row === undefined && held.length === 0) plan.missing.push(secret);
    else if (row !== undefined && same(secret, row, held, !sealedAnew.has(secret.name))) {
      plan.unchanged.push(secret.name);
    } else plan.conflicts.push(secret.name);
  }
  return plan;
}

/** Inserts the secrets a plan found missing, with all their versions, in `manager`'s transaction. */
export async function insertSecrets(
  manager: EntityManager,
  secrets: readonly BackupSecret[],
): Promise<void> {
  for (const batch of chunks(secrets.map(toSecretRow), ROWS_PER_INSERT)) {
    await manager.insert(SecretEntity, batch);
  }
  for (const batch of chunks(secrets.flatMap(toVersionRows), ROWS_PER_INSERT)) {
    await manager.insert(SecretVersionEntity, batch);
  }
  await insertTagRows(
    manager,
    secrets.flatMap((secret) => tagRows(secret.name, secret.tags)),
  );
}

function same(
  secret: BackupSecret,
  row: SecretEntity,
  versions: SecretVersionEntity[],
  envelopes: boolean,
): boolean {
  const incoming = toSecretRow(secret);
  // Both sides through toBackupSecret: one field order, so equal rows give equal text.
  const text = (candidate: BackupSecret) =>
    JSON.stringify(
      envelopes
        ? candidate
        : {
            ...candidate,
            versions: candidate.versions.map(({ envelope: _e, keyId: _k, ...rest }) => rest),
          },
    );
  return (
    (!envelopes ||
      (row.currentEnvelope === incoming.currentEnvelope &&
        row.currentKeyId === incoming.currentKeyId)) &&
    text(toBackupSecret(row, versions)) === text(toBackupSecret(incoming, toVersionRows(secret)))
  );
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < items.length; at += size) out.push(items.slice(at, at + size));
  return out;
}
