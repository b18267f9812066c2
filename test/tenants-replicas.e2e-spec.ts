import { performance } from 'node:perf_hooks';
import { DataKeyNotFoundError, DataKeyNotInMemoryError, KmsDataKeyEntity } from '@nest-kms/kms';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { eventually } from './support/eventually.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import { startNotesApp, type NotesApp } from './support/notes-fixture.js';

/** Replicas sharing one Postgres keyring: tenants' keys made, rotated and destroyed across them. */
describe.each(ENGINES.filter((engine) => engine === 'postgres'))(
  'per-tenant keys across replicas on %s',
  (engine) => {
    let db: TestDatabase;
    const apps: NotesApp[] = [];
    const masterKey = newMasterKey();
    const replica = async (): Promise<NotesApp> => {
      const app = await startNotesApp(db, masterKey, {
        rotation: { checkIntervalMs: 0 },
        reencryption: { auto: false },
      });
      apps.push(app);
      return app;
    };

    beforeEach(async () => {
      db = await createTestDatabase(engine);
    });

    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await db.drop();
    });

    it("two replicas making a tenant's first key at once end with one active key that both use", async () => {
      const [a, b] = [await replica(), await replica()];
      const sealed = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).kms.encryptData(`item ${i}`, { tenant: 'acme' }),
        ),
      );
      const tables = await openKmsTables(db);
      const keys = await tables.getRepository(KmsDataKeyEntity).find();
      await tables.destroy();
      const tenantKeys = keys.filter((key) => key.tenant !== null);
      expect(tenantKeys).toHaveLength(1);
      expect(new Set(sealed.map((envelope) => envelope.keyId))).toEqual(
        new Set([tenantKeys[0].id]),
      );
      for (const [i, envelope] of sealed.entries()) {
        expect(await a.kms.decryptData(envelope, { tenant: 'acme' })).toBe(`item ${i}`);
        expect(await b.kms.decryptData(envelope, { tenant: 'acme' })).toBe(`item ${i}`);
      }
    });

    it("a replica writes under a tenant's key rotated by another once it hears of it", async () => {
      const [a, b] = [await replica(), await replica()];
      const before = await b.kms.encryptData('before', { tenant: 'acme' });
      const rotation = await a.kms.rotateTenantKey('acme');
      expect(rotation.previousKeyId).toBe(before.keyId);
      await eventually(async () => {
        expect((await b.kms.encryptData('after', { tenant: 'acme' })).keyId).toBe(rotation.keyId);
      });
      expect(await b.kms.decryptData(before, { tenant: 'acme' })).toBe('before');
    });

    it("a replica holding a destroyed tenant's keys drops them when told, and other tenants go on", async () => {
      const [a, b] = [await replica(), await replica()];
      const ofA = await a.kms.encryptData('acme', { tenant: 'acme' });
      const ofB = await a.kms.encryptData('globex', { tenant: 'globex' });
      expect(await b.kms.decryptData(ofA, { tenant: 'acme' })).toBe('acme');
      expect(await b.kms.decryptData(ofB, { tenant: 'globex' })).toBe('globex');
      expect(b.kms.decryptDataSync(ofA, { tenant: 'acme' })).toBe('acme');

      await a.kms.destroyTenant('acme', { confirm: 'acme' });
      const destroyedAt = performance.now();
      await eventually(
        () => {
          expect(() => b.kms.decryptDataSync(ofA, { tenant: 'acme' })).toThrow(
            DataKeyNotInMemoryError,
          );
        },
        { intervalMs: 1 },
      );
      const dropMs = performance.now() - destroyedAt;
      console.info(
        `[tenants] replica dropped the destroyed tenant's key ${dropMs.toFixed(1)} ms after destroyTenant returned`,
      );

      expect(await caught(() => b.kms.decryptData(ofA, { tenant: 'acme' }))).toBeInstanceOf(
        DataKeyNotFoundError,
      );
      expect(b.kms.decryptDataSync(ofB, { tenant: 'globex' })).toBe('globex');
      expect(await a.kms.decryptData(ofB, { tenant: 'globex' })).toBe('globex');
    });
  },
);
