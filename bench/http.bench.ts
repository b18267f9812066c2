/**
 * The demo over HTTP on Express and on Fastify: requests per second of `POST /encrypt` (1 KiB
 * plaintext, a caller token) and of a cached `GET /secrets/:name` (the admin token), each
 * against its floor on the same server in the same round:
 *
 *   floor — a bare route this bench adds beside the demo's (never in the demo itself), behind
 *           the same platform setup: security headers, request counting, the JSON parser and
 *           its shape check for a body, validation pipe, exception filter. `POST /bench/bare`
 *           takes the same 1 KiB body as /encrypt; `GET /bench/bare` takes nothing.
 *
 * A ratio (route ÷ floor) is what the demo's route costs on top of the platform and Nest; the
 * floors side by side are what each platform costs. Both apps run in this process on SQLite
 * (neither route touches the database once warm: the active data key and the secret are
 * cached); the load comes from a child process (a keep-alive http.Agent loop, BENCH_HTTP_CONNECTIONS
 * requests in flight), so client and server each have a core of their own on two.
 *
 *   npm run build:packages && npx nest build bench && node dist/bench/bench/http.bench.js
 *   BENCH_ROUNDS=5 BENCH_HTTP_SECONDS=5 BENCH_HTTP_CONNECTIONS=16 node dist/bench/bench/http.bench.js
 *                              (defaults: 3 rounds of 3 s per task, after 1 s of warm-up each and a
 *                              first pass of 2 s per task; 8 connections)
 *
 * Not a test: nothing here asserts on time. The checks are that every answer is a 200, that the
 * bodies are what the route answers (an envelope that decrypts, the secret's value), and that
 * the secret reads missed no cache during the run, so a broken route cannot post a figure.
 */
import 'reflect-metadata';
import { Body, ConsoleLogger, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createDemoApp, type DemoApplication } from '../apps/demo/src/demo-app.js';
import {
  alignedTable,
  createBenchSqliteFile,
  formatOps,
  median,
  positiveInt,
  printMachine,
} from './bench-support.js';

const ADAPTERS = ['express', 'fastify'] as const;
type Adapter = (typeof ADAPTERS)[number];
type Case = 'encrypt' | 'secret';
type Implementation = 'floor' | 'demo';

const ROUNDS = positiveInt('BENCH_ROUNDS', 3);
const SECONDS = positiveInt('BENCH_HTTP_SECONDS', 3);
const CONNECTIONS = positiveInt('BENCH_HTTP_CONNECTIONS', 8);
const WARM_UP_MS = 1_000;
const SECRET_NAME = 'BENCH_HTTP_SECRET';

/** One load: the same request, over and over, CONNECTIONS at a time. */
interface LoadSpec {
  port: number;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  durationMs: number;
}

interface LoadResult {
  answered: number;
  /** Answers other than 200, and request errors: any makes the run fail. */
  failed: number;
  firstFailure?: string;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

/** The floor: nothing but what the platform and Nest do for any route. */
@Controller('bench')
class BareController {
  @Get('bare')
  read(): { ok: true } {
    return { ok: true };
  }

  @Post('bare')
  @HttpCode(200)
  write(@Body() _body: unknown): { ok: true } {
    return { ok: true };
  }
}

async function main(): Promise<void> {
  const sqlite = ADAPTERS.map(() => createBenchSqliteFile());
  const apps = await Promise.all(
    ADAPTERS.map((adapter, at) => startDemo(adapter, sqlite[at].database)),
  );
  const generator = fork(fileURLToPath(import.meta.url), ['--load-generator'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    printMachine(
      `load: ${CONNECTIONS} keep-alive connections from a child process, ${SECONDS} s per task after ${WARM_UP_MS / 1000} s of warm-up, ${ROUNDS} rounds`,
      `body of POST /encrypt and POST /bench/bare: ${Buffer.byteLength(encryptBody())} bytes of JSON (1 KiB plaintext)`,
    );
    // JIT and caches: the first task measured after start-up ran at half speed without this.
    for (const started of apps) {
      for (const [, , spec] of tasks(started)) {
        await measure(generator, { ...spec, durationMs: WARM_UP_MS * 2 });
      }
    }
    const runs = new Map<string, LoadResult[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const started of apps) {
        for (const [kase, implementation, spec] of tasks(started)) {
          const key = `${started.adapter}/${kase}/${implementation}`;
          await measure(generator, { ...spec, durationMs: WARM_UP_MS });
          const result = await measure(generator, { ...spec, durationMs: SECONDS * 1000 });
          if (result.failed > 0) {
            throw new Error(`${key}: ${result.failed} failed requests (${result.firstFailure})`);
          }
          runs.set(key, [...(runs.get(key) ?? []), result]);
        }
      }
    }
    for (const started of apps) await started.checkNoCacheMiss();
    process.stdout.write(report(runs));
  } finally {
    generator.kill();
    for (const started of apps) await started.app.close();
    for (const file of sqlite) file.remove();
  }
}

interface StartedDemo {
  adapter: Adapter;
  app: DemoApplication;
  port: number;
  adminToken: string;
  callerToken: string;
  checkNoCacheMiss(): Promise<void>;
}

/** The demo on `adapter`, listening on a free port, with a caller token and a cached secret. */
async function startDemo(adapter: Adapter, database: string): Promise<StartedDemo> {
  const adminToken = randomBytes(24).toString('base64url');
  const app = await createDemoApp({
    env: {
      NODE_ENV: 'test',
      HTTP_ADAPTER: adapter,
      KMS_MASTER_KEY: randomBytes(32).toString('base64'),
      ADMIN_TOKEN: adminToken,
      SQLITE_PATH: database,
      DATA_DIR: `${database}.data`,
    },
    logger: new ConsoleLogger('demo', { logLevels: ['error', 'fatal'] }),
    extraControllers: [BareController],
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const admin = { authorization: `Bearer ${adminToken}` };
  const issued = await call(port, 'POST', '/callers/bench/token', admin);
  const callerToken = (issued as { token: string }).token;
  const value = randomBytes(24).toString('base64url');
  await call(port, 'PUT', `/secrets/${SECRET_NAME}`, admin, JSON.stringify({ value }));
  const read = (await call(port, 'GET', `/secrets/${SECRET_NAME}`, admin)) as { value: string };
  if (read.value !== value) throw new Error(`${adapter}: GET /secrets answered another value`);
  const caller = { authorization: `Bearer ${callerToken}` };
  const sealed = await call(port, 'POST', '/encrypt', caller, encryptBody());
  const opened = await call(port, 'POST', '/decrypt', caller, JSON.stringify(sealed));
  if ((opened as { plaintext: string }).plaintext !== plaintext()) {
    throw new Error(`${adapter}: POST /encrypt answered an envelope that does not decrypt`);
  }
  const misses = async () =>
    ((await call(port, 'GET', '/status', {})) as { cacheMisses: number }).cacheMisses;
  const missesBefore = await misses();
  return {
    adapter,
    app,
    port,
    adminToken,
    callerToken,
    async checkNoCacheMiss() {
      const after = await misses();
      if (after !== missesBefore) {
        throw new Error(`${adapter}: ${after - missesBefore} secret reads missed the cache`);
      }
    },
  };
}

/** Each case's floor and demo route, in the order a round runs them. */
function tasks(started: StartedDemo): [Case, Implementation, Omit<LoadSpec, 'durationMs'>][] {
  const json = { 'content-type': 'application/json' };
  const caller = { ...json, authorization: `Bearer ${started.callerToken}` };
  const admin = { authorization: `Bearer ${started.adminToken}` };
  const { port } = started;
  const body = encryptBody();
  return [
    ['encrypt', 'floor', { port, method: 'POST', path: '/bench/bare', headers: caller, body }],
    ['encrypt', 'demo', { port, method: 'POST', path: '/encrypt', headers: caller, body }],
    ['secret', 'floor', { port, method: 'GET', path: '/bench/bare', headers: admin }],
    ['secret', 'demo', { port, method: 'GET', path: `/secrets/${SECRET_NAME}`, headers: admin }],
  ];
}

const plaintext = (): string => 'p'.repeat(1024);
const encryptBody = (): string => JSON.stringify({ plaintext: plaintext() });

function measure(generator: ReturnType<typeof fork>, spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve) => {
    generator.once('message', (result) => resolve(result as LoadResult));
    generator.send(spec);
  });
}

/** One request, outside the load: its JSON answer, which must be a 200. */
function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode !== 200) {
            reject(new Error(`${method} ${path} answered ${response.statusCode}: ${text}`));
          } else resolve(JSON.parse(text));
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** In the child: CONNECTIONS loops, each sending the request again as soon as it is answered. */
async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  let answered = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const fail = (why: string) => {
    failed++;
    firstFailure ??= why;
  };
  const once = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const outgoing = request(
        {
          host: '127.0.0.1',
          port: spec.port,
          method: spec.method,
          path: spec.path,
          headers: spec.headers,
          agent,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            latencies.push(performance.now() - sent);
            if (response.statusCode === 200) answered++;
            else
              fail(
                `${response.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`,
              );
            resolve();
          });
        },
      );
      outgoing.on('error', (error) => {
        fail(error.message);
        resolve();
      });
      outgoing.end(spec.body);
    });
  const started = performance.now();
  const deadline = started + spec.durationMs;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { answered, failed, firstFailure, seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

function report(runs: Map<string, LoadResult[]>): string {
  const rate = (result: LoadResult) => result.answered / result.seconds;
  const range = (values: number[], format: (value: number) => string) =>
    `${format(Math.min(...values))}–${format(Math.max(...values))}`;
  const ratioText = (value: number) => value.toFixed(2);
  const rows: string[][] = [];
  for (const adapter of ADAPTERS) {
    for (const kase of ['encrypt', 'secret'] as const) {
      const floor = runs.get(`${adapter}/${kase}/floor`) ?? [];
      const demo = runs.get(`${adapter}/${kase}/demo`) ?? [];
      // Per round: the route and its floor were measured one after the other.
      const ratios = demo.map((result, round) => rate(floor[round]) / rate(result));
      rows.push([
        adapter,
        kase === 'encrypt' ? 'POST /encrypt (1 KiB)' : 'GET /secrets/:name (cached)',
        formatOps(median(demo.map(rate))),
        range(demo.map(rate), formatOps),
        formatOps(median(floor.map(rate))),
        range(floor.map(rate), formatOps),
        ratioText(median(ratios)),
        range(ratios, ratioText),
        median(demo.map((result) => result.p50Ms)).toFixed(2),
        median(demo.map((result) => result.p99Ms)).toFixed(2),
      ]);
    }
  }
  const express = (kase: Case, implementation: Implementation) =>
    median((runs.get(`express/${kase}/${implementation}`) ?? []).map(rate));
  const fastify = (kase: Case, implementation: Implementation) =>
    median((runs.get(`fastify/${kase}/${implementation}`) ?? []).map(rate));
  const platformRows = (['encrypt', 'secret'] as const).flatMap((kase) =>
    (['floor', 'demo'] as const).map((implementation) => [
      `${kase === 'encrypt' ? 'POST' : 'GET'} ${implementation === 'floor' ? '/bench/bare' : kase === 'encrypt' ? '/encrypt' : '/secrets/:name'}`,
      ratioText(fastify(kase, implementation) / express(kase, implementation)),
    ]),
  );
  return [
    '',
    'req/s: median of the rounds and range; floor ÷ route = how many times slower the route is than a bare route on the same server (median of per-round ratios, range); latency of the route (median of rounds)',
    alignedTable(
      [
        'adapter',
        'route',
        'req/s',
        'range',
        'floor req/s',
        'range',
        'floor÷route',
        'range',
        'p50 ms',
        'p99 ms',
      ],
      rows,
      [2, 3, 4, 5, 6, 7, 8, 9],
    ),
    'Fastify ÷ Express (median req/s)',
    alignedTable(['request', 'fastify÷express'], platformRows, [1]),
  ].join('\n');
}

// Last, once every constant above is initialised.
if (process.argv.includes('--load-generator')) {
  process.on('message', (spec: LoadSpec) => {
    void generateLoad(spec).then((result) => process.send?.(result));
  });
} else {
  await main();
}
