import { getDataSourceToken } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request, { type Response } from 'supertest';
import type { DataSource } from 'typeorm';
import { createDemoApp, type DemoApplication } from '../../apps/demo/src/demo-app.js';
import type { DemoEnvironment } from '../../apps/demo/src/demo-environment.js';
import { CapturedLogger } from './captured-logger.js';
import { createTestDatabase, databaseEnv, type Engine, type TestDatabase } from './databases.js';
import type { DemoTranscript } from './demo-transcript.js';
import { newMasterKey } from './kms-fixture.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

export interface DemoCall {
  /** A JSON body. */
  body?: unknown;
  /** A body sent as is, labelled application/json (malformed JSON). */
  raw?: string;
  /** The bearer token; null sends no Authorization header. @default the app's admin token */
  token?: string | null;
  /** A whole Authorization header instead of `token`. */
  authorization?: string;
  /** The X-Owner-Id header. */
  owner?: string;
  /** This answer shows a value by design (a secret read, a decryption): left out of the leak scan. */
  reveals?: boolean;
}

export interface DemoTestApp {
  readonly app: DemoApplication;
  readonly env: DemoEnvironment;
  readonly dataSource: DataSource;
  /** One HTTP request through supertest; its answer is recorded for the leak scan. */
  call(method: HttpMethod, path: string, options?: DemoCall): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The settings of a demo app on `db`: a fresh master key, a random admin token (remembered by
 * `transcript`) and a DATA_DIR of its own (removeDataDir() deletes it). Start apps with the
 * same settings to "restart". The HTTP platform is the HTTP_ADAPTER of the test run's own
 * environment (`HTTP_ADAPTER=fastify npx vitest run test/demo-…` runs a suite on Fastify),
 * else Express; `overrides` may name one.
 */
export function demoEnvironment(
  db: TestDatabase,
  transcript: DemoTranscript,
  overrides: DemoEnvironment = {},
): DemoEnvironment {
  return {
    NODE_ENV: 'test',
    KMS_MASTER_KEY: newMasterKey(),
    ADMIN_TOKEN: transcript.value('admin-token'),
    ...databaseEnv(db),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'nest-kms-demo-')),
    HTTP_ADAPTER: process.env.HTTP_ADAPTER,
    ...overrides,
  };
}

/** The demo app exactly as main.ts builds it (createDemoApp), logging to a CapturedLogger. */
export async function startDemoApp(
  env: DemoEnvironment,
  transcript: DemoTranscript,
): Promise<DemoTestApp> {
  const app = await createDemoApp({ env, logger: new CapturedLogger() });
  const server = app.getHttpServer();
  return {
    app,
    env,
    dataSource: app.get<DataSource>(getDataSourceToken()),
    async call(method, path, options = {}) {
      let test = request(server)[method](path);
      const token = options.token === undefined ? env.ADMIN_TOKEN : options.token;
      if (options.authorization !== undefined) {
        test = test.set('Authorization', options.authorization);
      } else if (token !== null && token !== undefined) {
        test = test.set('Authorization', `Bearer ${token}`);
      }
      if (options.owner !== undefined) test = test.set('X-Owner-Id', options.owner);
      if (options.raw !== undefined)
        test = test.set('Content-Type', 'application/json').send(options.raw);
      else if (options.body !== undefined) test = test.send(options.body as object);
      const response = await test;
      transcript.record(`${method.toUpperCase()} ${path}`, response.text, options.reveals === true);
      return response;
    },
    close: () => app.close(),
  };
}

/**
 * For a describe block: the demo on a fresh `engine` database, started before its tests; after
 * them it is closed, the database dropped and `transcript` checked for leaks. The returned app
 * forwards to the one started (use it inside tests and hooks only). `overrides` go to
 * demoEnvironment (`{ HTTP_ADAPTER: 'fastify' }`).
 */
export function demoForSuite(
  engine: Engine,
  transcript: DemoTranscript,
  overrides: DemoEnvironment = {},
): DemoTestApp {
  let db: TestDatabase | undefined;
  let started: DemoTestApp | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(engine);
    started = await startDemoApp(demoEnvironment(db, transcript, overrides), transcript);
  });
  afterAll(async () => {
    await started?.close();
    await db?.drop();
    if (started) removeDataDir(started.env);
    transcript.assertNoLeaks();
  });
  const current = (): DemoTestApp => {
    if (!started) throw new Error('the demo app is used outside its suite');
    return started;
  };
  return {
    get app() {
      return current().app;
    },
    get env() {
      return current().env;
    },
    get dataSource() {
      return current().dataSource;
    },
    call: (method, path, options) => current().call(method, path, options),
    close: () => current().close(),
  };
}

/** Runs SQL written with `?` placeholders on either engine. */
export function query(
  dataSource: DataSource,
  sql: string,
  parameters: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  let at = 0;
  const text = dataSource.options.type === 'postgres' ? sql.replace(/\?/g, () => `$${++at}`) : sql;
  return dataSource.query(text, parameters);
}

/** A random name for a secret or an owner, unique in the run. */
export const uniqueName = (label: string): string => `${label}-${randomBytes(6).toString('hex')}`;

/** The same settings with no ADMIN_TOKEN variable. */
export const withoutAdminToken = (env: DemoEnvironment): DemoEnvironment => ({
  ...env,
  ADMIN_TOKEN: undefined,
});

export function removeDataDir(env: DemoEnvironment): void {
  if (env.DATA_DIR) rmSync(env.DATA_DIR, { recursive: true, force: true });
}

/**
 * Sends raw bytes (requests no HTTP client would send) to the app's server, listening on a free
 * port for the call, and reads the whole answer.
 */
export async function rawExchange(server: Server, raw: string): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(port, '127.0.0.1', () => socket.end(raw, 'latin1'));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
