import { randomBytes } from 'node:crypto';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { KmsMetrics } from '@nest-kms/kms';
import { KMS_SCHEDULER_REGISTRY, KmsStorage } from '@nest-kms/kms/extension';
import {
  AUTO_ROTATION_ACTOR,
  InvalidSecretInputError,
  SECRETS_LIFECYCLE_JOB,
  type SecretChange,
  type SecretRotationContext,
  type SecretRotator,
  type SecretsModuleOptions,
} from '@nest-kms/secrets';
import { caught } from './support/caught.js';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { DAY_MS, START } from './support/clock.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

const LEASE_MS = 600_000;

/** Every value this suite stores, makes or tries: no log line may contain one. */
const values = new Set<string>();
const loggers: CapturedLogger[] = [];

/** A distinctive secret value, remembered for the log scan at the end. */
function secretValue(label: string): string {
  const value = `${label}-${randomBytes(8).toString('hex')}`;
  values.add(value);
  return value;
}

/** Where the process-wide log stands now: events() reads what came after. */
const mark = (): number => CapturedLogger.everything.length;

/** `event` lines logged (by any app: Nest's logger is process-global) since `from`. */
const events = (from: number, event: string) => loggedEvents(event, from);

/** A rotator that records its calls and makes a fresh remembered value each time. */
function recordingRotator(label: string) {
  const calls: { step: string; context: SecretRotationContext; newValue?: string }[] = [];
  const made: string[] = [];
  const rotator: SecretRotator = {
    create(context) {
      calls.push({ step: 'create', context });
      const value = secretValue(`${label}-${made.length + 1}`);
      made.push(value);
      return value;
    },
    test(newValue, context) {
      calls.push({ step: 'test', context, newValue });
    },
    finish(context) {
      calls.push({ step: 'finish', context });
    },
  };
  return { rotator, calls, made };
}

describe.each(ENGINES)('secrets lifecycle on %s', (engine) => {
  let db: TestDatabase;
  let masterKey: string;
  const apps: SecretsApp[] = [];
  /** The injectable clock's time (epoch ms), shared by every app of a test. */
  let now: number;
  const clock = (): number => now;

  /** An app on the test's database; its lifecycle timer is off: tests call runLifecycle(). */
  const start = async (secrets: SecretsModuleOptions = {}) => {
    const app = await startSecretsApp(db, {
      masterKey,
      secrets: {
        clock,
        // No timed audit flush: on SQLite it could write while the other app holds a transaction.
        audit: { flushIntervalMs: 3_600_000, sealIntervalMs: 0 },
        ...secrets,
        lifecycle: { checkIntervalMs: 0, rotationLeaseMs: LEASE_MS, ...secrets.lifecycle },
      },
    });
    apps.push(app);
    loggers.push(app.logger);
    return app;
  };

  /** Two replicas on one database (Postgres: two pools; SQLite: two connections to one file). */
  const startTwo = async (secrets: SecretsModuleOptions = {}) => [
    await start(secrets),
    await start(secrets),
  ];

  beforeEach(async () => {
    now = START;
    masterKey = newMasterKey();
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  describe('the scheduled job', () => {
    it('registers under its name with the configured interval, and leaves at shutdown', async () => {
      const timed = await start({ lifecycle: { checkIntervalMs: 3_600_000 } });
      const registry = timed.app.get<SchedulerRegistry>(KMS_SCHEDULER_REGISTRY);
      expect(registry.doesExist('interval', SECRETS_LIFECYCLE_JOB)).toBe(true);
      await timed.close();
      apps.splice(apps.indexOf(timed), 1);
      expect(registry.doesExist('interval', SECRETS_LIFECYCLE_JOB)).toBe(false);

      const off = await start({ lifecycle: { checkIntervalMs: 0 } });
      const offRegistry = off.app.get<SchedulerRegistry>(KMS_SCHEDULER_REGISTRY);
      expect(offRegistry.doesExist('interval', SECRETS_LIFECYCLE_JOB)).toBe(false);
      expect(await off.secrets.runLifecycle()).toEqual({ expired: [], rotated: [], failed: [] });
    });
  });

  describe('expiry sweep', () => {
    it('logs secret_expired once per expired secret while two replicas sweep at once', async () => {
      const [a, b] = await startTwo();
      const names = Array.from({ length: 12 }, (_, i) => `EXPIRING_${String(i).padStart(2, '0')}`);
      for (const name of names) await a.secrets.setSecret(name, secretValue(name), { ttlDays: 1 });
      await a.secrets.setSecret('LONG_LIVED', secretValue('long'), { ttlDays: 30 });
      await a.secrets.setSecret('FOREVER', secretValue('forever'));
      await a.secrets.setSecret('GONE', secretValue('gone'), { ttlDays: 1 });
      await a.secrets.deleteSecret('GONE');

      const before = mark();
      expect(await a.secrets.runLifecycle()).toEqual({ expired: [], rotated: [], failed: [] });
      now += DAY_MS - 1;
      await Promise.all([a.secrets.runLifecycle(), b.secrets.runLifecycle()]);
      expect(events(before, 'secret_expired')).toEqual([]);

      now += 1;
      const reports = [];
      for (let round = 0; round < 3; round++) {
        reports.push(...(await Promise.all([a.secrets.runLifecycle(), b.secrets.runLifecycle()])));
      }
      const reported = reports.flatMap((report) => report.expired);
      expect([...reported].sort()).toEqual(names);
      const logged = events(before, 'secret_expired');
      expect(logged).toHaveLength(names.length);
      expect(logged.map((line) => line.name).sort()).toEqual(names);
      for (const line of logged) {
        expect(line).toEqual({
          event: 'secret_expired',
          name: line.name,
          version: 1,
          expiredAt: new Date(START + DAY_MS).toISOString(),
        });
      }
      const [statusA, statusB] = [await a.secrets.getStatus(), await b.secrets.getStatus()];
      expect(statusA.expiredSecretsReported + statusB.expiredSecretsReported).toBe(names.length);
      expect(statusA.kmsStatus.expiredSecretsCount).toBe(names.length);
    });

    it('reports a secret again once a new version (set or rotate) has expired in turn', async () => {
      const { app, secrets } = await start();
      await secrets.setSecret('API_KEY', secretValue('v1'), { ttlDays: 1 });
      await secrets.setSecret('TOKEN', secretValue('t1'), { ttlDays: 2 });
      const before = mark();
      now += 2 * DAY_MS;
      expect((await secrets.runLifecycle()).expired).toEqual(['API_KEY', 'TOKEN']);

      await secrets.setSecret('API_KEY', secretValue('v2'));
      await secrets.rotateSecret('TOKEN', secretValue('t2'));
      expect((await secrets.runLifecycle()).expired).toEqual([]);
      now += DAY_MS;
      expect((await secrets.runLifecycle()).expired).toEqual(['API_KEY']);
      now += DAY_MS;
      expect((await secrets.runLifecycle()).expired).toEqual(['TOKEN']);
      expect((await secrets.runLifecycle()).expired).toEqual([]);

      expect(events(before, 'secret_expired').map(({ name, version }) => [name, version])).toEqual([
        ['API_KEY', 1],
        ['TOKEN', 1],
        ['API_KEY', 2],
        ['TOKEN', 2],
      ]);
      expect((await secrets.getStatus()).expiredSecretsReported).toBe(4);
      expect(await app.get(KmsMetrics).registry.metrics()).toContain('secrets_expired_total 4');
    });
  });

  describe('automatic rotation', () => {
    it('rotates when due (90% of the TTL), not before, through the audited rotate path', async () => {
      const { app, secrets } = await start({ audit: { failClosed: true } });
      const original = secretValue('db-password');
      await secrets.setSecret('DB_PASSWORD', original, { rotationPolicy: 'auto', ttlDays: 10 });
      const { rotator, calls, made } = recordingRotator('db-password-auto');
      secrets.registerRotator('DB_PASSWORD', rotator);
      const changes: SecretChange[] = [];
      const watching = secrets.watch('DB_PASSWORD').subscribe((change) => changes.push(change));
      const before = mark();

      now = START + 9 * DAY_MS - 1;
      expect(await secrets.runLifecycle()).toEqual({ expired: [], rotated: [], failed: [] });
      expect(calls).toEqual([]);

      now = START + 9 * DAY_MS;
      expect(await secrets.runLifecycle()).toEqual({
        expired: [],
        rotated: ['DB_PASSWORD'],
        failed: [],
      });
      watching.unsubscribe();
      const context = { name: 'DB_PASSWORD', version: 1, currentValue: original };
      expect(calls).toEqual([
        { step: 'create', context },
        { step: 'test', context, newValue: made[0] },
        { step: 'finish', context: { ...context, newVersion: 2 } },
      ]);
      expect(await secrets.getSecret('DB_PASSWORD')).toBe(made[0]);
      const [metadata] = await secrets.listSecrets();
      expect(metadata).toMatchObject({ currentVersion: 2, rotationPolicy: 'auto' });
      expect(metadata.expiresAt!.getTime()).toBe(now + 10 * DAY_MS);
      expect(changes).toEqual([{ name: 'DB_PASSWORD', version: 2, reason: 'rotated' }]);
      expect(events(before, 'secret_rotated')).toEqual([
        expect.objectContaining({
          name: 'DB_PASSWORD',
          version: 2,
          actor: AUTO_ROTATION_ACTOR,
          reason: 'auto',
        }),
      ]);
      expect((await secrets.getStatus()).autoRotations).toBe(1);

      // Due again 9 days after this rotation, not before.
      now += 9 * DAY_MS - 1;
      expect((await secrets.runLifecycle()).rotated).toEqual([]);
      now += 1;
      expect((await secrets.runLifecycle()).rotated).toEqual(['DB_PASSWORD']);
      expect(await secrets.getSecret('DB_PASSWORD')).toBe(made[1]);

      const dataSource = await app.get(KmsStorage).dataSource();
      const audit = (await dataSource.query(
        "SELECT action, version, actor, outcome FROM kms_secret_audit WHERE secret_name = 'DB_PASSWORD' AND actor IS NOT NULL ORDER BY id",
      )) as Record<string, unknown>[];
      expect(audit.map((row) => [row.action, Number(row.version), row.outcome])).toEqual([
        ['read', 1, 'success'],
        ['rotate', 2, 'success'],
        ['read', 2, 'success'],
        ['rotate', 3, 'success'],
      ]);
      expect(new Set(audit.map((row) => row.actor))).toEqual(new Set([AUTO_ROTATION_ACTOR]));
    });

    it('counts everyDays from the last change, which a manual write resets', async () => {
      const { secrets } = await start();
      await secrets.setSecret('WEBHOOK_TOKEN', secretValue('hook'), { rotationPolicy: 'auto' });
      const { rotator, made } = recordingRotator('hook-auto');
      secrets.registerRotator('WEBHOOK_TOKEN', rotator, { everyDays: 30 });

      now += 20 * DAY_MS;
      await secrets.setSecret('WEBHOOK_TOKEN', secretValue('hook-manual'));
      now += 29 * DAY_MS;
      expect((await secrets.runLifecycle()).rotated).toEqual([]);
      now += DAY_MS;
      expect((await secrets.runLifecycle()).rotated).toEqual(['WEBHOOK_TOKEN']);
      expect(made).toHaveLength(1);
      expect(await secrets.getSecret('WEBHOOK_TOKEN')).toBe(made[0]);
    });

    it('makes exactly one new version while two replicas race, round after round', async () => {
      const [a, b] = await startTwo();
      await a.secrets.setSecret('DB_PASSWORD', secretValue('race'), {
        rotationPolicy: 'auto',
        ttlDays: 10,
      });
      const onA = recordingRotator('race-a');
      const onB = recordingRotator('race-b');
      a.secrets.registerRotator('DB_PASSWORD', onA.rotator);
      b.secrets.registerRotator('DB_PASSWORD', onB.rotator);
      const before = mark();

      for (let round = 1; round <= 4; round++) {
        now += 9 * DAY_MS;
        const reports = await Promise.all([a.secrets.runLifecycle(), b.secrets.runLifecycle()]);
        expect(reports.flatMap((report) => report.rotated)).toEqual(['DB_PASSWORD']);
        expect(reports.flatMap((report) => report.failed)).toEqual([]);
        const versions = await a.secrets.listSecretVersions('DB_PASSWORD');
        expect(versions.map((version) => version.version)).toEqual(
          Array.from({ length: round + 1 }, (_, i) => round + 1 - i),
        );
      }
      const creates = [...onA.calls, ...onB.calls].filter((call) => call.step === 'create');
      expect(creates.map((call) => call.context.version)).toEqual(
        expect.arrayContaining([1, 2, 3, 4]),
      );
      expect(creates).toHaveLength(4);
      expect(events(before, 'secret_rotated')).toHaveLength(4);
      const made = [...onA.made, ...onB.made];
      expect(made).toContain(await b.secrets.getSecret('DB_PASSWORD'));
      const [statusA, statusB] = [await a.secrets.getStatus(), await b.secrets.getStatus()];
      expect(statusA.autoRotations + statusB.autoRotations).toBe(4);
    });

    it('keeps the value when create throws, logs no value, and retries after the lease', async () => {
      const { app, secrets } = await start();
      const original = secretValue('fragile');
      await secrets.setSecret('DB_PASSWORD', original, { rotationPolicy: 'auto', ttlDays: 10 });
      let failNext = true;
      let attempts = 0;
      const replacement = secretValue('replacement');
      secrets.registerRotator('DB_PASSWORD', {
        create({ currentValue }) {
          attempts++;
          if (failNext) {
            const error = new Error(`could not log in with ${currentValue} to set ${replacement}`);
            Object.assign(error, { code: 'EAUTH' });
            throw error;
          }
          return replacement;
        },
      });
      const before = mark();
      now += 9 * DAY_MS;
      expect(await secrets.runLifecycle()).toEqual({
        expired: [],
        rotated: [],
        failed: ['DB_PASSWORD'],
      });
      expect(await secrets.getSecret('DB_PASSWORD')).toBe(original);
      expect((await secrets.listSecretVersions('DB_PASSWORD')).map((v) => v.version)).toEqual([1]);
      expect(events(before, 'secret_rotation_failed')).toEqual([
        {
          event: 'secret_rotation_failed',
          name: 'DB_PASSWORD',
          version: 1,
          step: 'create',
          code: 'EAUTH',
          error: 'Error',
        },
      ]);

      // The lease holds the secret until it ends: no retry before, one after.
      now += LEASE_MS - 1;
      expect((await secrets.runLifecycle()).failed).toEqual([]);
      expect(attempts).toBe(1);
      now += 1;
      failNext = false;
      expect((await secrets.runLifecycle()).rotated).toEqual(['DB_PASSWORD']);
      expect(attempts).toBe(2);
      expect(await secrets.getSecret('DB_PASSWORD')).toBe(replacement);
      expect(await secrets.getStatus()).toMatchObject({
        autoRotations: 1,
        autoRotationFailures: 1,
      });
      const metrics = await app.get(KmsMetrics).registry.metrics();
      expect(metrics).toContain('secret_auto_rotations_total{outcome="succeeded"} 1');
      expect(metrics).toContain('secret_auto_rotations_total{outcome="failed"} 1');
    });

    it('keeps the value when test throws (or a step throws a bare value) and stores nothing new', async () => {
      const { secrets } = await start();
      const original = secretValue('tested');
      await secrets.setSecret('DB_PASSWORD', original, { rotationPolicy: 'auto', ttlDays: 10 });
      const rejected = secretValue('rejected');
      const thrownValue = secretValue('thrown-as-is');
      let failure: 'test' | 'bare' = 'test';
      secrets.registerRotator('DB_PASSWORD', {
        create: () => rejected,
        test(newValue) {
          if (failure === 'bare') throw thrownValue;
          throw new TypeError(`login with ${newValue} refused`);
        },
      });
      const before = mark();
      now += 9 * DAY_MS;
      expect((await secrets.runLifecycle()).failed).toEqual(['DB_PASSWORD']);
      now += LEASE_MS;
      failure = 'bare';
      expect((await secrets.runLifecycle()).failed).toEqual(['DB_PASSWORD']);

      expect(await secrets.getSecret('DB_PASSWORD')).toBe(original);
      expect((await secrets.listSecretVersions('DB_PASSWORD')).map((v) => v.version)).toEqual([1]);
      expect(
        events(before, 'secret_rotation_failed').map(({ step, code, error }) => ({
          step,
          code,
          error,
        })),
      ).toEqual([
        { step: 'test', code: null, error: 'TypeError' },
        { step: 'test', code: null, error: 'string' },
      ]);
      expect(events(before, 'secret_rotated')).toEqual([]);
    });

    it('logs a failing finish with the new version already current', async () => {
      const { secrets } = await start();
      await secrets.setSecret('DB_PASSWORD', secretValue('before-finish'), {
        rotationPolicy: 'auto',
        ttlDays: 10,
      });
      const next = secretValue('after-finish');
      secrets.registerRotator('DB_PASSWORD', {
        create: () => next,
        finish() {
          throw new Error(`could not revoke; new one is ${next}`);
        },
      });
      const before = mark();
      now += 9 * DAY_MS;
      expect(await secrets.runLifecycle()).toEqual({
        expired: [],
        rotated: ['DB_PASSWORD'],
        failed: ['DB_PASSWORD'],
      });
      expect(await secrets.getSecret('DB_PASSWORD')).toBe(next);
      expect(events(before, 'secret_rotation_failed')).toEqual([
        expect.objectContaining({ name: 'DB_PASSWORD', version: 1, step: 'finish' }),
      ]);
    });

    it('does not overwrite a version written while the rotator ran', async () => {
      const [a, b] = await startTwo();
      await a.secrets.setSecret('DB_PASSWORD', secretValue('cas-1'), {
        rotationPolicy: 'auto',
        ttlDays: 10,
      });
      const manual = secretValue('cas-manual');
      const automatic = secretValue('cas-auto');
      a.secrets.registerRotator('DB_PASSWORD', {
        async create() {
          await b.secrets.setSecret('DB_PASSWORD', manual);
          return automatic;
        },
      });
      const before = mark();
      now += 9 * DAY_MS;
      expect((await a.secrets.runLifecycle()).failed).toEqual(['DB_PASSWORD']);
      expect(await a.secrets.getSecret('DB_PASSWORD')).toBe(manual);
      expect((await a.secrets.listSecretVersions('DB_PASSWORD')).map((v) => v.version)).toEqual([
        2, 1,
      ]);
      expect(events(before, 'secret_rotation_failed')).toEqual([
        expect.objectContaining({ step: 'activate', code: 'SECRET_INVALID_STATE' }),
      ]);
    });

    it('never rotates manual-policy secrets, nor deleted ones', async () => {
      const { secrets } = await start();
      await secrets.setSecret('MANUAL', secretValue('manual'), { ttlDays: 1 });
      await secrets.setSecret('DELETED', secretValue('deleted'), {
        rotationPolicy: 'auto',
        ttlDays: 1,
      });
      await secrets.deleteSecret('DELETED');
      const manual = recordingRotator('manual-auto');
      const deleted = recordingRotator('deleted-auto');
      secrets.registerRotator('MANUAL', manual.rotator, { everyDays: 1 });
      secrets.registerRotator('DELETED', deleted.rotator);
      for (let day = 0; day < 5; day++) {
        now += 30 * DAY_MS;
        const report = await secrets.runLifecycle();
        expect(report.rotated).toEqual([]);
        expect(report.failed).toEqual([]);
      }
      expect([...manual.calls, ...deleted.calls]).toEqual([]);
      const [only] = await secrets.listSecrets();
      expect(only).toMatchObject({ name: 'MANUAL', currentVersion: 1 });
    });

    it("rotates a tenant's secret with the rotator registered on its view, under the tenant's keys; a destroyed tenant's rotation fails alone", async () => {
      const { app, kms, secrets } = await start();
      const acme = secrets.forTenant('acme');
      const globex = secrets.forTenant('globex');
      const policy = { rotationPolicy: 'auto', ttlDays: 10 } as const;
      const originals = { acme: secretValue('acme-db'), globex: secretValue('globex-db') };
      await acme.setSecret('db/password', originals.acme, policy);
      await globex.setSecret('db/password', originals.globex, policy);
      await secrets.setSecret('db/password', secretValue('shared-db'), policy);
      // One rotator serves both tenants, telling them apart by the context's tenant.
      const perTenant = recordingRotator('tenant-db');
      const shared = recordingRotator('shared-db-auto');
      acme.registerRotator('db/password', perTenant.rotator);
      globex.registerRotator('db/password', perTenant.rotator);
      secrets.registerRotator('db/password', shared.rotator);
      const duplicate = await caught(async () =>
        acme.registerRotator('db/password', perTenant.rotator),
      );
      expect(duplicate).toMatchObject({ code: 'SECRET_INVALID_INPUT', field: 'rotator' });
      const badName = await caught(async () => acme.registerRotator('~acme/x', shared.rotator));
      expect(badName).toMatchObject({ code: 'SECRET_INVALID_INPUT', field: 'name' });

      now += 9 * DAY_MS;
      expect(await secrets.runLifecycle()).toEqual({
        expired: [],
        rotated: ['db/password', '~acme/db/password', '~globex/db/password'],
        failed: [],
      });
      const creates = perTenant.calls.filter((call) => call.step === 'create');
      expect(creates.map((call) => call.context)).toEqual([
        { name: 'db/password', tenant: 'acme', version: 1, currentValue: originals.acme },
        { name: 'db/password', tenant: 'globex', version: 1, currentValue: originals.globex },
      ]);
      expect(perTenant.calls.filter((call) => call.step === 'finish')).toEqual([
        expect.objectContaining({ context: expect.objectContaining({ tenant: 'acme' }) }),
        expect.objectContaining({ context: expect.objectContaining({ tenant: 'globex' }) }),
      ]);
      expect('tenant' in shared.calls[0].context).toBe(false);
      expect(await acme.getSecret('db/password')).toBe(perTenant.made[0]);
      expect(await globex.getSecret('db/password')).toBe(perTenant.made[1]);
      expect(await secrets.getSecret('db/password')).toBe(shared.made[0]);

      // The new version is sealed under the tenant's key, as its first one was.
      const dataSource = await app.get(KmsStorage).dataSource();
      const keyOf = async (name: string, version: number) =>
        (
          (await dataSource.query(
            `SELECT key_id FROM kms_secret_versions WHERE secret_name = '${name}' AND version = ${version}`,
          )) as { key_id: string }[]
        )[0].key_id;
      expect(await keyOf('~acme/db/password', 2)).toBe(await keyOf('~acme/db/password', 1));
      expect(await keyOf('~acme/db/password', 2)).toMatch(/^tk-/);
      expect(await keyOf('~acme/db/password', 2)).not.toBe(await keyOf('~globex/db/password', 2));

      await kms.destroyTenant('acme', { confirm: 'acme' });
      const tenantKeys = () =>
        dataSource.query('SELECT id FROM kms_data_keys WHERE tenant IS NOT NULL') as Promise<
          unknown[]
        >;
      const keysBefore = (await tenantKeys()).length;
      const before = mark();
      now += 9 * DAY_MS;
      expect(await secrets.runLifecycle()).toEqual({
        expired: [],
        rotated: ['db/password', '~globex/db/password'],
        failed: ['~acme/db/password'],
      });
      expect(events(before, 'secret_rotation_failed')).toEqual([
        {
          event: 'secret_rotation_failed',
          name: '~acme/db/password',
          version: 2,
          step: 'context',
          code: 'KMS_DATA_KEY_NOT_FOUND',
          error: 'DataKeyNotFoundError',
        },
      ]);
      // acme's rotator was not run, and no key was made for the destroyed tenant.
      expect(perTenant.calls.filter((call) => call.context.tenant === 'acme')).toHaveLength(3);
      expect(await globex.getSecret('db/password')).toBe(perTenant.made[2]);
      expect(await tenantKeys()).toHaveLength(keysBefore);
      // Retried, and refused again, once its lease ends.
      now += LEASE_MS;
      expect((await secrets.runLifecycle()).failed).toEqual(['~acme/db/password']);
    });

    it('says once that a rotator has no schedule, and refuses bad registrations', async () => {
      const { secrets } = await start();
      await secrets.setSecret('NO_SCHEDULE', secretValue('unscheduled'), {
        rotationPolicy: 'auto',
      });
      const { rotator, calls } = recordingRotator('unscheduled-auto');
      const unregister = secrets.registerRotator('NO_SCHEDULE', rotator);
      const before = mark();
      now += 1_000 * DAY_MS;
      expect((await secrets.runLifecycle()).failed).toEqual(['NO_SCHEDULE']);
      expect((await secrets.runLifecycle()).failed).toEqual([]);
      expect(calls).toEqual([]);
      expect(events(before, 'secret_rotation_failed')).toEqual([
        {
          event: 'secret_rotation_failed',
          name: 'NO_SCHEDULE',
          version: 1,
          step: 'schedule',
          code: 'SECRET_ROTATION_UNSCHEDULED',
          error: 'SecretRotationUnscheduledError',
        },
      ]);

      const duplicate = await caught(async () => secrets.registerRotator('NO_SCHEDULE', rotator));
      expect(duplicate).toBeInstanceOf(InvalidSecretInputError);
      expect(duplicate).toMatchObject({ code: 'SECRET_INVALID_INPUT', field: 'rotator' });
      unregister();
      secrets.registerRotator('NO_SCHEDULE', rotator, { everyDays: 7 });
      expect((await secrets.runLifecycle()).rotated).toEqual(['NO_SCHEDULE']);

      for (const everyDays of [0, -1, Number.NaN, Infinity]) {
        const error = await caught(async () =>
          secrets.registerRotator('OTHER', rotator, { everyDays }),
        );
        expect(error).toMatchObject({ code: 'SECRET_INVALID_INPUT', field: 'everyDays' });
      }
      const noCreate = await caught(async () =>
        secrets.registerRotator('OTHER', {} as unknown as SecretRotator),
      );
      expect(noCreate).toMatchObject({ code: 'SECRET_INVALID_INPUT', field: 'rotator' });
      const badName = await caught(async () => secrets.registerRotator('bad name', rotator));
      expect(badName).toMatchObject({ code: 'SECRET_INVALID_INPUT', field: 'name' });
    });
  });
});

it('writes no secret value to any log line of this suite', () => {
  expect(loggers.length).toBeGreaterThan(0);
  const texts = [CapturedLogger.allText(), ...loggers.map((logger) => logger.text())];
  expect(texts[0]).toContain('secret_rotation_failed');
  expect(texts[0]).toContain('secret_expired');
  expect(values.size).toBeGreaterThan(20);
  const leaks = [...values].filter((value) => texts.some((text) => text.includes(value)));
  expect(leaks.map((value) => value.slice(0, 40))).toEqual([]);
});
