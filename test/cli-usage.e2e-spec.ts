import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_SUITE_OPTIONS, describeLeakScan, errorLineOf, runCli } from './support/cli-runner.js';

/*
 * What the CLI says about itself and about command lines it cannot run: help on stdout with
 * exit 0; every usage error exactly one line on stderr, exit 2, stdout empty, nothing opened.
 */

const TYPED_SECRET = `typed-${randomBytes(12).toString('hex')}`;
const MASTER_KEY = randomBytes(32).toString('base64');

let dir: string;
/** A master key and a database path, so that only the command line can be at fault. */
let env: Record<string, string>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nest-kms-cli-usage-'));
  env = { KMS_MASTER_KEY: MASTER_KEY, SQLITE_PATH: join(dir, 'never-created.sqlite') };
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('nest-kms help', CLI_SUITE_OPTIONS, () => {
  it('--help lists every command, the environment and the exit codes', async () => {
    // A process of its own: help reaches a real stdout and the process exits 0.
    const run = await runCli(['--help'], { spawn: true });
    expect(run).toMatchObject({ exitCode: 0, stderr: '' });
    for (const command of [
      'keygen',
      'status',
      'keys rotate',
      'keys rotate-master',
      'keys rewrap',
      'secrets list',
      'secrets get NAME',
      'secrets set NAME',
      'secrets rotate NAME',
      'secrets delete NAME',
      'secrets import [NAME...]',
      'backup export',
      'backup import FILE',
    ]) {
      expect(run.stdout).toMatch(new RegExp(`^  ${command.replace(/[.[\]]/g, '\\$&')}\\s`, 'm'));
    }
    expect(run.stdout).toContain('KMS_NEW_MASTER_KEY');
    for (const code of [0, 1, 2, 3, 4, 5])
      expect(run.stdout).toMatch(new RegExp(`^  ${code}  `, 'm'));
    expect((await runCli(['help'])).stdout).toBe(run.stdout);
  });

  it('a command and a group have their own help', async () => {
    const set = await runCli(['secrets', 'set', '--help']);
    expect(set).toMatchObject({ exitCode: 0, stderr: '' });
    expect(set.stdout).toMatch(/^usage: nest-kms secrets set NAME \[options\]$/m);
    expect(set.stdout).toMatch(/^ {2}--from-env VAR\s+read the value/m);
    expect(set.stdout).toMatch(/^ {2}--db PATH\|URL\s/m);

    const keys = await runCli(['help', 'keys']);
    expect(keys.stdout).toMatch(/^ {2}keys rewrap\s+move every envelope/m);
  });
});

describe('usage errors', CLI_SUITE_OPTIONS, () => {
  it.each([
    { argv: [], says: 'no command given' },
    { argv: ['frobnicate'], says: 'unknown command' },
    { argv: [TYPED_SECRET], says: 'unknown command' },
    { argv: ['secrets'], says: 'secrets needs a subcommand' },
    { argv: ['secrets', 'peek'], says: 'unknown secrets subcommand' },
    { argv: ['secrets', 'get'], says: 'secrets get needs NAME' },
    { argv: ['secrets', 'set', 'API_KEY', TYPED_SECRET], says: 'never read from the command line' },
    {
      argv: ['secrets', 'get', 'API_KEY', `--value=${TYPED_SECRET}`],
      says: "Unknown option '--value'",
    },
    { argv: ['secrets', 'list', '--tag'], says: "Option '--tag <value>' argument missing" },
    { argv: ['status', '--json=yes'], says: "Option '--json' does not take an argument" },
    { argv: ['keygen', '--db', 'x.sqlite'], says: "Unknown option '--db'" },
    { argv: ['keygen', 'extra'], says: 'keygen takes no operands' },
    { argv: ['keys', 'rewrap', '--batch-size', '0'], says: '--batch-size takes a whole number' },
    { argv: ['secrets', 'set', 'API_KEY', '--tag', 'no-equals'], says: '--tag takes KEY=VALUE' },
  ])('nest-kms $argv: exit 2, one line naming the problem', async ({ argv, says }) => {
    const run = await runCli(argv, { env, stdin: `${TYPED_SECRET}\n` });
    expect(run).toMatchObject({ exitCode: 2, stdout: '' });
    expect(run.stderr.endsWith('\n')).toBe(true);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    const { code, message } = errorLineOf(run);
    expect(code).toBe('USAGE');
    expect(message).toContain(says);
    expect(message).toMatch(/\(see nest-kms --help\)$/);
    // Refused before anything was opened.
    expect(existsSync(env.SQLITE_PATH)).toBe(false);
  });

  it('a database named wrongly for the environment is a usage error too', async () => {
    const notPostgres = await runCli(['status'], {
      env: { KMS_MASTER_KEY: MASTER_KEY, DATABASE_URL: 'mysql://db/app' },
    });
    expect(notPostgres.exitCode).toBe(2);
    expect(errorLineOf(notPostgres).code).toBe('KMS_CONFIGURATION');

    // In production a forgotten DATABASE_URL must not quietly start a private SQLite keyring.
    const production = await runCli(['status'], {
      env: { KMS_MASTER_KEY: MASTER_KEY, NODE_ENV: 'production' },
    });
    expect(production.exitCode).toBe(2);
    expect(errorLineOf(production).message).toContain('set DATABASE_URL');
  });

  it('a database that does not answer: exit 1, one line, the password masked', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    // A process of its own: a client left from the failed start-up must not keep it alive.
    const run = await runCli(['status', '--db', `postgres://kms:${password}@127.0.0.1:1/kms`], {
      env: { KMS_MASTER_KEY: MASTER_KEY },
      spawn: true,
    });
    expect(run).toMatchObject({ exitCode: 1, stdout: '' });
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(errorLineOf(run).code).toBe('ECONNREFUSED');
    expect(run.stderr).not.toContain(password);
  });

  it.each([
    ['an unknown option with terminal escapes', ['status', '--\u001b[2J\u001b[31mred']],
    ['a missing file with a newline and escapes', ['backup', 'import', '\u001b[31mx\nforged: ok']],
    ['a file name of 10 KB', ['backup', 'import', `\u001b[0m${'x'.repeat(10_240)}`]],
  ])('%s: the error line shows it quoted, bounded and escaped', async (_, argv) => {
    const run = await runCli(argv, { env });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr.endsWith('\n')).toBe(true);
    const line = run.stderr.slice(0, -1);
    expect(line.replace(/…/g, '')).toMatch(/^[\x20-\x7e]+$/);
    expect(line.length).toBeLessThan(800);
    expect(errorLineOf(run).message).toContain('\\u001b');
  });

  it('an invalid KMS_MASTER_KEY exits 5 and is not echoed', async () => {
    const run = await runCli(['status'], { env: { ...env, KMS_MASTER_KEY: TYPED_SECRET } });
    expect(run).toMatchObject({ exitCode: 5, stdout: '' });
    expect(errorLineOf(run).code).toBe('KMS_INVALID_MASTER_KEY');
    expect(existsSync(env.SQLITE_PATH)).toBe(false);
  });
});

describeLeakScan(
  'echoed no value typed on the command line or stdin, printed no stack trace',
  [TYPED_SECRET, MASTER_KEY],
  15,
);
