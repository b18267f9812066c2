import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLI_SUITE_OPTIONS,
  cliOn,
  errorLineOf,
  jsonOf,
  describeLeakScan,
  SecretValues,
} from './support/cli-runner.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';

/*
 * `nest-kms secrets ...` as an operator runs it, on SQLite and Postgres: values go in through
 * stdin or --from-env and come out only through `secrets get`; everything else shows names.
 */

/** Every secret value and master key of this file: only `secrets get` may print one. */
const secretValues = new SecretValues();
const secretValue = (label: string) => secretValues.make(label);

interface Metadata {
  name: string;
  currentVersion: number;
  tags: Record<string, string>;
}

describe.each(ENGINES)('nest-kms secrets on %s', CLI_SUITE_OPTIONS, (engine) => {
  let db: TestDatabase;
  let cli: ReturnType<typeof cliOn>;
  let dir: string;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    const masterKey = randomBytes(32).toString('base64');
    secretValues.add(masterKey);
    cli = cliOn(db, masterKey);
    dir = mkdtempSync(join(tmpdir(), 'nest-kms-cli-secrets-'));
  });

  afterEach(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (name: string, ...more: string[]) =>
    cli(['secrets', 'get', name, ...more], { printsSecret: true });

  it('set takes the value from stdin or --from-env; get prints exactly the value', async () => {
    const piped = secretValue('piped');
    // `echo value | nest-kms secrets set` must not store the newline; --raw keeps stdin as is.
    // Processes of their own here: a real stdin pipe in, a real stdout out.
    expect(
      await cli(['secrets', 'set', 'PIPED'], { stdin: `${piped}\n`, spawn: true }),
    ).toMatchObject({
      exitCode: 0,
      stdout: 'stored PIPED version 1\n',
    });
    expect(
      await cli(['secrets', 'get', 'PIPED'], { printsSecret: true, spawn: true }),
    ).toMatchObject({ exitCode: 0, stdout: piped, stderr: '' });

    const pem = `${secretValue('pem')}\n`;
    await cli(['secrets', 'set', 'PEM', '--raw'], { stdin: pem });
    expect((await get('PEM')).stdout).toBe(pem);

    const fromEnv = secretValue('env');
    const set = await cli(['secrets', 'set', 'FROM_ENV', '--from-env', 'THE_VALUE', '--json'], {
      env: { THE_VALUE: fromEnv },
    });
    expect(jsonOf<Metadata>(set)).toMatchObject({ name: 'FROM_ENV', currentVersion: 1 });
    expect((await get('FROM_ENV')).stdout).toBe(fromEnv);
  });

  it('list shows metadata only, filtered by tag', async () => {
    const payments = secretValue('payments');
    const mail = secretValue('mail');
    await cli(['secrets', 'set', 'PAYMENTS_KEY', '--tag', 'team=payments', '--tag', 'env=prod'], {
      stdin: payments,
    });
    await cli(['secrets', 'set', 'SMTP_PASSWORD', '--tag', 'team=mail'], { stdin: mail });

    const all = jsonOf<Metadata[]>(await cli(['secrets', 'list', '--json']));
    expect(all.map((secret) => secret.name).sort()).toEqual(['PAYMENTS_KEY', 'SMTP_PASSWORD']);
    expect(all.find((s) => s.name === 'PAYMENTS_KEY')?.tags).toEqual({
      env: 'prod',
      team: 'payments',
    });

    const filtered = await cli(['secrets', 'list', '--tag', 'team=payments']);
    expect(filtered.exitCode).toBe(0);
    expect(filtered.stdout.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+UPDATED\s+EXPIRES\s+TAGS$/);
    expect(filtered.stdout).toMatch(/^PAYMENTS_KEY\s+1\s+\S+\s+never\s+env=prod,team=payments$/m);
    expect(filtered.stdout).not.toContain('SMTP_PASSWORD');

    const none = await cli(['secrets', 'list', '--tag', 'team=nobody']);
    expect(none).toMatchObject({ exitCode: 0, stdout: '', stderr: 'nest-kms: no secrets\n' });
  });

  it('list pages with --limit and --after, and filters by --prefix', async () => {
    const names = ['app/a', 'app/b', 'app/c', 'app/d', 'apple', 'other'];
    for (const name of names) await cli(['secrets', 'set', name], { stdin: secretValue(name) });

    const first = await cli(['secrets', 'list', '--prefix', 'app/', '--limit', '3']);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^app\/a\s/m);
    expect(first.stdout).toMatch(/^app\/c\s/m);
    expect(first.stdout).not.toContain('app/d');
    expect(first.stderr).toBe('nest-kms: more after this page: --after app/c\n');

    const last = await cli([
      'secrets',
      'list',
      '--prefix',
      'app/',
      '--limit',
      '3',
      '--after',
      'app/c',
      '--json',
    ]);
    expect(jsonOf<{ secrets: Metadata[]; nextCursor: string | null }>(last)).toEqual({
      secrets: [expect.objectContaining({ name: 'app/d' })],
      nextCursor: null,
    });
    expect(last.stderr).toBe('');

    const page = jsonOf<{ secrets: Metadata[]; nextCursor: string | null }>(
      await cli(['secrets', 'list', '--limit', '2', '--json']),
    );
    expect(page.secrets.map((secret) => secret.name)).toEqual(['app/a', 'app/b']);
    expect(page.nextCursor).toBe('app/b');
    const prefixed = jsonOf<Metadata[]>(
      await cli(['secrets', 'list', '--prefix', 'app', '--json']),
    );
    expect(prefixed.map((secret) => secret.name)).toEqual([
      'app/a',
      'app/b',
      'app/c',
      'app/d',
      'apple',
    ]);

    const zero = await cli(['secrets', 'list', '--limit', '0']);
    expect(zero.exitCode).not.toBe(0);
    expect(zero.stderr).toContain('--limit');
    const tooMany = await cli(['secrets', 'list', '--limit', '5000']);
    expect(errorLineOf(tooMany).code).toBe('SECRET_INVALID_INPUT');
    const badCursor = await cli(['secrets', 'list', '--limit', '5', '--after', 'bad name']);
    expect(errorLineOf(badCursor).code).toBe('SECRET_INVALID_INPUT');
  });

  it('rotate makes a new current version; the previous one stays readable by version', async () => {
    const first = secretValue('first');
    const second = secretValue('second');
    await cli(['secrets', 'set', 'API_KEY'], { stdin: first });
    const rotated = await cli(['secrets', 'rotate', 'API_KEY'], { stdin: second });
    expect(rotated).toMatchObject({
      exitCode: 0,
      stdout: 'rotated API_KEY: version 2 is current\n',
    });

    expect((await get('API_KEY')).stdout).toBe(second);
    expect((await get('API_KEY', '--version', '1')).stdout).toBe(first);
    const list = jsonOf<Metadata[]>(await cli(['secrets', 'list', '--json']));
    expect(list).toEqual([expect.objectContaining({ name: 'API_KEY', currentVersion: 2 })]);
  });

  it('delete makes reads exit 3 until recover brings the secret back', async () => {
    const value = secretValue('deleted');
    await cli(['secrets', 'set', 'OLD_TOKEN'], { stdin: value });
    const deleted = await cli(['secrets', 'delete', 'OLD_TOKEN']);
    expect(deleted.exitCode).toBe(0);
    expect(deleted.stdout).toContain('nest-kms secrets recover OLD_TOKEN');

    const read = await get('OLD_TOKEN');
    expect(read).toMatchObject({ exitCode: 3, stdout: '' });
    expect(errorLineOf(read).code).toBe('SECRET_DELETED');
    expect(jsonOf<Metadata[]>(await cli(['secrets', 'list', '--json']))).toEqual([]);

    expect((await cli(['secrets', 'recover', 'OLD_TOKEN'])).exitCode).toBe(0);
    expect((await get('OLD_TOKEN')).stdout).toBe(value);
  });

  it('an unknown secret or version exits 3 with one line for get, rotate and delete', async () => {
    await cli(['secrets', 'set', 'ONLY_ONE'], { stdin: secretValue('only') });
    const runs = [
      await get('MISSING'),
      await get('ONLY_ONE', '--version', '7'),
      await cli(['secrets', 'rotate', 'MISSING'], { stdin: secretValue('unused') }),
      await cli(['secrets', 'delete', 'MISSING']),
    ];
    for (const run of runs) {
      expect(run).toMatchObject({ exitCode: 3, stdout: '' });
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    expect(runs.map((run) => errorLineOf(run).code)).toEqual([
      'SECRET_NOT_FOUND',
      'SECRET_VERSION_NOT_FOUND',
      'SECRET_NOT_FOUND',
      'SECRET_NOT_FOUND',
    ]);
    expect(errorLineOf(runs[0]).message).toBe('Secret not found: MISSING (no such secret)');
  });

  it('refuses a value on the command line, an empty stdin and an unset --from-env: exit 2', async () => {
    const typed = secretValue('typed-on-the-command-line');
    const runs = [
      await cli(['secrets', 'set', 'API_KEY', typed]),
      await cli(['secrets', 'rotate', 'API_KEY', typed]),
      await cli(['secrets', 'set', 'API_KEY']),
      await cli(['secrets', 'set', 'API_KEY', '--from-env', 'NOT_SET_ANYWHERE']),
      // A value typed where the variable's name goes is not echoed either.
      await cli(['secrets', 'set', 'API_KEY', '--from-env', typed]),
    ];
    for (const run of runs) {
      expect(run).toMatchObject({ exitCode: 2, stdout: '' });
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(errorLineOf(run).code).toBe('USAGE');
    }
    expect(errorLineOf(runs[0]).message).toContain('never read from the command line');
    expect(errorLineOf(runs[2]).message).toContain('no value on stdin');
    // Nothing was stored: not even a keyring was started.
    expect(errorLineOf(await cli(['secrets', 'list', '--json'])).code).toBe('KEYRING_NOT_FOUND');
  });

  it('import --from .env: names only, a second run imports nothing, a changed value is a conflict', async () => {
    const jwt = secretValue('jwt');
    const redis = `redis://:${secretValue('redis-password')}@cache:6379`;
    const file = join(dir, '.env');
    writeFileSync(
      file,
      [
        '# the migration guide example',
        `KMS_MASTER_KEY=${randomBytes(32).toString('base64')}`,
        `JWT_SECRET=${jwt}`,
        `REDIS_URL="${redis}"`,
        'NOT_YET_SET=',
        '',
      ].join('\n'),
    );
    secretValues.add(redis);

    const first = await cli(['secrets', 'import', '--from', file, '--json']);
    expect(jsonOf(first)).toEqual({
      file,
      created: ['JWT_SECRET', 'REDIS_URL'],
      updated: [],
      unchanged: [],
      conflicts: [],
      missing: ['NOT_YET_SET'],
      failed: [],
      skipped: ['KMS_MASTER_KEY'],
    });
    expect((await get('REDIS_URL')).stdout).toBe(redis);

    const second = await cli(['secrets', 'import', '--from', file]);
    expect(second).toMatchObject({ exitCode: 0, stderr: '' });
    expect(second.stdout).toMatch(/^unchanged\s+JWT_SECRET, REDIS_URL$/m);
    expect(second.stdout).toMatch(/^imported 0 secret\(s\) from /m);
    const versions = jsonOf<Metadata[]>(await cli(['secrets', 'list', '--json']));
    expect(versions.map((secret) => secret.currentVersion)).toEqual([1, 1]);

    const rotatedMeanwhile = secretValue('rotated-meanwhile');
    await cli(['secrets', 'rotate', 'JWT_SECRET'], { stdin: rotatedMeanwhile });
    const third = await cli(['secrets', 'import', '--from', file, 'JWT_SECRET']);
    expect(third.exitCode).toBe(4);
    expect(third.stdout).toMatch(/^conflict\s+JWT_SECRET$/m);
    expect(errorLineOf(third)).toMatchObject({ code: 'IMPORT_CONFLICT' });
    expect(errorLineOf(third).message).toContain('JWT_SECRET');
    // Reported, not overwritten.
    expect((await get('JWT_SECRET')).stdout).toBe(rotatedMeanwhile);
  });

  it('import of a missing .env file exits 3', async () => {
    const run = await cli(['secrets', 'import', '--from', join(dir, 'absent.env')]);
    expect(run).toMatchObject({ exitCode: 3, stdout: '' });
    expect(errorLineOf(run).code).toBe('FILE_NOT_FOUND');
  });
});

describeLeakScan(
  'printed no secret value (except secrets get) and no stack trace',
  secretValues,
  20,
);
