import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { runCli as runCliEntry } from '../../apps/cli/src/cli.js';
import { PROJECT_ROOT, bundleChildEntry } from './child-process.js';
import { databaseEnv, type TestDatabase } from './databases.js';
import { startSecretsApp } from './secrets-fixture.js';

/*
 * Runs the operator CLI (apps/cli): argv, env, working directory and stdin in; exit code, stdout
 * and stderr out. By default through the CLI's own entry (runCli in apps/cli/src/cli.ts, which
 * main.ts calls with the real process's argv, env and streams) inside the test process: the same
 * code on the same databases, without loading Node, Nest and TypeORM anew for every command.
 * `spawn: true` runs the bundled main.ts as a separate Node process instead, for what only a
 * real process shows (its exit status, its stdio pipes, its working directory); the entry is
 * bundled once per test process by the child-process harness (bundleChildEntry), whose
 * startChild cannot write a child's stdin, so the process is spawned here.
 * Every run is kept in `cliTranscript` for the leak scan at the end of each spec file.
 */

export const CLI_ENTRY = join(PROJECT_ROOT, 'apps/cli/src/main.ts');

export interface CliRunOptions {
  /** The child's environment besides PATH, HOME, TMPDIR and NODE_ENV (undefined removes). */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed (closed at once when absent). */
  stdin?: string;
  /** The command prints a secret on purpose (keygen, secrets get): its stdout is not scanned. */
  printsSecret?: boolean;
  /** The working directory, for the default database path (default: an empty directory). */
  cwd?: string;
  /** Run `main.ts` as a separate Node process rather than the CLI's entry in this one. */
  spawn?: boolean;
}

export interface CliRun {
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly printsSecret: boolean;
}

/**
 * For the CLI suites' describe blocks: every run starts Nest and opens the database (a spawned
 * one loads Node, Nest and TypeORM too: 1-3 s on a busy machine), and a test makes up to ten.
 */
export const CLI_SUITE_OPTIONS = { timeout: 120_000 };

/** Every run of the current spec file (vitest loads this module once per file). */
export const cliTranscript: CliRun[] = [];

/** A working directory of no importance: a run that forgot its database never writes the repo's data/. */
const WORKING_DIR = mkdtempSync(join(tmpdir(), 'nest-kms-cli-cwd-'));
afterAll(() => rmSync(WORKING_DIR, { recursive: true, force: true }));

export async function runCli(
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  const env: Record<string, string> = { NODE_ENV: process.env.NODE_ENV ?? 'test' };
  for (const name of ['PATH', 'HOME', 'TMPDIR'] as const) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const cwd = options.cwd ?? WORKING_DIR;
  const stdin = options.stdin ?? '';
  const { exitCode, stdout, stderr } = options.spawn
    ? await spawnedRun(args, env, cwd, stdin)
    : await inProcessRun(args, env, cwd, stdin);
  const run: CliRun = {
    args,
    exitCode,
    stdout,
    stderr,
    printsSecret: options.printsSecret === true,
  };
  cliTranscript.push(run);
  return run;
}

type RunOutput = Pick<CliRun, 'exitCode' | 'stdout' | 'stderr'>;

async function spawnedRun(
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  stdin: string,
): Promise<RunOutput> {
  const bundle = await bundleChildEntry(CLI_ENTRY);
  const child = spawn(process.execPath, [bundle, ...args], {
    env,
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  try {
    // A run still going when its test ends (a failure, a timeout) does not outlive it.
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
  } catch {
    // Called from a hook: nothing to attach to.
  }
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined); // the CLI may exit without reading stdin
  child.stdin.end(stdin);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  return { exitCode, stdout, stderr };
}

/**
 * The CLI's entry with the run's argv, env, working directory and stdin. For the run, the test
 * process takes the run's environment and working directory (KmsModule reads the master key
 * from process.env; relative database paths resolve against the working directory), and
 * whatever is written to the process's own stdout and stderr counts as the run's output, as it
 * would in a process of its own: the leak scan sees every byte. Runs of one file never overlap
 * (vitest runs a file's tests one after another, each file in its own process).
 */
async function inProcessRun(
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  stdin: string,
): Promise<RunOutput> {
  let stdout = '';
  let stderr = '';
  const ownEnv = process.env;
  const ownCwd = process.cwd();
  const ownWrites = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture =
    (append: (text: string) => void): typeof process.stdout.write =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      done?.();
      return true;
    };
  process.env = { ...env };
  process.chdir(cwd);
  process.stdout.write = capture((text) => (stdout += text));
  process.stderr.write = capture((text) => (stderr += text));
  try {
    const exitCode = await runCliEntry({
      argv: args,
      env: process.env,
      stdin: Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]),
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    });
    return { exitCode, stdout, stderr };
  } finally {
    process.stdout.write = ownWrites.stdout;
    process.stderr.write = ownWrites.stderr;
    process.chdir(ownCwd);
    process.env = ownEnv;
  }
}

/** The keyring (and secrets tables) an application leaves in `db` on its first start. */
export async function startKeyringIn(db: TestDatabase, masterKey: string): Promise<void> {
  const app = await startSecretsApp(db, { masterKey });
  await app.close();
}

/** The CLI against one database with one master key, as an operator's shell would have it. */
export function cliOn(
  db: TestDatabase,
  masterKey: string,
): (args: readonly string[], options?: CliRunOptions) => Promise<CliRun> {
  return (args, options = {}) =>
    runCli(args, {
      ...options,
      env: { ...databaseEnv(db), KMS_MASTER_KEY: masterKey, ...options.env },
    });
}

/** stdout of a `--json` run, parsed; fails with the run's stderr when it did not succeed. */
export function jsonOf<T>(run: CliRun): T {
  if (run.exitCode !== 0) {
    throw new Error(`nest-kms ${run.args.join(' ')} exited ${run.exitCode}: ${run.stderr}`);
  }
  return JSON.parse(run.stdout) as T;
}

/** The one error line a failed run must print: `nest-kms: <CODE>: <message>`. */
export function errorLineOf(run: CliRun): { code: string; message: string } {
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  const match = /^nest-kms: ([A-Z][A-Z0-9_]*): (.+)$/.exec(lines.at(-1) ?? '');
  if (match === null) throw new Error(`no error line in stderr: ${JSON.stringify(run.stderr)}`);
  return { code: match[1], message: match[2] };
}

const STACK_FRAME = /^\s+at .+/m;

/** The secret values and master keys a suite makes, for its leak scan (leaksIn). */
export class SecretValues implements Iterable<string> {
  private readonly values = new Set<string>();

  /** A fresh value, recognisable in any output by its random part, remembered. */
  make(label: string): string {
    return this.add(`${label}-${randomBytes(12).toString('hex')}`);
  }

  add(value: string): string {
    this.values.add(value);
    return value;
  }

  [Symbol.iterator](): Iterator<string> {
    return this.values[Symbol.iterator]();
  }
}

/**
 * Runs that printed one of `secretValues` (where printing it is not the command's purpose) or
 * a stack trace, described for an assertion message; empty when there are none.
 */
export function leaksIn(runs: readonly CliRun[], secretValues: Iterable<string>): string[] {
  const values = [...secretValues];
  const leaks: string[] = [];
  for (const run of runs) {
    const streams = run.printsSecret
      ? { stderr: run.stderr }
      : { stdout: run.stdout, stderr: run.stderr };
    for (const [stream, text] of Object.entries(streams)) {
      const where = `nest-kms ${run.args.join(' ')} (${stream})`;
      if (STACK_FRAME.test(text)) leaks.push(`${where}: a stack trace`);
      for (const value of values) {
        if (text.includes(value)) leaks.push(`${where}: a secret value (${value.length} chars)`);
      }
    }
  }
  return leaks;
}

/**
 * The last block of a CLI spec file: once every test has run (more than `moreRunsThan` runs, so
 * a file whose runs went missing cannot pass empty), no run printed one of `secretValues` where
 * that is not its purpose, nor a stack trace.
 */
export function describeLeakScan(
  title: string,
  secretValues: Iterable<string>,
  moreRunsThan: number,
): void {
  describe('every run of this file', () => {
    it(title, () => {
      expect(cliTranscript.length).toBeGreaterThan(moreRunsThan);
      expect(leaksIn(cliTranscript, secretValues)).toEqual([]);
    });
  });
}
