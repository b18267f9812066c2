import { randomBytes } from 'node:crypto';
import {
  CLI_SUITE_OPTIONS,
  cliOn,
  describeLeakScan,
  errorLineOf,
  jsonOf,
  runCli,
  SecretValues,
} from './support/cli-runner.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';

/*
 * The CLI in a replica region (KMS_REGION_ROLE=replica, docs/multi-region.md): reads work, and a
 * write is refused with exit 6 and one line saying where to run it, before anything is written.
 * The same database stands in for the replicated one (the replication: multi-region suites).
 */

const secretValues = new SecretValues();
const PRIMARY = 'https://kms.eu-west-1.example';
const REPLICA_ENV = { KMS_REGION_ROLE: 'replica', KMS_REGION_PRIMARY: PRIMARY };

interface Status {
  activeKeyId: string;
  dataKeysCount: number;
}

describe('nest-kms --help', CLI_SUITE_OPTIONS, () => {
  it('documents exit 6 and the region variables', async () => {
    const run = await runCli(['--help']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^ {2}6 +read-only region: /m);
    expect(run.stdout).toMatch(/^ {2}KMS_REGION_ROLE +replica /m);
    expect(run.stdout).toMatch(/^ {2}KMS_REGION_PRIMARY +/m);
  });
});

describe.each(ENGINES)('nest-kms in a replica region on %s', CLI_SUITE_OPTIONS, (engine) => {
  let db: TestDatabase;
  let cli: ReturnType<typeof cliOn>;
  const stored = secretValues.make('stored-in-the-primary');

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    const masterKey = randomBytes(32).toString('base64');
    secretValues.add(masterKey);
    cli = cliOn(db, masterKey);
    // The primary region made the keyring and the secret.
    expect(await cli(['secrets', 'set', 'API_KEY'], { stdin: stored })).toMatchObject({
      exitCode: 0,
    });
  });

  afterEach(async () => {
    await db.drop();
  });

  it('reads the keyring and the secrets the primary wrote', async () => {
    const get = await cli(['secrets', 'get', 'API_KEY'], { env: REPLICA_ENV, printsSecret: true });
    expect(get).toMatchObject({ exitCode: 0, stdout: stored, stderr: '' });
    const status = jsonOf<Status>(await cli(['status', '--json'], { env: REPLICA_ENV }));
    expect(status.dataKeysCount).toBe(1);
  });

  it('refuses every write with exit 6 and one line naming the primary, and writes nothing', async () => {
    const before = jsonOf<Status>(await cli(['status', '--json']));
    const writes: { argv: string[]; stdin?: string }[] = [
      { argv: ['keys', 'rotate'] },
      { argv: ['keys', 'rewrap'] },
      { argv: ['secrets', 'set', 'API_KEY'], stdin: secretValues.make('written-in-the-replica') },
      { argv: ['secrets', 'set', 'NEW_KEY'], stdin: secretValues.make('new-in-the-replica') },
      { argv: ['secrets', 'delete', 'API_KEY'] },
    ];
    for (const { argv, stdin } of writes) {
      const run = await cli(argv, { env: REPLICA_ENV, stdin });
      expect(run, argv.join(' ')).toMatchObject({ exitCode: 6, stdout: '' });
      const { code, message } = errorLineOf(run);
      expect(code, argv.join(' ')).toBe('KMS_REGION_READ_ONLY');
      expect(message, argv.join(' ')).toContain(PRIMARY);
      expect(message, argv.join(' ')).toContain('run the command there');
    }
    expect(jsonOf<Status>(await cli(['status', '--json']))).toEqual(before);
    const get = await cli(['secrets', 'get', 'API_KEY'], { printsSecret: true });
    expect(get).toMatchObject({ exitCode: 0, stdout: stored });
    const created = await cli(['secrets', 'get', 'NEW_KEY'], { printsSecret: true });
    expect(created.exitCode).toBe(3);
  });

  it('says how to name the primary when KMS_REGION_PRIMARY is not set', async () => {
    const run = await cli(['keys', 'rotate'], { env: { KMS_REGION_ROLE: 'replica' } });
    expect(run).toMatchObject({ exitCode: 6, stdout: '' });
    expect(errorLineOf(run).message).toContain('KMS_REGION_PRIMARY');
  });
});

describeLeakScan(
  'printed no secret value (except secrets get) and no stack trace',
  secretValues,
  10,
);
