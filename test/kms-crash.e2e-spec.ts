import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { EnvelopeV1, KmsModuleOptions } from '@nest-kms/kms';
import type { SecretsModuleOptions } from '@nest-kms/secrets';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import {
  KMS_REPLICA_ENTRY,
  bundleChildEntry,
  replicaDatabaseEnv,
  startChild,
  type ChildEvent,
  type ChildHandle,
} from './support/child-process.js';
import {
  ENGINES,
  cloneTestDatabase,
  createTestDatabase,
  type TestDatabase,
} from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/*
 * Crash tests: a real nest-kms process (test/children/kms-replica.ts) is SIGKILLed at
 * random points of a master-key rotation and of a re-encryption run, CRASH_TRIALS times each. After
 * every kill the database is checked as the dead process left it, then an in-process app finishes
 * the job and reads back everything that was ever written: nothing may be lost or undecryptable,
 * and there is always exactly one active data key.
 *
 * Kills are aimed at each phase in turn (master key: before / during / after the re-wrap;
 * re-encryption: before the first batch / mid-run / after the last batch / with a batch's write
 * transaction open), so any count from CRASH_TRIALS_MINIMUM up aims at every phase at least once
 * rather than leaving the rare ones (the first and last of ~60 batches) to chance. The default
 * aims two to three kills at every phase (each a child process and an application started, the
 * suite's largest CPU cost); `npm run test:crash` runs many more.
 *
 * Trials run in a few independent lanes at once (each lane its own database, cloned from one
 * set-up database, and its own chain of trials), which keeps both cores busy while children boot.
 */

/** Enough for every phase of both tests at least once (four phases of a re-encryption run). */
const CRASH_TRIALS_MINIMUM = 4;
const TRIALS = Number(process.env.CRASH_TRIALS ?? 8);
if (!Number.isSafeInteger(TRIALS) || TRIALS < CRASH_TRIALS_MINIMUM) {
  throw new Error(
    `CRASH_TRIALS must be a whole number of at least ${CRASH_TRIALS_MINIMUM} (got "${process.env.CRASH_TRIALS}")`,
  );
}

/** Where the re-encryption test aims its kills, in turn. */
const REENCRYPTION_PHASES = [
  'before the first batch',
  'mid-run',
  'after the last batch',
  'with a write transaction open',
] as const;
type ReencryptionPhase = (typeof REENCRYPTION_PHASES)[number];

/** Each test's limit: a trial takes 2-3 s of a two-core machine, a lane's set-up up to a minute. */
const TEST_TIMEOUT_MS = Math.max(600_000, 60_000 + TRIALS * 10_000);

/** Where the master-key test aims its kills, in turn. */
const STRATA: readonly Stratum[] = ['before', 'during', 'after'];

/** Only the explicit calls run, in the children and in the parent apps. */
const KMS_OPTIONS = {
  rotation: { checkIntervalMs: 0 },
  reencryption: { auto: false },
} satisfies Partial<KmsModuleOptions>;
const SECRETS_OPTIONS = { lifecycle: { checkIntervalMs: 0 } } satisfies SecretsModuleOptions;

/** What was written, to read back after every trial. */
interface Written {
  readonly envelopes: { envelope: EnvelopeV1; plaintext: string; aad: string }[];
  /** Secret name → its values, version 1 first. */
  readonly secrets: Map<string, string[]>;
}

interface Lane {
  readonly db: TestDatabase;
  /** A connection of the test's own on the lane's database, for reading rows as they are. */
  readonly client: pg.Client;
  /** The children's application_name, so the test can see their sessions end. */
  readonly tag: string;
}

/** Where a kill is aimed in a start-up that rotates the master key. */
type Stratum = 'before' | 'during' | 'after';

/** A start-up's re-wrap: when its lock shows (ms from spawn), how long it holds it, commit to ready. */
interface StartUpTiming {
  lockMs: number;
  rewrapMs: number;
  readyAfterCommitMs: number;
}

let bundle: string;

beforeAll(async () => {
  bundle = await bundleChildEntry(KMS_REPLICA_ENTRY);
});

describe.each(ENGINES.filter((engine) => engine === 'postgres'))(
  'SIGKILL during the key lifecycle on %s',
  () => {
    const databases: TestDatabase[] = [];
    const clients: pg.Client[] = [];
    const apps: SecretsApp[] = [];

    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      for (const client of clients.splice(0)) await client.end().catch(() => undefined);
      for (const db of databases.splice(0)) await db.drop();
    });

    /** A fresh Postgres database, dropped after the test. */
    async function newDatabase(): Promise<TestDatabase> {
      const db = await createTestDatabase('postgres');
      databases.push(db);
      return db;
    }

    async function startApp(
      lane: Lane,
      masterKey: string,
      kms: Partial<KmsModuleOptions> = {},
    ): Promise<SecretsApp> {
      const app = await startSecretsApp(lane.db, {
        masterKey,
        kms: { ...KMS_OPTIONS, ...kms },
        secrets: SECRETS_OPTIONS,
      });
      apps.push(app);
      return app;
    }

    async function closeApp(app: SecretsApp): Promise<void> {
      apps.splice(apps.indexOf(app), 1);
      await app.close();
    }

    /** `count` lanes: `setup`'s database and clones of it (made once `setup` is closed). */
    async function openLanes(setup: TestDatabase, count: number): Promise<Lane[]> {
      const lanes: Lane[] = [];
      const laneDatabases = [setup];
      while (laneDatabases.length < count) {
        const clone = await cloneTestDatabase(setup);
        databases.push(clone);
        laneDatabases.push(clone);
      }
      for (const db of laneDatabases) {
        const client = new pg.Client({ connectionString: urlOf(db) });
        clients.push(client);
        await client.connect();
        lanes.push({ db, client, tag: `kms-crash-${randomBytes(6).toString('hex')}` });
      }
      return lanes;
    }

    function startReplica(
      lane: Lane,
      keys: { KMS_MASTER_KEY: string; KMS_MASTER_KEY_PREVIOUS?: string },
      args: string[],
    ): ChildHandle {
      const url = new URL(urlOf(lane.db));
      url.searchParams.set('application_name', lane.tag);
      return startChild(bundle, {
        env: {
          ...replicaDatabaseEnv(lane.db),
          KMS_TEST_DB: url.toString(),
          KMS_TEST_KMS_OPTIONS: JSON.stringify(KMS_OPTIONS),
          KMS_TEST_SECRETS_OPTIONS: JSON.stringify(SECRETS_OPTIONS),
          KMS_TEST_LOG: 'error,warn',
          ...keys,
        },
        args,
        // Without --enable-source-maps: a start costs ~0.4 s less CPU, over 100 starts here.
        nodeArgs: [],
      });
    }

    /**
     * SIGKILLs the child and waits until Postgres has ended its sessions: a statement it had
     * sent (a COMMIT among them) is finished or rolled back by then, so what we read next is
     * what the dead process left.
     */
    async function killAndSettle(lane: Lane, child: ChildHandle): Promise<'killed' | 'done'> {
      child.kill('SIGKILL');
      const exit = await child.exited;
      const finished = exit.code === 0 && child.events('done').length === 1;
      if (exit.signal !== 'SIGKILL' && !finished) {
        throw new Error(
          `child ${child.label} failed (${JSON.stringify(exit)}) before the kill: ${child.stderr()}`,
        );
      }
      const deadline = Date.now() + 15_000;
      for (;;) {
        if ((await sessionsOf(lane)) === 0) return finished ? 'done' : 'killed';
        if (Date.now() > deadline) throw new Error(`sessions of ${lane.tag} outlived the kill`);
        await sleep(2);
      }
    }

    it(
      `SIGKILL at random points of a master-key rotation at start-up, ${TRIALS} trials: all or nothing re-wrapped, and the restart finishes it`,
      async () => {
        const began = performance.now();
        // Each lane spends a full start-up on calibrating: two keep a core busy while a child boots.
        const LANES = 2;
        const DATA_KEYS = 200;

        // One keyring under K0 with DATA_KEYS + 1 data keys; envelopes and secrets under several.
        const setup = await newDatabase();
        const firstKey = newMasterKey();
        const writer = await startSecretsApp(setup, {
          masterKey: firstKey,
          kms: KMS_OPTIONS,
          secrets: SECRETS_OPTIONS,
        });
        const written: Written = { envelopes: [], secrets: new Map() };
        let secretsWritten = 0;
        let activeKeyId: string;
        try {
          for (let k = 0; k < DATA_KEYS; k++) {
            if (k % 20 === 0) {
              for (let i = 0; i < 10; i++) {
                const plaintext = `envelope ${k}/${i} ${randomBytes(8).toString('hex')}`;
                const aad = `row-${k}-${i}`;
                const envelope = await writer.kms.encryptData(plaintext, { aad });
                written.envelopes.push({ envelope, plaintext, aad });
              }
              for (let i = 0; i < 4; i++) {
                const name = `crash/master-${secretsWritten++}`;
                const value = `secret ${name} ${randomBytes(8).toString('hex')}`;
                await writer.secrets.setSecret(name, value);
                written.secrets.set(name, [value]);
              }
              // New versions, under this key, of most secrets first written under older ones.
              for (const [name, values] of [...written.secrets].slice(0, 4 * (k / 20))) {
                if (Math.random() < 0.3) continue;
                const value = `secret ${name} v${values.length + 1} ${randomBytes(8).toString('hex')}`;
                await writer.secrets.rotateSecret(name, value);
                values.push(value);
              }
            }
            await writer.kms.rotateDataKey();
          }
          activeKeyId = writer.kms.getStatus().activeKeyId!;
        } finally {
          await writer.close();
        }
        const firstFingerprint = await readKeyring(setup);
        const setupMs = performance.now() - began;

        const outcome = {
          stillOld: 0,
          rotated: 0,
          buckets: {
            'before the re-wrap': 0,
            'during the re-wrap, rolled back': 0,
            'during the re-wrap, commit raced the kill': 0,
            'after the commit, before ready': 0,
            'after ready': 0,
          },
          killMs: [] as number[],
          restartsThatRotated: 0,
        };
        const undecryptable: string[] = [];
        const calibration: StartUpTiming[] = [];
        const strata = { before: 0, during: 0, after: 0 };
        let nextTrial = 0;

        await Promise.all(
          (await openLanes(setup, LANES)).map(async (lane) => {
            let key = firstKey;
            let fingerprint = firstFingerprint;
            /** This lane's start-up, from a full run first, then refined by what trials observe. */
            let timing: StartUpTiming | undefined;

            /**
             * One child started with a new master key over the lane's key, watched by polling the
             * database (when the re-wrap takes the keyring lock, when the new fingerprint shows),
             * and SIGKILLed at a random point of the stratum: before the re-wrap (a random delay
             * from spawn), during it (a random part of its length after its lock shows), after it
             * (a random part of commit-to-ready, plus 50 ms, after the commit shows). 'calibrate' runs
             * to ready.
             */
            const trial = async (stratum: Stratum | 'calibrate'): Promise<void> => {
              const next = newMasterKey();
              const child = startReplica(
                lane,
                { KMS_MASTER_KEY: next, KMS_MASTER_KEY_PREVIOUS: key },
                ['ready'],
              );
              const spawnedAt = performance.now();
              let exited = false;
              void child.exited.then(() => (exited = true));
              const fraction = Math.random();
              let lockMs: number | undefined;
              let commitMs: number | undefined;
              let killAt = stratum === 'before' ? spawnedAt + fraction * timing!.lockMs : undefined;
              for (;;) {
                if (killAt !== undefined && performance.now() >= killAt) break;
                if (stratum === 'calibrate' && commitMs !== undefined) {
                  await child.waitFor('ready', 60_000);
                  break;
                }
                if (exited) throw new Error(`child exited during start-up: ${child.stderr()}`);
                if (performance.now() - spawnedAt > 60_000) {
                  throw new Error(`no re-wrap within 60 s: ${child.stderr()}`);
                }
                const state = await probe(lane);
                const at = performance.now() - spawnedAt;
                if (state.rewrapping) lockMs ??= at;
                if (state.fingerprint !== fingerprint && commitMs === undefined) {
                  commitMs = at;
                  // 'during' whose re-wrap ended between two looks: now is as close as it gets.
                  if (stratum === 'during') killAt ??= performance.now();
                  // 'after': up to a little past ready, so some kills find it idle.
                  if (stratum === 'after') {
                    killAt = performance.now() + fraction * (timing!.readyAfterCommitMs + 50);
                  }
                }
                if (stratum === 'during' && lockMs !== undefined && killAt === undefined) {
                  killAt = spawnedAt + lockMs + fraction * timing!.rewrapMs;
                }
                await sleep(1);
              }
              const killMs = performance.now() - spawnedAt;
              // Whether the re-wrap transaction is open as the kill goes out.
              const { rewrapping } = await probe(lane);
              const readyBeforeKill = child.events('ready').length > 0;
              if (stratum === 'calibrate') {
                if (commitMs === undefined) throw new Error('the calibration run did not commit');
                // A re-wrap quicker than one look shows no lock: take it as starting at its commit.
                lockMs ??= commitMs;
                timing = {
                  lockMs,
                  rewrapMs: commitMs - lockMs,
                  readyAfterCommitMs: killMs - commitMs,
                };
                calibration.push({ ...timing });
                // The children's sessions carry the lane's tag, which killAndSettle relies on.
                expect(await sessionsOf(lane)).toBeGreaterThan(0);
              } else if (lockMs !== undefined && commitMs !== undefined) {
                timing!.lockMs = (timing!.lockMs + lockMs) / 2;
                timing!.rewrapMs = (timing!.rewrapMs + commitMs - lockMs) / 2;
              }
              await killAndSettle(lane, child);

              // As the kill left it: one master key throughout, one active key, no key lost.
              const left = await keyringState(lane);
              expect(left.active).toEqual([activeKeyId]);
              expect(left.keys).toBe(DATA_KEYS + 1);
              expect(left.dataKeyFingerprints).toEqual([left.keyring]);
              const rotated = left.keyring !== fingerprint;
              if (readyBeforeKill) expect(rotated).toBe(true);

              // The restart with both keys finishes the job (or finds it done).
              const since = CapturedLogger.everything.length;
              const app = await startApp(lane, next, { previousMasterKey: key });
              const status = app.kms.getStatus();
              if (rotated) expect(left.keyring).toBe(status.masterKeyFingerprint);
              const rotations = loggedEvents('master_key_rotated', since).filter(
                (event) => event.to === status.masterKeyFingerprint,
              );
              expect(rotations).toEqual(
                rotated
                  ? []
                  : [
                      expect.objectContaining({
                        from: fingerprint,
                        to: status.masterKeyFingerprint,
                        rewrapped: DATA_KEYS + 1,
                      }),
                    ],
              );
              if (stratum !== 'calibrate') outcome.restartsThatRotated += rotations.length;
              const after = await keyringState(lane);
              expect(after.active).toEqual([activeKeyId]);
              expect(after.keys).toBe(DATA_KEYS + 1);
              expect(after.dataKeyFingerprints).toEqual([status.masterKeyFingerprint]);
              expect(after.keyring).toBe(status.masterKeyFingerprint);
              expect(status.activeKeyId).toBe(activeKeyId);
              const failures = await readBack(app, written);
              undecryptable.push(...failures);
              expect(failures).toEqual([]);
              await closeApp(app);

              if (stratum !== 'calibrate') {
                strata[stratum]++;
                outcome.killMs.push(killMs);
                if (rotated) outcome.rotated++;
                else outcome.stillOld++;
                if (!rotated) {
                  outcome.buckets[
                    rewrapping ? 'during the re-wrap, rolled back' : 'before the re-wrap'
                  ]++;
                } else if (rewrapping) {
                  outcome.buckets['during the re-wrap, commit raced the kill']++;
                } else {
                  outcome.buckets[
                    readyBeforeKill ? 'after ready' : 'after the commit, before ready'
                  ]++;
                }
              }
              key = next;
              fingerprint = status.masterKeyFingerprint!;
            };

            await trial('calibrate');
            while (nextTrial < TRIALS) {
              await trial(STRATA[nextTrial++ % STRATA.length]);
            }
          }),
        );

        const totalMs = performance.now() - began;
        expect(undecryptable).toEqual([]);
        expect(outcome.stillOld + outcome.rotated).toBe(TRIALS);
        for (const stratum of STRATA) expect(strata[stratum]).toBeGreaterThan(0);
        console.log(
          `[kms-crash] master-key rotation, postgres: ${TRIALS} SIGKILLs at start-up in ${LANES} lanes, ` +
            `${DATA_KEYS + 1} data keys, ${written.envelopes.length} envelopes, ${written.secrets.size} secrets ` +
            `(${[...written.secrets.values()].reduce((n, values) => n + values.length, 0)} versions)\n` +
            `  calibration per lane (ms): ${calibration
              .map(
                ({ lockMs, rewrapMs, readyAfterCommitMs }) =>
                  `re-wrap from ${Math.round(lockMs)} for ${Math.round(rewrapMs)}, ready ${Math.round(readyAfterCommitMs)} after its commit`,
              )
              .join('; ')}\n` +
            `  kills aimed before / during / after the re-wrap: ${strata.before} / ${strata.during} / ${strata.after}, ` +
            `${Math.round(Math.min(...outcome.killMs))}–${Math.round(Math.max(...outcome.killMs))} ms after spawn\n` +
            `  right after the kill: keyring still under the old key ${outcome.stillOld}, under the new key ${outcome.rotated}\n` +
            `  where the kills landed: ${Object.entries(outcome.buckets)
              .map(([bucket, n]) => `${bucket} ${n}`)
              .join(', ')}\n` +
            `  restarts that finished the rotation: ${outcome.restartsThatRotated}; undecryptable: ${undecryptable.length}; ` +
            `set-up ${Math.round(setupMs)} ms, total ${Math.round(totalMs)} ms`,
        );
      },
      TEST_TIMEOUT_MS,
    );

    it(
      `SIGKILL at random points of a re-encryption run, ${TRIALS} trials: nothing lost, and a later run finishes it`,
      async () => {
        const began = performance.now();
        const SECRETS = 125;
        const VERSIONS = 4;
        const BATCH = 10;
        const LANES = 2;
        const masterKey = newMasterKey();

        const setup = await newDatabase();
        const writer = await startSecretsApp(setup, {
          masterKey,
          kms: KMS_OPTIONS,
          secrets: SECRETS_OPTIONS,
        });
        const written: Written = { envelopes: [], secrets: new Map() };
        try {
          const names = Array.from({ length: SECRETS }, (_, i) => `crash/reencrypt-${i}`);
          await mapLimit(names, 8, async (name) => {
            const values: string[] = [];
            written.secrets.set(name, values);
            for (let version = 1; version <= VERSIONS; version++) {
              const value = `${name} v${version} ${randomBytes(8).toString('hex')}`;
              if (version === 1) await writer.secrets.setSecret(name, value);
              else await writer.secrets.rotateSecret(name, value);
              values.push(value);
            }
          });
        } finally {
          await writer.close();
        }
        const envelopes = SECRETS * VERSIONS + SECRETS;
        const setupMs = performance.now() - began;

        const outcome = {
          kills: 0,
          beforeFirstBatch: 0,
          midRun: 0,
          afterLastBatch: 0,
          writeTransactionOpen: 0,
          batchCommittedUnreported: 0,
          finishedBeforeTheKill: 0,
          movedByChildren: 0,
          movedAfterwards: 0,
        };
        const undecryptable: string[] = [];
        const calibration: { batches: number; runMs: number }[] = [];
        const aimed = Object.fromEntries(REENCRYPTION_PHASES.map((phase) => [phase, 0])) as Record<
          ReencryptionPhase,
          number
        >;
        let nextTrial = 0;

        await Promise.all(
          (await openLanes(setup, LANES)).map(async (lane) => {
            const app = await startApp(lane, masterKey);

            /** Everything under a retired key again, then a child re-encrypting, killed by `kill`. */
            const trial = async (
              kill: ((child: ChildHandle) => Promise<void>) | 'calibrate',
            ): Promise<void> => {
              const retired = app.kms.getStatus().activeKeyId!;
              const { keyId: active } = await app.kms.rotateDataKey();
              expect(await app.kms.countEnvelopesUsing(retired)).toBe(envelopes);
              const child = startReplica(lane, { KMS_MASTER_KEY: masterKey }, [
                'reencrypt',
                String(BATCH),
              ]);
              const childReady = await child.waitFor('ready');
              expect(childReady.status).toMatchObject({ activeKeyId: active });
              let writing = false;
              let finishedFirst = false;
              if (kill === 'calibrate') {
                const readyAt = performance.now();
                const done = await child.waitFor('action-done', 60_000);
                calibration.push({
                  batches: child.events('progress').length,
                  runMs: performance.now() - readyAt,
                });
                expect(done).toMatchObject({
                  ran: true,
                  moved: envelopes,
                  failed: 0,
                  remaining: 0,
                });
                await child.exited;
              } else {
                await kill(child);
                writing = await writeTransactionOpen(lane);
                finishedFirst = (await killAndSettle(lane, child)) === 'done';
              }

              // As the kill left it: one active key; whole batches moved, key-id columns in step.
              const left = await envelopeState(lane, active);
              expect((await keyringState(lane)).active).toEqual([active]);
              expect(left.keyIdsOutOfStep).toBe(0);
              for (const [moved, rows] of [
                [left.versionsMoved, SECRETS * VERSIONS],
                [left.currentMoved, SECRETS],
              ]) {
                expect(moved === rows || moved % BATCH === 0).toBe(true);
              }
              const movedInDb = left.versionsMoved + left.currentMoved;
              const progress = child.events('progress');
              const reported =
                progress.length === 0 ? 0 : Number(progress[progress.length - 1].moved);
              // Every reported batch is in; at most the batch in flight committed unreported.
              expect(movedInDb).toBeGreaterThanOrEqual(reported);
              expect(movedInDb).toBeLessThanOrEqual(reported + BATCH);

              // Every value reads back through a SecretsService, from the database.
              const failures = await readBack(app, written);
              undecryptable.push(...failures);
              expect(failures).toEqual([]);
              expect(app.kms.getStatus().activeKeyId).toBe(active);

              // A later run moves the rest.
              const finish = await app.kms.reencrypt();
              expect(finish).toMatchObject({
                ran: true,
                moved: envelopes - movedInDb,
                failed: 0,
                remaining: 0,
              });
              expect(await app.kms.countEnvelopesUsing(retired)).toBe(0);

              if (kill !== 'calibrate') {
                outcome.kills++;
                if (movedInDb === 0) outcome.beforeFirstBatch++;
                else if (movedInDb === envelopes) outcome.afterLastBatch++;
                else outcome.midRun++;
                if (writing) outcome.writeTransactionOpen++;
                if (finishedFirst) outcome.finishedBeforeTheKill++;
                if (movedInDb > reported) outcome.batchCommittedUnreported++;
                outcome.movedByChildren += movedInDb;
                outcome.movedAfterwards += finish.moved;
              }
            };

            // One full run first: how many batches, and how long one takes.
            await trial('calibrate');
            const { batches, runMs } = calibration[calibration.length - 1];
            const batchMs = runMs / batches;
            /** Returns once the child is where `phase` aims the kill. */
            const reach = async (child: ChildHandle, phase: ReencryptionPhase): Promise<void> => {
              const progressEvents = (count: number) =>
                child.waitFor(
                  (event: ChildEvent) =>
                    event.event === 'progress' && child.events('progress').length >= count,
                  60_000,
                );
              switch (phase) {
                case 'before the first batch':
                  // Right after ready: the first batch is at most in flight.
                  return;
                case 'mid-run':
                  // After a random number of batches, then a random part of one.
                  await progressEvents(1 + Math.floor(Math.random() * Math.max(1, batches - 2)));
                  await sleep(uniform(0, batchMs));
                  return;
                case 'after the last batch':
                  await progressEvents(batches);
                  return;
                case 'with a write transaction open': {
                  // A random batch in, then the next moment one of its UPDATEs is uncommitted.
                  await progressEvents(Math.floor(Math.random() * (batches - 1)));
                  const deadline = performance.now() + 60_000;
                  while (!(await writeTransactionOpen(lane))) {
                    // Every batch committed between two looks: the kill lands after the last.
                    if (child.events('action-done').length > 0) return;
                    if (performance.now() > deadline) throw new Error('no write transaction seen');
                    await sleep(1);
                  }
                  return;
                }
              }
            };

            while (nextTrial < TRIALS) {
              const phase = REENCRYPTION_PHASES[nextTrial++ % REENCRYPTION_PHASES.length];
              aimed[phase]++;
              await trial((child) => reach(child, phase));
            }
          }),
        );

        const totalMs = performance.now() - began;
        expect(undecryptable).toEqual([]);
        expect(outcome.kills).toBe(TRIALS);
        for (const phase of REENCRYPTION_PHASES) expect(aimed[phase]).toBeGreaterThan(0);
        const [first] = calibration;
        console.log(
          `[kms-crash] re-encryption, postgres: ${TRIALS} SIGKILLs in ${LANES} lanes, ${SECRETS} secrets × ${VERSIONS} versions ` +
            `(${envelopes} envelopes incl. current), batch ${BATCH}\n` +
            `  calibration: ${first.batches} batches in ${Math.round(first.runMs)} ms (${calibration
              .map(({ runMs }) => Math.round(runMs))
              .join(', ')} ms per lane)\n` +
            `  kills aimed: ${REENCRYPTION_PHASES.map((phase) => `${phase} ${aimed[phase]}`).join(', ')}\n` +
            `  where the kills landed: before the first batch committed ${outcome.beforeFirstBatch}, mid-run ${outcome.midRun}, ` +
            `after the last batch ${outcome.afterLastBatch} (child already exited ${outcome.finishedBeforeTheKill}); with an UPDATE transaction open ${outcome.writeTransactionOpen}; ` +
            `a committed batch not yet reported ${outcome.batchCommittedUnreported}\n` +
            `  envelopes moved by the killed children ${outcome.movedByChildren}, by the runs after them ${outcome.movedAfterwards}; ` +
            `undecryptable: ${undecryptable.length}; set-up ${Math.round(setupMs)} ms, total ${Math.round(totalMs)} ms`,
        );
      },
      TEST_TIMEOUT_MS,
    );
  },
);

function uniform(from: number, to: number): number {
  return Math.max(0, from + Math.random() * (to - from));
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/**
 * Reads back everything in `written` through the app (secrets after clearCache(), so from the
 * database): one line per value that does not decrypt or differs.
 */
async function readBack(app: SecretsApp, written: Written): Promise<string[]> {
  app.secrets.clearCache();
  const failures: string[] = [];
  const reads: [label: string, read: () => Promise<string>, expected: string][] = [];
  written.envelopes.forEach(({ envelope, plaintext, aad }, i) =>
    reads.push([`envelope ${i}`, () => app.kms.decryptData(envelope, { aad }), plaintext]),
  );
  for (const [name, values] of written.secrets) {
    reads.push([`${name} current`, () => app.secrets.getSecret(name), values[values.length - 1]]);
    values.forEach((value, i) =>
      reads.push([
        `${name} v${i + 1}`,
        () => app.secrets.getSecret(name, { version: i + 1 }),
        value,
      ]),
    );
  }
  await mapLimit(reads, 8, async ([label, read, expected]) => {
    try {
      if ((await read()) !== expected) failures.push(`${label}: another value`);
    } catch (error) {
      const { name, code } = error as { name?: string; code?: string };
      failures.push(`${label}: ${name} ${code ?? ''}`.trim());
    }
  });
  return failures;
}

function urlOf(db: TestDatabase): string {
  const url = (db.connection as { url?: string }).url;
  if (url === undefined) throw new Error('a Postgres test database without url');
  return url;
}

async function readKeyring(db: TestDatabase): Promise<string> {
  const client = new pg.Client({ connectionString: urlOf(db) });
  await client.connect();
  try {
    const { rows } = await client.query<{ fingerprint: string }>(
      'SELECT master_key_fingerprint AS fingerprint FROM kms_keyring',
    );
    return rows[0].fingerprint;
  } finally {
    await client.end();
  }
}

/** The keyring rows: its fingerprint, the distinct fingerprints of its data keys, the active ids. */
async function keyringState(lane: Lane): Promise<{
  keyring: string;
  dataKeyFingerprints: string[];
  keys: number;
  active: string[];
}> {
  const keyring = await lane.client.query<{ fingerprint: string }>(
    'SELECT master_key_fingerprint AS fingerprint FROM kms_keyring',
  );
  expect(keyring.rows).toHaveLength(1);
  const { rows } = await lane.client.query<{ id: string; status: string; fingerprint: string }>(
    'SELECT id, status, master_key_fingerprint AS fingerprint FROM kms_data_keys',
  );
  return {
    keyring: keyring.rows[0].fingerprint,
    dataKeyFingerprints: [...new Set(rows.map((row) => row.fingerprint))],
    keys: rows.length,
    active: rows.filter((row) => row.status === 'active').map((row) => row.id),
  };
}

/** Rows already under `active`, and rows whose key-id column disagrees with their envelope. */
async function envelopeState(
  lane: Lane,
  active: string,
): Promise<{ versionsMoved: number; currentMoved: number; keyIdsOutOfStep: number }> {
  const { rows } = await lane.client.query<{
    versions_moved: number;
    current_moved: number;
    out_of_step: number;
  }>(
    `SELECT
       (SELECT count(*)::int FROM kms_secret_versions WHERE key_id = $1) AS versions_moved,
       (SELECT count(*)::int FROM kms_secrets WHERE current_key_id = $1) AS current_moved,
       -- kms2.secret.<keyId>.…: the key id is the third part.
       (SELECT count(*)::int FROM kms_secret_versions WHERE key_id <> split_part(envelope, '.', 3))
         + (SELECT count(*)::int FROM kms_secrets
             WHERE current_key_id <> split_part(current_envelope, '.', 3)) AS out_of_step`,
    [active],
  );
  return {
    versionsMoved: rows[0].versions_moved,
    currentMoved: rows[0].current_moved,
    keyIdsOutOfStep: rows[0].out_of_step,
  };
}

/**
 * The keyring's fingerprint now, and whether a transaction holds its row lock (FOR UPDATE takes
 * RowShareLock on the table until commit): at start-up only the master-key re-wrap takes it.
 */
async function probe(lane: Lane): Promise<{ fingerprint: string; rewrapping: boolean }> {
  const { rows } = await lane.client.query<{ fingerprint: string; rewrapping: boolean }>(
    `SELECT (SELECT master_key_fingerprint FROM kms_keyring) AS fingerprint,
            EXISTS (SELECT 1 FROM pg_locks
                     WHERE relation = 'kms_keyring'::regclass AND mode = 'RowShareLock'
                       AND pid <> pg_backend_pid()) AS rewrapping`,
  );
  return rows[0];
}

/** Sessions of the lane's children (their application_name is the lane's tag). */
async function sessionsOf(lane: Lane): Promise<number> {
  const { rows } = await lane.client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
    [lane.tag],
  );
  return rows[0].n;
}

/** Whether a session of the lane's children is inside a transaction that has written. */
async function writeTransactionOpen(lane: Lane): Promise<boolean> {
  const { rows } = await lane.client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE application_name = $1 AND backend_xid IS NOT NULL`,
    [lane.tag],
  );
  return rows[0].n > 0;
}
