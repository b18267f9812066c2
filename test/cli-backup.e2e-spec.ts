import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLI_SUITE_OPTIONS,
  cliOn,
  errorLineOf,
  jsonOf,
  describeLeakScan,
  SecretValues,
  startKeyringIn,
} from './support/cli-runner.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';

/*
 * `nest-kms backup export / import`: the disaster-recovery path an operator takes, from one
 * database into a fresh one under the same master key, on SQLite and Postgres.
 */

/** Every secret value and master key of this file: only `secrets get` may print one. */
const secretValues = new SecretValues();
const secretValue = (label: string) => secretValues.make(label);

describe.each(ENGINES)('nest-kms backup on %s', CLI_SUITE_OPTIONS, (engine) => {
  let source: TestDatabase;
  let fresh: TestDatabase;
  let masterKey: string;
  let dir: string;

  beforeEach(async () => {
    source = await createTestDatabase(engine);
    fresh = await createTestDatabase(engine);
    masterKey = randomBytes(32).toString('base64');
    secretValues.add(masterKey);
    dir = mkdtempSync(join(tmpdir(), 'nest-kms-cli-backup-'));
  });

  afterEach(async () => {
    await source.drop();
    await fresh.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('export writes an owner-only file that restores every version into a fresh database', async () => {
    const cli = cliOn(source, masterKey);
    const [token1, token2, password] = ['token', 'token', 'password'].map(secretValue);
    await cli(['secrets', 'set', 'API_TOKEN'], { stdin: token1 });
    await cli(['keys', 'rotate']);
    await cli(['secrets', 'rotate', 'API_TOKEN'], { stdin: token2 });
    await cli(['secrets', 'set', 'DB_PASSWORD', '--tag', 'env=prod'], { stdin: password });

    const file = join(dir, 'secrets.backup.json');
    const exported = await cli(['backup', 'export', '--out', file, '--json']);
    expect(jsonOf(exported)).toMatchObject({ file, secrets: 2 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Sealed: the file names secrets but holds no value in the clear.
    const content = readFileSync(file, 'utf8');
    expect(content).toContain('API_TOKEN');
    for (const value of [token1, token2, password, masterKey]) expect(content).not.toContain(value);

    const restore = cliOn(fresh, masterKey);
    const restored = await restore(['backup', 'import', file]);
    expect(restored.exitCode).toBe(0);
    expect(restored.stdout).toMatch(/^restored\s+API_TOKEN, DB_PASSWORD$/m);
    expect(restored.stdout).toMatch(/^data keys added\s+2$/m);
    expect(restored.stdout).toContain('nest-kms keys rewrap');

    const get = (...args: string[]) => restore(['secrets', 'get', ...args], { printsSecret: true });
    expect((await get('API_TOKEN')).stdout).toBe(token2);
    expect((await get('API_TOKEN', '--version', '1')).stdout).toBe(token1);
    expect((await get('DB_PASSWORD')).stdout).toBe(password);
  });

  it('export refuses to replace a file unless --force; importing twice changes nothing', async () => {
    const cli = cliOn(source, masterKey);
    await cli(['secrets', 'set', 'ONLY'], { stdin: secretValue('only') });
    const file = join(dir, 'taken.json');
    writeFileSync(file, 'an earlier backup\n', { mode: 0o644 });

    const refused = await cli(['backup', 'export', '--out', file]);
    expect(refused).toMatchObject({ exitCode: 4, stdout: '' });
    expect(errorLineOf(refused).code).toBe('FILE_EXISTS');
    expect(readFileSync(file, 'utf8')).toBe('an earlier backup\n');

    expect((await cli(['backup', 'export', '--out', file, '--force'])).exitCode).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const restore = cliOn(fresh, masterKey);
    const first = jsonOf<{ restored: string[] }>(
      await restore(['backup', 'import', file, '--json']),
    );
    expect(first.restored).toEqual(['ONLY']);
    const again = await restore(['backup', 'import', file, '--json']);
    expect(jsonOf(again)).toMatchObject({ restored: [], unchanged: ['ONLY'], dataKeysAdded: 0 });
  });

  it('a restore over a secret with other content exits 4 and writes nothing', async () => {
    const file = join(dir, 'backup.json');
    const cli = cliOn(source, masterKey);
    await cli(['secrets', 'set', 'SHARED_NAME'], { stdin: secretValue('from-backup') });
    expect((await cli(['backup', 'export', '--out', file])).exitCode).toBe(0);

    const target = cliOn(fresh, masterKey);
    const local = secretValue('held-here');
    await target(['secrets', 'set', 'SHARED_NAME'], { stdin: local });
    const conflict = await target(['backup', 'import', file]);
    expect(conflict).toMatchObject({ exitCode: 4, stdout: '' });
    expect(errorLineOf(conflict)).toMatchObject({ code: 'SECRET_RESTORE_CONFLICT' });
    expect(errorLineOf(conflict).message).toContain('SHARED_NAME');
    expect((await target(['secrets', 'get', 'SHARED_NAME'], { printsSecret: true })).stdout).toBe(
      local,
    );
  });

  it('a backup under another master key, a missing file and a non-backup are refused', async () => {
    const file = join(dir, 'backup.json');
    await startKeyringIn(source, masterKey);
    expect((await cliOn(source, masterKey)(['backup', 'export', '--out', file])).exitCode).toBe(0);
    const otherKey = randomBytes(32).toString('base64');
    secretValues.add(otherKey);
    const elsewhere = cliOn(fresh, otherKey);

    const foreign = await elsewhere(['backup', 'import', file]);
    expect(foreign).toMatchObject({ exitCode: 1, stdout: '' });
    expect(errorLineOf(foreign).code).toBe('KMS_INVALID_EXPORT');

    const missing = await elsewhere(['backup', 'import', join(dir, 'absent.json')]);
    expect(missing.exitCode).toBe(3);
    expect(errorLineOf(missing).code).toBe('FILE_NOT_FOUND');

    const notJson = join(dir, 'notes.txt');
    writeFileSync(notJson, 'not a backup');
    const garbage = await elsewhere(['backup', 'import', notJson]);
    expect(garbage.exitCode).toBe(1);
    expect(errorLineOf(garbage).code).toBe('INVALID_BACKUP_FILE');

    const noOut = await elsewhere(['backup', 'export']);
    expect(noOut.exitCode).toBe(2);
    expect(errorLineOf(noOut).message).toContain('--out FILE');
  });
});

describeLeakScan(
  'printed no secret value (except secrets get) and no stack trace',
  secretValues,
  20,
);
