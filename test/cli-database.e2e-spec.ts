import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { COMMANDS } from '../apps/cli/src/cli-commands.js';
import {
  CLI_SUITE_OPTIONS,
  errorLineOf,
  jsonOf,
  describeLeakScan,
  runCli,
  SecretValues,
  type CliRun,
} from './support/cli-runner.js';
import {
  ENGINES,
  createTestDatabase,
  databaseEnv,
  type TestDatabase,
} from './support/databases.js';
import { startDemoApp } from './support/demo-app.js';
import { DemoTranscript } from './support/demo-transcript.js';

/*
 * Which database the CLI works on when none is named, and that only the commands storing
 * secrets may start a keyring: every other one, pointed at the wrong place, says where it
 * looked and creates nothing (no file, no table, no data key under the operator's key).
 */

const secretValues = new SecretValues();
const masterKey = secretValues.add(randomBytes(32).toString('base64'));

/** A command line for every command that refuses to start a keyring. */
const ARGV: Record<string, { argv: string[]; stdin?: string; env?: Record<string, string> }> = {
  status: { argv: ['status'] },
  'keys rotate': { argv: ['keys', 'rotate'] },
  'keys rotate-master': {
    argv: ['keys', 'rotate-master'],
    env: { KMS_NEW_MASTER_KEY: secretValues.add(randomBytes(32).toString('base64')) },
  },
  'keys rewrap': { argv: ['keys', 'rewrap'] },
  'keys masters': { argv: ['keys', 'masters'] },
  'keys remove-master': { argv: ['keys', 'remove-master', 'local:00000000'] },
  'secrets list': { argv: ['secrets', 'list'] },
  'secrets get': { argv: ['secrets', 'get', 'API_KEY'] },
  'secrets rotate': { argv: ['secrets', 'rotate', 'API_KEY'], stdin: secretValues.make('value') },
  'secrets delete': { argv: ['secrets', 'delete', 'API_KEY'] },
  'secrets recover': { argv: ['secrets', 'recover', 'API_KEY'] },
  'backup export': { argv: ['backup', 'export', '--out', 'never-written.json'] },
  'audit verify': { argv: ['audit', 'verify'] },
  'threats list': { argv: ['threats', 'list'] },
  'threats blocks': { argv: ['threats', 'blocks'] },
  'threats block': { argv: ['threats', 'block', 'mallory'] },
  'threats unblock': { argv: ['threats', 'unblock', 'mallory'] },
};

const mustFindKeyring = COMMANDS.filter((command) => command.store && !command.createsKeyring);

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nest-kms-cli-db-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectRefused(run: CliRun, lookedAt: string): void {
  expect(run).toMatchObject({ exitCode: 3, stdout: '' });
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  const { code, message } = errorLineOf(run);
  expect(code).toBe('KEYRING_NOT_FOUND');
  expect(message).toContain(lookedAt);
  expect(message).toContain('nothing was created');
  for (const way of ['--db', 'DATABASE_URL', 'SQLITE_PATH']) expect(message).toContain(way);
}

describe(
  'commands that must find a keyring, on a SQLite file that is not there',
  CLI_SUITE_OPTIONS,
  () => {
    it('every one of them is listed here', () => {
      expect(mustFindKeyring.map((command) => command.path.join(' ')).sort()).toEqual(
        Object.keys(ARGV).sort(),
      );
    });

    it.each(Object.keys(ARGV))(
      'nest-kms %s: exit 3, names the file, creates nothing',
      async (name) => {
        const { argv, stdin, env } = ARGV[name];
        const run = await runCli(argv, {
          cwd: dir,
          stdin,
          env: { KMS_MASTER_KEY: masterKey, ...env },
        });
        expectRefused(run, 'data/demo.sqlite');
        expect(readdirSync(dir)).toEqual([]);
      },
    );
  },
);

describe.each(ENGINES)('a database without a keyring on %s', CLI_SUITE_OPTIONS, (engine) => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    await db.drop();
  });

  /** The tables of the database, to show that nothing was added. */
  async function tables(): Promise<string[]> {
    if (engine === 'sqlite') {
      const connection = new Database(String(db.connection.database), { readonly: true });
      try {
        const rows = connection
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
          .all();
        return (rows as { name: string }[]).map((row) => row.name).sort();
      } finally {
        connection.close();
      }
    }
    const client = new pg.Client({ connectionString: (db.connection as { url: string }).url });
    await client.connect();
    try {
      const result = await client.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
      );
      return result.rows.map((row) => row.name).sort();
    } finally {
      await client.end();
    }
  }

  it('status refuses it and leaves it as it was; secrets set starts a keyring there', async () => {
    if (engine === 'sqlite') {
      // The application's own file, before nest-kms ever ran on it.
      const connection = new Database(String(db.connection.database));
      connection.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY)');
      connection.close();
    }
    const before = await tables();
    const env = { ...databaseEnv(db), KMS_MASTER_KEY: masterKey };

    const status = await runCli(['status'], { env });
    expectRefused(status, engine === 'sqlite' ? String(db.connection.database) : 'postgres');
    expect(await tables()).toEqual(before);

    const set = await runCli(['secrets', 'set', 'API_KEY'], {
      env,
      stdin: secretValues.make('api-key'),
    });
    expect(set.exitCode).toBe(0);
    expect(await tables()).toContain('kms_keyring');
    expect(
      jsonOf<{ dataKeysCount: number }>(await runCli(['status', '--json'], { env })),
    ).toMatchObject({
      dataKeysCount: 1,
      secretsCount: 1,
    });
  });
});

describe("the CLI's default database is the demo's", CLI_SUITE_OPTIONS, () => {
  async function demoKeyIn(dataDir: string): Promise<string> {
    const transcript = new DemoTranscript();
    const demo = await startDemoApp(
      {
        NODE_ENV: 'test',
        KMS_MASTER_KEY: masterKey,
        ADMIN_TOKEN: transcript.value('admin-token'),
        DATA_DIR: dataDir,
      },
      transcript,
    );
    try {
      const status = await demo.call('get', '/status');
      return status.body.kmsStatus.activeKeyId as string;
    } finally {
      await demo.close();
    }
  }

  it('run where the demo runs, status shows the demo keyring and creates no other', async () => {
    const activeKeyId = await demoKeyIn(join(dir, 'data'));
    // A process of its own, started in the demo's directory as an operator's shell would.
    const run = await runCli(['status', '--json'], {
      cwd: dir,
      env: { KMS_MASTER_KEY: masterKey },
      spawn: true,
    });
    expect(jsonOf<{ activeKeyId: string; database: string }>(run)).toMatchObject({
      activeKeyId,
      database: 'sqlite data/demo.sqlite (default)',
    });
    expect(readdirSync(join(dir, 'data')).filter((name) => name.endsWith('.sqlite'))).toEqual([
      'demo.sqlite',
    ]);
  });

  it('honours DATA_DIR as the demo does', async () => {
    const dataDir = join(dir, 'elsewhere');
    const activeKeyId = await demoKeyIn(dataDir);
    const run = await runCli(['status', '--json'], {
      env: { KMS_MASTER_KEY: masterKey, DATA_DIR: dataDir },
    });
    expect(jsonOf<{ activeKeyId: string }>(run).activeKeyId).toBe(activeKeyId);
  });

  it("a database the CLI starts is its owner's only: file 0600, directory 0700", async () => {
    // A process of its own: the file modes come from its umask and the library, nothing else.
    const set = await runCli(['secrets', 'set', 'API_KEY'], {
      cwd: dir,
      env: { KMS_MASTER_KEY: masterKey },
      stdin: secretValues.make('api-key'),
      spawn: true,
    });
    expect(set.exitCode).toBe(0);
    expect(set.stderr).toContain('created a new database: sqlite data/demo.sqlite');
    const file = join(dir, 'data', 'demo.sqlite');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'data')).mode & 0o777).toBe(0o700);
  });
});

describeLeakScan('printed no secret value and no stack trace', secretValues, 10);
