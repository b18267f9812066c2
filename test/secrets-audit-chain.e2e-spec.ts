import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { MasterKeyMismatchError } from '@nest-kms/kms';
import { SecretsAuditTrail, type AuditTrailRecord } from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { eventually } from './support/eventually.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables, sqlQuery } from './support/kms-tables.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';
import { tampered } from './support/tampered-envelope.js';

/*
 * The audit trail's hash chain on every engine: records sealed in order, once, by whichever
 * replica holds the head; verification finds a deleted, altered or cut record; the KMS's
 * security events are in the same trail.
 */

describe.each(ENGINES)('the audit trail hash chain on %s', (engine) => {
  let db: TestDatabase;
  let tables: DataSource;
  const apps: SecretsApp[] = [];
  const masterKey = newMasterKey();

  const start = async (extra: Parameters<typeof startSecretsApp>[1]['kms'] = {}) => {
    const app = await startSecretsApp(db, {
      masterKey,
      kms: extra,
      // Sealing on demand only, so each test says when; reads write their record before
      // returning; security events are buffered whatever failClosed says, and flushed at once.
      secrets: { audit: { sealIntervalMs: 0, failClosed: true, flushIntervalMs: 10 } },
    });
    apps.push(app);
    return { ...app, trail: app.app.get(SecretsAuditTrail) };
  };

  /** Every sealed record, in chain order. */
  const wholeTrail = async (trail: SecretsAuditTrail): Promise<AuditTrailRecord[]> => {
    const records: AuditTrailRecord[] = [];
    for (;;) {
      const page = await trail.read(records.at(-1)?.seq ?? 0, 1_000);
      records.push(...page);
      if (page.length === 0) return records;
    }
  };

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    tables = await openKmsTables(db);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await tables.destroy();
    await db.drop();
  });

  it('seals every record once, in order, and verifies the whole chain', async () => {
    const { secrets, trail } = await start();
    await secrets.setSecret('api-key', 'value-1', { actor: 'operator' });
    await secrets.getSecret('api-key', { actor: 'billing' });
    await secrets.getSecret('missing', { actor: 'billing' }).catch(() => undefined);
    expect(await trail.seal()).toBe(3);
    expect(await trail.seal()).toBe(0);

    const records = await wholeTrail(trail);
    expect(records.map((record) => record.seq)).toEqual([1, 2, 3]);
    expect(
      records.map(({ action, secretName, actor, outcome, errorCode }) => ({
        action,
        secretName,
        actor,
        outcome,
        errorCode,
      })),
    ).toEqual([
      {
        action: 'write',
        secretName: 'api-key',
        actor: 'operator',
        outcome: 'success',
        errorCode: null,
      },
      {
        action: 'read',
        secretName: 'api-key',
        actor: 'billing',
        outcome: 'success',
        errorCode: null,
      },
      {
        action: 'read',
        secretName: 'missing',
        actor: 'billing',
        outcome: 'failure',
        errorCode: 'SECRET_NOT_FOUND',
      },
    ]);
    const verification = await trail.verify();
    expect(verification).toMatchObject({
      intact: true,
      verifiedRecords: 3,
      lastSeq: 3,
      problemCount: 0,
      unsealedRecords: 0,
    });
  });
});

describe.each(ENGINES)('tampering with the audit trail on %s', (engine) => {
  let db: TestDatabase;
  let tables: DataSource;
  let app: SecretsApp;
  let trail: SecretsAuditTrail;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    app = await startSecretsApp(db, {
      masterKey: newMasterKey(),
      secrets: { audit: { sealIntervalMs: 0, failClosed: true } },
    });
    trail = app.app.get(SecretsAuditTrail);
    await app.secrets.setSecret('db-password', 'hunter2', { actor: 'operator' });
    for (let i = 0; i < 9; i++) await app.secrets.getSecret('db-password', { actor: 'billing' });
    expect(await trail.seal()).toBe(10);
    tables = await openKmsTables(db);
  });
  afterEach(async () => {
    await app.close();
    await tables.destroy();
    await db.drop();
  });

  const idAt = async (seq: number): Promise<number> => {
    const [row] = await sqlQuery<{ id: number }>(
      tables,
      'SELECT id FROM kms_secret_audit WHERE chain_seq = ?',
      [seq],
    );
    return Number(row.id);
  };

  it('finds a deleted record as a gap in the chain', async () => {
    await sqlQuery(tables, 'DELETE FROM kms_secret_audit WHERE id = ?', [await idAt(4)]);
    expect(await trail.verify()).toMatchObject({
      intact: false,
      problemCount: 1,
      problems: [{ kind: 'missing', fromSeq: 4, toSeq: 4 }],
    });
  });

  it('finds a record whose fields were changed, even with its MAC recomputed without the key', async () => {
    await sqlQuery(tables, "UPDATE kms_secret_audit SET actor = 'someone-else' WHERE id = ?", [
      await idAt(3),
    ]);
    await sqlQuery(tables, 'UPDATE kms_secret_audit SET chain_mac = ? WHERE id = ?', [
      Buffer.alloc(32, 7).toString('base64url'),
      await idAt(6),
    ]);
    const verification = await trail.verify();
    expect(verification.intact).toBe(false);
    expect(verification.problems).toEqual([
      { kind: 'altered', fromSeq: 3, toSeq: 3 },
      { kind: 'altered', fromSeq: 6, toSeq: 6 },
      // The record after a forged MAC is chained to the real one.
      { kind: 'altered', fromSeq: 7, toSeq: 7 },
    ]);
  });

  it('finds records cut from the end of the chain', async () => {
    await sqlQuery(tables, 'DELETE FROM kms_secret_audit WHERE chain_seq > ?', [8]);
    expect(await trail.verify()).toMatchObject({
      intact: false,
      problems: [{ kind: 'truncated', fromSeq: 9, toSeq: 10 }],
    });
  });

  it('finds a head moved back over records cut from the end', async () => {
    const [last] = await sqlQuery<{ chain_mac: string }>(
      tables,
      'SELECT chain_mac FROM kms_secret_audit WHERE chain_seq = ?',
      [8],
    );
    await sqlQuery(tables, 'DELETE FROM kms_secret_audit WHERE chain_seq > ?', [8]);
    await sqlQuery(
      tables,
      "UPDATE kms_audit_chain SET seq = 8, mac = ? WHERE name = 'secret-audit'",
      [last.chain_mac],
    );
    // Indistinguishable from a chain that ended there, by the database alone: the anchor is the
    // head this process logged when it sealed, which a database writer cannot reach.
    expect(await trail.verify()).toMatchObject({ intact: true, lastSeq: 8 });
    const anchors = app.logger.lines.filter((line) => line.includes('secret_audit_sealed'));
    expect(anchors.join('\n')).toContain('"headSeq":10');
  });

  it('seals records that were written before the chain existed, oldest first', async () => {
    await sqlQuery(
      tables,
      "INSERT INTO kms_secret_audit (record_id, at, action, secret_name, version, actor, outcome, error_code) VALUES (?, ?, 'read', 'db-password', 1, 'legacy', 'success', NULL)",
      [randomUUID(), Date.now()],
    );
    expect(await trail.seal()).toBe(1);
    const verification = await trail.verify();
    expect(verification).toMatchObject({ intact: true, verifiedRecords: 11, lastSeq: 11 });
  });
});

describe.each(ENGINES)('the KMS security events in the audit trail on %s', (engine) => {
  let db: TestDatabase;
  const apps: SecretsApp[] = [];
  const masterKey = newMasterKey();

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  const start = async (key = masterKey) => {
    const app = await startSecretsApp(db, {
      masterKey: key,
      secrets: { audit: { sealIntervalMs: 0, flushIntervalMs: 10 } },
    });
    apps.push(app);
    return { ...app, trail: app.app.get(SecretsAuditTrail) };
  };

  it('records failed decryptions with the key and who asked, and key destruction attempts', async () => {
    const { kms, trail } = await start();
    const envelope = await kms.encryptData('never in the trail');
    await caught(() => kms.decryptData(tampered(envelope), { actor: 'mallory' }));
    await caught(() => kms.destroyDataKey(envelope.keyId));
    const records = await eventually(async () => {
      await trail.seal();
      const sealed = await trail.read(0);
      expect(sealed).toHaveLength(2);
      return sealed;
    });
    expect(
      records.map(({ action, actor, outcome, errorCode, keyId }) => ({
        action,
        actor,
        outcome,
        errorCode,
        keyId,
      })),
    ).toEqual([
      {
        action: 'decrypt',
        actor: 'mallory',
        outcome: 'failure',
        errorCode: 'KMS_DECRYPTION_FAILED',
        keyId: envelope.keyId,
      },
      {
        action: 'destroy-key',
        actor: null,
        outcome: 'failure',
        errorCode: 'KMS_DATA_KEY_IN_USE',
        keyId: envelope.keyId,
      },
    ]);
    expect(JSON.stringify(records)).not.toContain('never in the trail');
  });

  it('records a destroyed tenant, naming it, so the shredding is on the record', async () => {
    const { kms, trail } = await start();
    await kms.encryptData('tenant data', { tenant: 'acme' });
    await kms.destroyTenant('acme', { confirm: 'acme' });
    const records = await eventually(async () => {
      await trail.seal();
      const sealed = await trail.read(0);
      expect(sealed.some((record) => record.action === 'destroy-tenant')).toBe(true);
      return sealed;
    });
    expect(records.filter((record) => record.action === 'destroy-tenant')).toEqual([
      expect.objectContaining({ outcome: 'success', keyId: 'acme' }),
    ]);
  });

  it('records a start refused for the wrong master key before the process gives up', async () => {
    const first = await start();
    const error = await caught(() => start(newMasterKey()));
    expect(error).toBeInstanceOf(MasterKeyMismatchError);
    await first.trail.seal();
    const [record] = await first.trail.read(0);
    expect(record).toMatchObject({
      action: 'open-keyring',
      outcome: 'failure',
      errorCode: 'KMS_MASTER_KEY_MISMATCH',
      keyId: (error as MasterKeyMismatchError).actualFingerprint,
    });
  });
});

/*
 * Replicas sharing one database: on Postgres, as in production. (SQLite replicas in one test
 * process would block each other's synchronous driver; embedded SQLite runs one process.)
 */
describe.each(ENGINES.filter((engine) => engine === 'postgres'))(
  'sealing from several replicas at once on %s',
  (engine) => {
    let db: TestDatabase;
    const apps: SecretsApp[] = [];

    beforeEach(async () => {
      db = await createTestDatabase(engine);
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await db.drop();
    });

    it('gives every record exactly one place, and the chain verifies', async () => {
      const masterKey = newMasterKey();
      const options = { masterKey, secrets: { audit: { sealIntervalMs: 0, failClosed: true } } };
      const replicas = [];
      for (let i = 0; i < 3; i++) {
        const app = await startSecretsApp(db, options);
        apps.push(app);
        replicas.push({ ...app, trail: app.app.get(SecretsAuditTrail) });
      }
      await replicas[0].secrets.setSecret('shared', 'v', { actor: 'operator' });
      const rounds = 5;
      for (let round = 0; round < rounds; round++) {
        await Promise.all(
          replicas.flatMap((replica, i) => [
            ...Array.from({ length: 40 }, () =>
              replica.secrets.getSecret('shared', { actor: `replica-${i}` }),
            ),
            replica.trail.seal(),
          ]),
        );
      }
      await replicas[1].trail.seal();
      const verification = await replicas[2].trail.verify();
      expect(verification).toMatchObject({
        intact: true,
        verifiedRecords: 1 + 3 * 40 * rounds,
        lastSeq: 1 + 3 * 40 * rounds,
        unsealedRecords: 0,
      });
    });
  },
);

describe.each(ENGINES)('sealing in a replica region on %s', (engine) => {
  let db: TestDatabase;
  const apps: SecretsApp[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it("seals the region's own records: each region keeps its own trail", async () => {
    const masterKey = newMasterKey();
    apps.push(await startSecretsApp(db, { masterKey }));
    const app = await startSecretsApp(db, {
      masterKey,
      kms: { region: { role: 'replica', primary: 'eu-west-1' } },
      secrets: { audit: { sealIntervalMs: 0, failClosed: true } },
    });
    apps.push(app);
    await caught(() => app.secrets.getSecret('missing', { actor: 'reader' }));
    const trail = app.app.get(SecretsAuditTrail);
    expect(await trail.seal()).toBeGreaterThan(0);
    expect(await trail.verify()).toMatchObject({ intact: true, unsealedRecords: 0 });
  });
});
