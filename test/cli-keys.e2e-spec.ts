import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLI_SUITE_OPTIONS,
  cliOn,
  errorLineOf,
  jsonOf,
  describeLeakScan,
  SecretValues,
  runCli,
  startKeyringIn,
} from './support/cli-runner.js';
import { ENGINES, type TestDatabase } from './support/databases.js';
import { createMigratedTestDatabase } from './support/migrated-databases.js';

/*
 * The operator CLI's key commands (keygen, status, keys rotate / rotate-master / rewrap), run as
 * a separate process on SQLite and Postgres exactly as an operator runs them.
 */

/** Every secret value and master key of this file: no output but keygen's may show one. */
const secretValues = new SecretValues();
const secretValue = (label: string) => secretValues.make(label);

/** A master key made here (keygen has its own test): one process less per test. */
function newMasterKey(): string {
  const key = randomBytes(32).toString('base64');
  secretValues.add(key);
  return key;
}

interface Status {
  activeKeyId: string;
  dataKeysCount: number;
  envelopesUnderRetiredKeys: number;
  secretsCount: number;
  masterKeyFingerprint: string;
  dataKeys: { id: string; status: string; envelopes: number }[];
}

describe('nest-kms keygen', CLI_SUITE_OPTIONS, () => {
  it('prints a base64 key of 32 random bytes and nothing else, with no database or key', async () => {
    // A process of its own: the key reaches a real stdout, as `$(nest-kms keygen)` reads it. The
    // second, to show that keys differ, runs in this one: a process costs 1-3 s of CPU.
    const first = await runCli(['keygen'], { printsSecret: true, spawn: true });
    const second = await runCli(['keygen'], { printsSecret: true });
    for (const run of [first, second]) {
      expect(run).toMatchObject({ exitCode: 0, stderr: '' });
      expect(run.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      expect(Buffer.from(run.stdout.trim(), 'base64')).toHaveLength(32);
      secretValues.add(run.stdout.trim());
    }
    expect(first.stdout).not.toBe(second.stdout);
  });
});

// Refused before any database is opened: one run, whatever the engine.
describe('nest-kms without a master key', CLI_SUITE_OPTIONS, () => {
  it('refuses to start without KMS_MASTER_KEY, names the fix, and creates no database', async () => {
    const run = await runCli(
      ['status', '--db', join(tmpdir(), `never-${randomBytes(4).toString('hex')}`, 'x.sqlite')],
      // A process of its own: the exit status a shell script sees.
      { env: { SQLITE_PATH: undefined }, spawn: true },
    );
    expect(run.exitCode).toBe(5);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    const { code, message } = errorLineOf(run);
    expect(code).toBe('KMS_MASTER_KEY_MISSING');
    expect(message).toContain('nest-kms keygen');
    expect(existsSync(run.args[2])).toBe(false);
  });
});

describe.each(ENGINES)('nest-kms keys on %s', CLI_SUITE_OPTIONS, (engine) => {
  let db: TestDatabase;
  let masterKey: string;
  let cli: ReturnType<typeof cliOn>;

  beforeEach(async () => {
    db = await createMigratedTestDatabase(engine);
    masterKey = newMasterKey();
    // The CLI operates on an application's keyring; it never starts one for key commands.
    await startKeyringIn(db, masterKey);
    cli = cliOn(db, masterKey);
  });

  afterEach(async () => {
    await db.drop();
  });

  /** Stores one secret per value in one run (the .env import), returns name → value. */
  async function seedSecrets(count: number): Promise<Record<string, string>> {
    const values: Record<string, string> = {};
    for (let i = 0; i < count; i++) values[`SEEDED_${i}`] = secretValue('seeded');
    const dir = mkdtempSync(join(tmpdir(), 'nest-kms-cli-seed-'));
    try {
      const file = join(dir, '.env');
      writeFileSync(
        file,
        Object.entries(values)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      );
      expect((await cli(['secrets', 'import', '--from', file])).exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return values;
  }

  it('status of a new keyring shows its one active key and no secrets', async () => {
    const human = await cli(['status']);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/^master key\s+local:[0-9a-f]+$/m);
    expect(human.stdout).toMatch(/^secrets\s+0 \(0 expired\)$/m);

    const status = jsonOf<Status>(await cli(['status', '--json']));
    expect(status).toMatchObject({
      dataKeysCount: 1,
      secretsCount: 0,
      envelopesUnderRetiredKeys: 0,
    });
    expect(status.dataKeys).toEqual([
      expect.objectContaining({ id: status.activeKeyId, status: 'active', envelopes: 0 }),
    ]);
    expect(human.stdout).toContain(status.activeKeyId);
  });

  it('keys rotate makes a new active data key, which status then shows', async () => {
    const before = jsonOf<Status>(await cli(['status', '--json']));
    const rotated = jsonOf<{ keyId: string; previousKeyId: string }>(
      await cli(['keys', 'rotate', '--json']),
    );
    expect(rotated.previousKeyId).toBe(before.activeKeyId);
    expect(rotated.keyId).not.toBe(before.activeKeyId);

    const after = jsonOf<Status>(await cli(['status', '--json']));
    expect(after).toMatchObject({ activeKeyId: rotated.keyId, dataKeysCount: 2 });
    expect(after.dataKeys.find((key) => key.id === before.activeKeyId)?.status).toBe('retired');
    const human = await cli(['keys', 'rotate']);
    expect(human.stdout).toMatch(/^rotated: active data key dk2-sc-\S+ \(retired dk2-sc-/);
  });

  it('keys rewrap moves every envelope under a retired key and reports the counts', async () => {
    const values = await seedSecrets(4);
    await cli(['keys', 'rotate']);
    const waiting = jsonOf<Status>(await cli(['status', '--json'])).envelopesUnderRetiredKeys;
    // Each secret's envelope is stored twice: its version row and its current row.
    expect(waiting).toBe(8);

    const rewrap = await cli(['keys', 'rewrap', '--batch-size', '3', '--json']);
    expect(jsonOf<{ moved: number; failed: number; remaining: number }>(rewrap)).toMatchObject({
      moved: waiting,
      failed: 0,
      remaining: 0,
    });
    // stderr is a pipe here: progress comes as lines, the last one complete.
    expect(rewrap.stderr).toMatch(
      new RegExp(`^nest-kms: rewrap ${waiting}/${waiting} \\(100%\\), \\d+/s$`, 'm'),
    );

    const after = jsonOf<Status>(await cli(['status', '--json']));
    expect(after.envelopesUnderRetiredKeys).toBe(0);
    expect(after.dataKeys.find((key) => key.status === 'active')?.envelopes).toBe(waiting);
    const [name, value] = Object.entries(values)[0];
    expect((await cli(['secrets', 'get', name], { printsSecret: true })).stdout).toBe(value);

    const nothingLeft = await cli(['keys', 'rewrap']);
    expect(nothingLeft.stdout).toMatch(
      /^moved 0 envelopes to data key dk2-sc-\S+ in .*; 0 failed, 0 remaining$/m,
    );
  });

  it('keys rotate-master: afterwards the old key is refused and the new one opens everything', async () => {
    const value = secretValue('kept');
    expect((await cli(['secrets', 'set', 'KEPT'], { stdin: value })).exitCode).toBe(0);
    const newKey = newMasterKey();

    const rotation = await cli(['keys', 'rotate-master'], { stdin: `${newKey}\n` });
    expect(rotation.exitCode).toBe(0);
    expect(rotation.stdout).toMatch(
      /^rotated: master key local:\w+ -> local:\w+ \(1 data keys re-wrapped/,
    );
    expect(rotation.stdout).toContain('KMS_MASTER_KEY_PREVIOUS');
    expect(rotation.stdout).toMatch(/^next steps:$/m);

    const withOldKey = await cli(['status']);
    expect(withOldKey.exitCode).toBe(5);
    expect(errorLineOf(withOldKey).code).toBe('KMS_MASTER_KEY_MISMATCH');

    const withNewKey = cliOn(db, newKey);
    expect((await withNewKey(['secrets', 'get', 'KEPT'], { printsSecret: true })).stdout).toBe(
      value,
    );
  });

  it('keys rotate-master reads the new key from KMS_NEW_MASTER_KEY as well', async () => {
    const newKey = newMasterKey();
    const rotation = await cli(['keys', 'rotate-master', '--json'], {
      env: { KMS_NEW_MASTER_KEY: newKey },
    });
    expect(jsonOf<{ rewrapped: number; nextSteps: string[] }>(rotation)).toMatchObject({
      rewrapped: 1,
      nextSteps: expect.arrayContaining([expect.stringContaining('KMS_MASTER_KEY_PREVIOUS')]),
    });
    expect((await cli(['status'])).exitCode).toBe(5);
    expect((await cliOn(db, newKey)(['status'])).exitCode).toBe(0);
  });

  it('keys rotate-master takes no key from argv and refuses the key in use', async () => {
    const newKey = newMasterKey();
    const fromArgv = await cli(['keys', 'rotate-master', newKey]);
    expect(fromArgv.exitCode).toBe(2);
    expect(errorLineOf(fromArgv).message).toContain('never read from the command line');

    const same = await cli(['keys', 'rotate-master'], { stdin: masterKey });
    expect(same.exitCode).toBe(2);
    expect(errorLineOf(same).message).toContain('is the one in use');

    const none = await cli(['keys', 'rotate-master']);
    expect(none.exitCode).toBe(2);
    expect(errorLineOf(none).message).toContain('KMS_NEW_MASTER_KEY');
    // Nothing changed: the original key still opens the keyring.
    expect((await cli(['status'])).exitCode).toBe(0);
  });
});

describeLeakScan(
  'printed no secret value or master key (except keygen, secrets get) and no stack trace',
  secretValues,
  10,
);
