import type { DataSource } from 'typeorm';
import { REENCRYPTION_ADVISORY_LOCK } from '../storage/advisory-locks.js';

/** Releases the re-encryption lock. */
export type ReencryptionUnlock = () => Promise<void>;

/**
 * On Postgres, the session advisory lock that lets one replica re-encrypt at a time (null when
 * another replica holds it), held on a connection of its own until released. SQLite is one
 * process: nothing to take.
 */
export async function takeReencryptionLock(
  dataSource: DataSource,
): Promise<ReencryptionUnlock | null> {
  if (dataSource.options.type !== 'postgres') return async () => undefined;
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const [row] = (await runner.query(
      'SELECT pg_try_advisory_lock($1, $2) AS locked',
      REENCRYPTION_ADVISORY_LOCK,
    )) as { locked: boolean }[];
    if (!row.locked) {
      await runner.release();
      return null;
    }
  } catch (error) {
    await runner.release();
    throw error;
  }
  return async () => {
    await runner
      .query('SELECT pg_advisory_unlock($1, $2)', REENCRYPTION_ADVISORY_LOCK)
      .catch(() => undefined);
    await runner.release();
  };
}
