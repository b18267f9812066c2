import 'reflect-metadata';
import { writeSync } from 'node:fs';
import {
  ConsoleLogger,
  Injectable,
  Module,
  type DynamicModule,
  type INestApplicationContext,
  type LogLevel,
} from '@nestjs/common';
import { ModuleRef, NestFactory } from '@nestjs/core';
import {
  KmsModule,
  KmsService,
  type KmsConnectionOptions,
  type KmsModuleOptions,
} from '@nest-kms/kms';
import { SecretsModule, SecretsService, type SecretsModuleOptions } from '@nest-kms/secrets';

/*
 * A nest-kms "replica" in its own process, for tests that kill processes (see
 * test/support/child-process.ts, which bundles and starts it).
 *
 *   node kms-replica.mjs <action> [operands...]
 *
 * Configuration comes from the environment only:
 *   KMS_TEST_DB_TYPE  postgres | sqlite
 *   KMS_TEST_DB       Postgres: a postgres:// URL, or a database name on KMS_TEST_PG_URL's server
 *                     (default postgres://postgres@127.0.0.1:5432); SQLite: the file path
 *   KMS_MASTER_KEY, KMS_MASTER_KEY_PREVIOUS, ...  left for KmsModule to read itself
 *   KMS_TEST_KMS_OPTIONS      more KmsModule.forRoot options, as JSON (e.g.
 *                             {"rotation":{"checkIntervalMs":0},"reencryption":{"auto":false}});
 *                             the connection is always the one above
 *   KMS_TEST_SECRETS_OPTIONS  SecretsModule.forRoot options, as JSON
 *   KMS_TEST_LOG      Nest log levels to print (JSON, on stderr), comma-separated; default
 *                     "error,warn,log"; "none" for none
 *
 * stdout carries only JSON lines, one per event: {"event":"ready",...} once the application
 * has started, then the action's events, then {"event":"done",...} just before exit 0. A
 * failure is {"event":"error",...} and exit 1. SIGTERM or the end of stdin asks the replica to
 * stop: the action ends at its next step, the application closes, and it exits 0.
 *
 * To add an action, add an entry to ACTIONS: it receives the Replica (KmsService, SecretsService,
 * ModuleRef for anything else, emit, stopping) and its operands; what it returns is added to
 * its "action-done" event. Emit an event only after the work it reports is durable: the parent
 * may SIGKILL at any moment and treats every event it read as done.
 */

type Fields = Record<string, unknown>;

/** Milliseconds from process start until every import had loaded (most of a boot). */
const loadedMs = Math.round(performance.now());

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes one event line on stdout, synchronously: once this returns the line is in the pipe and
 * reaches the parent even if we are SIGKILLed next (process.stdout is asynchronous on pipes).
 */
function emit(event: string, fields: Fields = {}): void {
  const line = Buffer.from(`${JSON.stringify({ event, ...fields })}\n`, 'utf8');
  let written = 0;
  while (written < line.length) {
    try {
      written += writeSync(1, line, written);
    } catch (error) {
      // A non-blocking pipe that is full: wait a moment for the parent to read.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Nest's log lines as JSON on stderr, so stdout stays one event per line. */
class StderrJsonLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack, params);
  }
}

function logLevels(): LogLevel[] {
  const setting = process.env.KMS_TEST_LOG ?? 'error,warn,log';
  if (setting === 'none' || setting === '') return [];
  return setting.split(',').map((level) => level.trim() as LogLevel);
}

function connectionFromEnv(): KmsConnectionOptions {
  const type = process.env.KMS_TEST_DB_TYPE;
  const database = process.env.KMS_TEST_DB;
  if (!database) throw new Error('KMS_TEST_DB is not set');
  if (type === 'sqlite') return { type: 'better-sqlite3', database };
  if (type === 'postgres') {
    if (database.includes('://')) return { type: 'postgres', url: database };
    const url = new URL(process.env.KMS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/');
    url.pathname = `/${database}`;
    return { type: 'postgres', url: url.toString() };
  }
  throw new Error(`KMS_TEST_DB_TYPE must be postgres or sqlite, not ${JSON.stringify(type)}`);
}

/** A JSON object from the environment variable `name` ({} when unset). */
function jsonOptions<T extends object>(name: string): Partial<T> {
  const text = process.env[name];
  if (text === undefined || text === '') return {};
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${name} must be a JSON object, got ${text}`);
  }
  return value as Partial<T>;
}

/** What an action works with. Resolved by Nest: its constructor injection checks DI works. */
@Injectable()
class Replica {
  /** Set by SIGTERM or the end of stdin: long actions stop at their next step. */
  stopping = false;
  private stopped: (() => void) | undefined;
  private readonly stopRequested = new Promise<void>((resolve) => (this.stopped = resolve));

  constructor(
    readonly kms: KmsService,
    readonly secrets: SecretsService,
    /** Any other provider an action needs: `moduleRef.get(Type, { strict: false })`. */
    readonly moduleRef: ModuleRef,
  ) {}

  readonly emit = emit;

  requestStop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    emit('stopping', { reason });
    this.stopped?.();
  }

  /** Resolves when a stop is requested. */
  untilStopRequested(): Promise<void> {
    return this.stopRequested;
  }
}

type Action = (replica: Replica, operands: string[]) => Promise<Fields | void>;

/** A non-negative integer operand. */
function count(operands: string[], index: number, name: string): number {
  const text = operands[index];
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`operand ${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

const ACTIONS: Record<string, Action> = {
  /** Stays up until asked to stop. */
  async ready(replica) {
    await replica.untilStopRequested();
  },

  /** `encrypt N`: N envelopes of test values, one event each. */
  async encrypt(replica, operands) {
    const n = count(operands, 0, 'N');
    let done = 0;
    for (; done < n && !replica.stopping; done++) {
      const plaintext = `plaintext-${done}-${process.pid}`;
      const envelope = await replica.kms.encryptData(plaintext);
      replica.emit('envelope', { index: done, envelope, plaintext });
    }
    return { encrypted: done };
  },

  /** `set-secrets N`: secrets s-<i> = value-<i>; an event after each has been stored. */
  async 'set-secrets'(replica, operands) {
    const n = count(operands, 0, 'N');
    let done = 0;
    for (; done < n && !replica.stopping; done++) {
      const name = `s-${done}`;
      const metadata = await replica.secrets.setSecret(name, `value-${done}`);
      replica.emit('secret-stored', {
        index: done,
        name,
        version: metadata.currentVersion,
        keyId: metadata.keyId,
      });
    }
    return { stored: done };
  },

  /**
   * `reencrypt BATCH`: one KmsService.reencrypt run with that batch size; a `progress` event per
   * batch (onProgress is called once the batch's transaction has committed). Not stoppable.
   */
  async reencrypt(replica, operands) {
    const batchSize = count(operands, 0, 'BATCH');
    if (batchSize === 0) throw new Error('operand BATCH must be at least 1');
    const result = await replica.kms.reencrypt({
      batchSize,
      onProgress: (progress) => replica.emit('progress', { ...progress }),
    });
    return { ...result };
  },
};

@Module({})
class ReplicaModule {
  static forEnv(): DynamicModule {
    return {
      module: ReplicaModule,
      imports: [
        KmsModule.forRoot({
          ...jsonOptions<KmsModuleOptions>('KMS_TEST_KMS_OPTIONS'),
          connection: connectionFromEnv(),
        }),
        SecretsModule.forRoot(jsonOptions<SecretsModuleOptions>('KMS_TEST_SECRETS_OPTIONS')),
      ],
      providers: [Replica],
    };
  }
}

/** Writes the last event and exits. */
function exitWith(code: number, event: string, fields: Fields): never {
  emit(event, fields);
  process.exit(code);
}

function describeError(error: unknown): Fields {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  return { message: String(error) };
}

async function main(): Promise<void> {
  const [actionName = 'ready', ...operands] = process.argv.slice(2);
  const action = Object.hasOwn(ACTIONS, actionName) ? ACTIONS[actionName] : undefined;
  if (action === undefined) {
    throw new Error(
      `unknown action ${JSON.stringify(actionName)}; known: ${Object.keys(ACTIONS).join(', ')}`,
    );
  }

  let replica: Replica | undefined;
  let stopEarly: string | undefined;
  const stop = (reason: string) => {
    if (replica) replica.requestStop(reason);
    else stopEarly ??= reason;
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  // The parent closing our stdin, or going away, also means stop.
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();

  const logger = new StderrJsonLogger('kms-replica', { json: true, logLevels: logLevels() });
  const app: INestApplicationContext = await NestFactory.createApplicationContext(
    ReplicaModule.forEnv(),
    { logger, abortOnError: false },
  );
  try {
    const started = app.get(Replica);
    replica = started;
    emit('ready', {
      pid: process.pid,
      action: actionName,
      loadedMs,
      uptimeMs: Math.round(performance.now()),
      status: started.kms.getStatus(),
    });
    if (stopEarly !== undefined) started.requestStop(stopEarly);
    const result = (await action(started, operands)) ?? {};
    emit('action-done', { action: actionName, stopped: started.stopping, ...result });
  } finally {
    await app.close();
  }
  exitWith(0, 'done', { action: actionName, uptimeMs: Math.round(performance.now()) });
}

main().catch((error: unknown) => {
  process.stderr.write(`kms-replica failed: ${error instanceof Error ? error.stack : error}\n`);
  try {
    emit('error', describeError(error));
  } finally {
    process.exit(1);
  }
});
