import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoApp } from './support/demo-app.js';
import { DemoTranscript } from './support/demo-transcript.js';
import { KmsFixture, newMasterKey } from './support/kms-fixture.js';

/*
 * The SQLite file holds the wrapped data keys and every envelope: like the key files, only its
 * owner may read it, whatever the umask, and so may its journal files.
 */

const modeOf = (file: string): number => statSync(file).mode & 0o777;

/** Every file SQLite keeps beside `database` (-journal, -wal, -shm), and the file itself. */
function databaseFiles(database: string): string[] {
  const dir = join(database, '..');
  const base = database.slice(dir.length + 1);
  return readdirSync(dir)
    .filter((name) => name === base || name.startsWith(`${base}-`))
    .map((name) => join(dir, name));
}

/** Writes through SQLite in WAL mode, which makes -wal and -shm files, and leaves it open. */
function writeInWalMode(database: string): Database.Database {
  const connection = new Database(database);
  connection.pragma('journal_mode = WAL');
  connection.exec('CREATE TABLE IF NOT EXISTS probe (n INTEGER); INSERT INTO probe VALUES (1)');
  return connection;
}

function expectOwnerOnly(database: string): void {
  const files = databaseFiles(database);
  expect(files.map((file) => file.slice(database.length))).toEqual(
    expect.arrayContaining(['', '-wal', '-shm']),
  );
  for (const file of files) expect(modeOf(file), file).toBe(0o600);
  expect(modeOf(join(database, '..'))).toBe(0o700);
}

let dir: string;
let previousUmask: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nest-kms-modes-'));
  // The common default: files would be created 0644 unless created otherwise.
  previousUmask = process.umask(0o022);
});

afterEach(() => {
  process.umask(previousUmask);
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite database file modes', () => {
  it('the demo creates $DATA_DIR/demo.sqlite readable by its owner only', async () => {
    const transcript = new DemoTranscript();
    const dataDir = join(dir, 'data');
    const env = {
      NODE_ENV: 'test',
      KMS_MASTER_KEY: newMasterKey(),
      ADMIN_TOKEN: transcript.value('admin-token'),
      DATA_DIR: dataDir,
    };
    const demo = await startDemoApp(env, transcript);
    await demo.close();
    const database = join(dataDir, 'demo.sqlite');
    expect(modeOf(database)).toBe(0o600);
    writeInWalMode(database).close();
    const reopened = writeInWalMode(database);
    try {
      expectOwnerOnly(database);
    } finally {
      reopened.close();
    }
  });

  it("KmsModule's own default file, data/nest-kms.sqlite, is its owner's only", async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const app = await KmsFixture.register('forRoot', { masterKey: newMasterKey() });
      await app.kms.encryptData('stored');
      await app.close();
    } finally {
      process.chdir(cwd);
    }
    const database = join(dir, 'data', 'nest-kms.sqlite');
    const connection = writeInWalMode(database);
    try {
      expectOwnerOnly(database);
    } finally {
      connection.close();
    }
  });

  it('a connection to a new SQLite file given to KmsModule creates it 0600 too', async () => {
    const database = join(dir, 'nested', 'keys.sqlite');
    const app = await KmsFixture.register('useFactory', {
      masterKey: newMasterKey(),
      connection: { type: 'better-sqlite3', database },
    });
    await app.close();
    expect(modeOf(database)).toBe(0o600);
    expect(modeOf(join(dir, 'nested'))).toBe(0o700);
  });
});
