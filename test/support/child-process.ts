import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rolldown, type Plugin } from 'rolldown';
import { afterAll, onTestFinished } from 'vitest';
import { DAY_MS } from './clock.js';
import { PG_URL, type TestDatabase } from './databases.js';

/*
 * Runs project code in real, separate Node processes. A TypeScript entry is bundled once per
 * test process with rolldown (project sources only: every package and node: builtin stays an
 * import of the installed copy), then started as often as a test needs. Every child started
 * here is SIGKILLed when the test that started it finishes (or the file, for children started
 * in a hook), and when the test process exits.
 */

/** The repository root (where tsconfig.json and node_modules are). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The KMS replica child entry (test/children/kms-replica.ts). */
export const KMS_REPLICA_ENTRY = join(PROJECT_ROOT, 'test/children/kms-replica.ts');

/**
 * Bundles live here, next to a `node_modules` symlink to the project's, so the bundles' bare
 * imports resolve to the installed packages. One directory per checkout, shared by every
 * vitest worker: each bundle is written under a unique name and renamed into place.
 */
const BUNDLE_DIR = join(tmpdir(), `nest-kms-children-${digest(PROJECT_ROOT)}`);

interface BuiltBundle {
  path: string;
  /** The project files bundled, with the mtime each had: any change means a rebuild. */
  sources: [file: string, mtimeMs: number][];
}

/** Per test process: vitest re-imports this module for every test file, so not a module variable. */
const bundles = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('nest-kms.test.child-bundles')
] ??= new Map<string, Promise<BuiltBundle>>()) as Map<string, Promise<BuiltBundle>>;

/**
 * Bundles a TypeScript entry (tsconfig paths, legacy decorators with design:* metadata) into one
 * ESM file under os.tmpdir(); resolves with its path. Cached per entry for this test process
 * until one of the bundled source files changes (watch mode). Concurrent calls share one build.
 */
export async function bundleChildEntry(entryTsPath: string): Promise<string> {
  const entry = resolve(entryTsPath);
  const cached = bundles.get(entry);
  if (cached !== undefined) {
    const built = await cached.catch(() => undefined);
    if (built !== undefined && unchanged(built)) return built.path;
    // Failed or stale. Another call may have started the rebuild while we looked: share it.
    if (bundles.get(entry) !== cached) return bundleChildEntry(entry);
  }
  const building = buildBundle(entry);
  bundles.set(entry, building);
  building.catch(() => {
    if (bundles.get(entry) === building) bundles.delete(entry);
  });
  return (await building).path;
}

function unchanged(built: BuiltBundle): boolean {
  return built.sources.every(([file, mtimeMs]) => {
    try {
      return statSync(file).mtimeMs === mtimeMs;
    } catch {
      return false;
    }
  });
}

async function buildBundle(entry: string): Promise<BuiltBundle> {
  prepareBundleDir();
  // Taken before the sources are read: a file edited while we bundle counts as changed.
  const began = Date.now();
  const build = await rolldown({
    input: entry,
    cwd: PROJECT_ROOT,
    platform: 'node',
    tsconfig: join(PROJECT_ROOT, 'tsconfig.json'),
    // Decorators come from tsconfig.json (experimentalDecorators, emitDecoratorMetadata), as
    // for tsc; setting transform.decorator as well only draws a configuration-conflict warning.
    plugins: [externalPackages()],
    onLog(level, log, handler) {
      // Any warning (an unresolved import, a missing export, an eval) fails the build.
      if (level === 'warn') handler('error', log);
      else handler(level, log);
    },
  });
  let code: string;
  let moduleIds: string[];
  try {
    const { output } = await build.generate({
      format: 'esm',
      codeSplitting: false,
      keepNames: true,
      sourcemap: 'inline',
      // Stack traces name the project's files wherever the bundle lives.
      sourcemapPathTransform: (source, map) => pathToFileURL(resolve(dirname(map), source)).href,
    });
    if (output.length !== 1 || output[0].type !== 'chunk') {
      throw new Error(`bundling ${entry} produced ${output.length} files, expected one chunk`);
    }
    code = output[0].code;
    moduleIds = output[0].moduleIds;
  } finally {
    await build.close();
  }
  // Nest DI and TypeORM read design:paramtypes: refuse a bundle of Nest code without it (legacy
  // decorators off, or their metadata), rather than let a child fail on "can't resolve (?)".
  if (/\bInjectable\(/.test(code) && !code.includes('"design:paramtypes"')) {
    throw new Error(
      `bundling ${entry}: no design:paramtypes metadata in the bundle; ` +
        'check experimentalDecorators / emitDecoratorMetadata in tsconfig.json',
    );
  }
  // Named by entry and content: a path always holds the same code, whichever worker wrote it.
  const name = `${basename(entry).replace(/\.[cm]?tsx?$/, '')}-${digest(entry)}`;
  const target = join(BUNDLE_DIR, `${name}-${digest(code)}.mjs`);
  const temporary = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, code);
  renameSync(temporary, target);
  removeOldBundles(name, target);
  const sources = moduleIds
    .filter((id) => isAbsolute(id) && !/[\\/]node_modules[\\/]/.test(id))
    .map((file): [string, number] => {
      const { mtimeMs } = statSync(file);
      return [file, mtimeMs >= began ? -1 : mtimeMs];
    });
  return { path: target, sources };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** Builds of the same entry over a day old: no test is still about to start them. */
function removeOldBundles(name: string, keep: string): void {
  const dayAgo = Date.now() - DAY_MS;
  for (const file of readdirSync(BUNDLE_DIR)) {
    const path = join(BUNDLE_DIR, file);
    if (!file.startsWith(`${name}-`) || path === keep) continue;
    try {
      if (statSync(path).mtimeMs < dayAgo) rmSync(path, { force: true });
    } catch {
      // removed by another worker meanwhile
    }
  }
}

/** Creates the bundle directory and its node_modules symlink (atomically, race-safe). */
function prepareBundleDir(): void {
  mkdirSync(BUNDLE_DIR, { recursive: true });
  const link = join(BUNDLE_DIR, 'node_modules');
  const modules = join(PROJECT_ROOT, 'node_modules');
  try {
    if (readlinkSync(link) === modules) return;
  } catch {
    // absent (or not a link): made below
  }
  const temporary = `${link}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  symlinkSync(modules, temporary, 'dir');
  try {
    renameSync(temporary, link);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Keeps every bare import that resolves into node_modules (or is a builtin) as an import of the
 * package, so the child loads the installed copy exactly as the app would. tsconfig path
 * aliases (@nest-kms/*) resolve into the project and are bundled.
 */
function externalPackages(): Plugin {
  return {
    name: 'nest-kms:external-packages',
    async resolveId(source, importer, options) {
      if (source.startsWith('\0') || source.startsWith('.') || isAbsolute(source)) return null;
      if (source.startsWith('node:') || isBuiltin(source)) return { id: source, external: true };
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      if (resolved === null) return null;
      if (resolved.external || /[\\/]node_modules[\\/]/.test(resolved.id)) {
        return { id: source, external: true };
      }
      return resolved;
    },
  };
}

/** A stdout line of a child: its JSON object when it is one with an `event`, else the raw text. */
export type ChildEvent = { readonly event: string; readonly [field: string]: unknown };
export type ChildLine = ChildEvent | string;

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartChildOptions {
  /** The child's whole environment, besides PATH, HOME, TMPDIR and NODE_ENV (copied from ours). */
  env?: Record<string, string | undefined>;
  /** Arguments after the script (e.g. the action and its operands). */
  args?: readonly string[];
  /** Node options before the script. @default ['--enable-source-maps'] */
  nodeArgs?: readonly string[];
}

export interface ChildHandle {
  readonly pid: number;
  /** A short name for messages: the bundle and its arguments. */
  readonly label: string;
  /** Every stdout line so far, in order (a partial last line only after exit). */
  readonly lines: readonly ChildLine[];
  /** The lines that are events. */
  events(name?: string): ChildEvent[];
  /** Everything the child wrote to stderr so far (capped at its last 1 MiB). */
  stderr(): string;
  /**
   * The first event (already received or still to come) that matches: an event name or a
   * predicate. Rejects, with the child's stderr tail, when it exits or the time runs out first.
   */
  waitFor(
    match: string | ((event: ChildEvent) => boolean),
    timeoutMs?: number,
  ): Promise<ChildEvent>;
  /** Sends a signal (no-op once exited). */
  kill(signal?: NodeJS.Signals): void;
  /** Closes the child's stdin (the replica treats that as a request to stop). */
  closeStdin(): void;
  /** Settles when the child has exited and its output has been read. Never rejects. */
  readonly exited: Promise<ChildExit>;
}

const DEFAULT_WAIT_MS = 20_000;
const STDERR_CAP = 1024 * 1024;
const STDERR_TAIL = 4_000;

/** Every child still running, per test process (shared by the test files a worker runs). */
const running: Set<ChildProcess> = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('nest-kms.test.children')
] ??= registerExitGuard(new Set<ChildProcess>())) as Set<ChildProcess>;

/** No child outlives the test process, however it ends. */
function registerExitGuard(children: Set<ChildProcess>): Set<ChildProcess> {
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
  return children;
}

/** Starts `node <bundlePath> ...args` with only the given environment (plus the basics). */
export function startChild(bundlePath: string, options: StartChildOptions = {}): ChildHandle {
  const args = options.args ?? [];
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR'] as const) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  env.NODE_ENV = process.env.NODE_ENV ?? 'test';
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? ['--enable-source-maps']), bundlePath, ...args],
    { env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  running.add(child);
  const label = `${basename(bundlePath)} ${args.join(' ')}`.trim();

  const lines: ChildLine[] = [];
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of listeners) listener();
  };

  let pending = '';
  const takeLine = (line: string): void => {
    lines.push(parseLine(line));
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    if (newline < 0) return;
    while (newline >= 0) {
      takeLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    notify();
  });

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > STDERR_CAP) stderr = stderr.slice(-STDERR_CAP);
  });
  // The child may be gone before we write or close stdin.
  child.stdin.on('error', () => undefined);

  let exit: ChildExit | undefined;
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  const exited = new Promise<ChildExit>((resolveExit) => {
    child.on('close', (code, signal) => {
      if (pending !== '') takeLine(pending);
      pending = '';
      exit = { code, signal };
      running.delete(child);
      notify();
      resolveExit(exit);
    });
  });

  const stderrTail = (): string => {
    const tail = stderr.length > STDERR_TAIL ? `…${stderr.slice(-STDERR_TAIL)}` : stderr;
    return tail === '' ? '(stderr empty)' : `stderr:\n${tail}`;
  };

  const handle: ChildHandle = {
    pid: child.pid ?? -1,
    label,
    lines,
    events: (name) =>
      lines.filter(
        (line): line is ChildEvent =>
          typeof line !== 'string' && (name === undefined || line.event === name),
      ),
    stderr: () => stderr,
    waitFor(match, timeoutMs = DEFAULT_WAIT_MS) {
      const predicate =
        typeof match === 'string' ? (event: ChildEvent) => event.event === match : match;
      const wanted = typeof match === 'string' ? `event "${match}"` : 'a matching event';
      let scanned = 0;
      return new Promise<ChildEvent>((resolveWait, rejectWait) => {
        const finish = (outcome: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          outcome();
        };
        const check = (): void => {
          for (; scanned < lines.length; scanned++) {
            const line = lines[scanned];
            if (typeof line !== 'string' && predicate(line)) {
              const found = line;
              finish(() => resolveWait(found));
              return;
            }
          }
          if (exit !== undefined) {
            const how = spawnError
              ? `failed to start (${spawnError.message})`
              : `exited (code ${exit.code}, signal ${exit.signal})`;
            finish(() =>
              rejectWait(new Error(`child ${label} ${how} before ${wanted}; ${stderrTail()}`)),
            );
          }
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              rejectWait(
                new Error(
                  `child ${label} sent no ${wanted} within ${timeoutMs} ms; ${stderrTail()}`,
                ),
              ),
            ),
          timeoutMs,
        );
        listeners.add(check);
        check();
      });
    },
    kill(signal = 'SIGKILL') {
      if (exit === undefined && child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
    },
    closeStdin() {
      child.stdin.end();
    },
    exited,
  };

  try {
    // Inside a test: gone when the test finishes, whatever its outcome.
    onTestFinished(async () => {
      handle.kill('SIGKILL');
      await exited;
    });
  } catch {
    // Started from a hook: the afterAll below (or the caller's killAllChildren) ends it.
  }
  return handle;
}

function parseLine(line: string): ChildLine {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (!text.startsWith('{')) return text;
  try {
    const value: unknown = JSON.parse(text);
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { event?: unknown }).event === 'string'
    ) {
      return value as ChildEvent;
    }
  } catch {
    // not JSON (e.g. cut short by a kill): kept as text
  }
  return text;
}

/** Sends `signal` to every child still running and waits until they have all exited. */
export async function killAllChildren(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolveClose) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            running.delete(child);
            resolveClose();
            return;
          }
          child.once('close', () => resolveClose());
          child.kill(signal);
        }),
    ),
  );
}

// Children started in a hook outlive no test file.
afterAll(() => killAllChildren());

/** The KMS replica's database environment (KMS_TEST_DB_TYPE, KMS_TEST_DB) for a test database. */
export function replicaDatabaseEnv(db: TestDatabase): Record<string, string> {
  const connection = db.connection;
  if (connection.type === 'postgres') {
    const url = connection.url;
    if (url === undefined) throw new Error('a Postgres test database without url');
    return { KMS_TEST_DB_TYPE: 'postgres', KMS_TEST_DB: url, KMS_TEST_PG_URL: PG_URL };
  }
  return { KMS_TEST_DB_TYPE: 'sqlite', KMS_TEST_DB: String(connection.database) };
}
