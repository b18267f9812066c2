import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { KMS_ENTITIES } from '@nest-kms/kms';
import {
  InvalidSecretInputError,
  SECRETS_ENTITIES,
  SecretAuditEntity,
  type SecretsService,
} from '@nest-kms/secrets';
import { CapturedLogger } from './support/captured-logger.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp } from './support/secrets-fixture.js';

/** Buffered records are written only when the app closes (which flushes them). */
// No timed write at all: a timed seal flushes the buffer first.
const FLUSH_AT_CLOSE = { flushIntervalMs: 3_600_000, sealIntervalMs: 0 };

/** Names a caller may send and the text the audit trail keeps of each: the same on every engine. */
const HOSTILE_NAMES: readonly [sent: string, stored: string][] = [
  ['a\0b', 'a\\u0000b'],
  ['line\nfeed\r', 'line\\nfeed\\r'],
  ['\u001b[2J\u001b[31mred', '\\u001b[2J\\u001b[31mred'],
  ['quote" back\\slash', 'quote\\" back\\\\slash'],
  ['Jos\u00e9 \ud800', 'Jos\\u00e9 \\ud800'],
  ['\u202eevil', '\\u202eevil'],
  ['n'.repeat(300), `${'n'.repeat(115)}… (300 chars)`],
  ['\0'.repeat(200), `${'\\u0000'.repeat(19)}… (200 chars)`],
];

async function auditRows(
  db: TestDatabase,
): Promise<
  Pick<SecretAuditEntity, 'action' | 'secretName' | 'version' | 'actor' | 'outcome' | 'errorCode'>[]
> {
  const tables = await new DataSource({
    ...db.connection,
    entities: [...KMS_ENTITIES, ...SECRETS_ENTITIES],
  } as ConstructorParameters<typeof DataSource>[0]).initialize();
  try {
    const rows = await tables.getRepository(SecretAuditEntity).find({ order: { id: 'ASC' } });
    return rows.map(({ action, secretName, version, actor, outcome, errorCode }) => ({
      action,
      secretName,
      version,
      actor,
      outcome,
      errorCode,
    }));
  } finally {
    await tables.destroy();
  }
}

describe.each(ENGINES)('audit of hostile input on %s', (engine) => {
  let db: TestDatabase;
  let secrets: SecretsService;
  let close: () => Promise<void>;
  let logger: CapturedLogger;
  const value = `value-${randomBytes(8).toString('hex')}`;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    const app = await startSecretsApp(db, {
      masterKey: newMasterKey(),
      secrets: { audit: FLUSH_AT_CLOSE },
    });
    ({ secrets, logger } = app);
    close = () => app.close();
    await secrets.setSecret('API_KEY', value);
  });

  afterEach(async () => {
    await close();
    await db.drop();
  });

  it('stores refused names escaped and cut to the column, and keeps every record of the batch', async () => {
    await secrets.getSecret('API_KEY', { actor: 'before' });
    for (const [name] of HOSTILE_NAMES) {
      await expect(secrets.getSecret(name, { actor: 'reader' })).rejects.toBeInstanceOf(
        InvalidSecretInputError,
      );
      await expect(secrets.setSecret(name, value, { actor: 'writer' })).rejects.toBeInstanceOf(
        InvalidSecretInputError,
      );
    }
    await secrets.getSecret('API_KEY', { actor: 'after' });
    await close();

    const rows = await auditRows(db);
    const refused = { version: null, outcome: 'failure', errorCode: 'SECRET_INVALID_INPUT' };
    const ok = { secretName: 'API_KEY', version: 1, outcome: 'success', errorCode: null };
    expect(rows).toEqual([
      { action: 'write', actor: null, ...ok },
      { action: 'read', actor: 'before', ...ok },
      ...HOSTILE_NAMES.flatMap(([, stored]) => [
        { action: 'read', secretName: stored, actor: 'reader', ...refused },
        { action: 'write', secretName: stored, actor: 'writer', ...refused },
      ]),
      { action: 'read', actor: 'after', ...ok },
    ]);
    expect(logger.events('secret_audit_failed')).toEqual([]);
  });

  it('stores an actor with control characters escaped, beside the records around it', async () => {
    await secrets.getSecret('API_KEY', { actor: 'before' });
    await secrets.getSecret('API_KEY', { actor: 'ev\0il\n' });
    await secrets.listSecrets({ actor: '\u001b]0;title\u0007' });
    await secrets.getSecret('API_KEY', { actor: 'after' });
    await close();

    const actors = (await auditRows(db)).map((row) => row.actor);
    expect(actors).toEqual([null, 'before', 'ev\\u0000il\\n', '\\u001b]0;title\\u0007', 'after']);
    expect(logger.events('secret_audit_failed')).toEqual([]);
    expect(CapturedLogger.allText()).not.toContain(value);
  });
});
