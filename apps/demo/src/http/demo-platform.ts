import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import type { IEntryNestModule } from '@nestjs/core';
import type { Server } from 'node:http';
import type { HttpAdapterName } from '../demo-environment.js';
import type { DemoMetrics } from '../operations/demo-metrics.js';

/** The demo application on either HTTP platform: what main.ts, tests and benches use of it. */
export type DemoApplication = INestApplication<Server>;

/**
 * What differs between the HTTP platforms: everything that sits in front of Nest (security
 * headers, request counting, the JSON body parser, answers to malformed HTTP). Controllers, guards, pipes and the exception filter are the same on both.
 */
export interface DemoPlatform {
  create(module: IEntryNestModule, options: NestApplicationOptions): Promise<DemoApplication>;
  /** Called before `app.init()`, so that hooks and parsers apply to every route. */
  configure(app: DemoApplication, metrics: DemoMetrics): Promise<void>;
  /** Called after `app.init()`: the server answers requests without listen() (supertest). */
  ready(app: DemoApplication): Promise<void>;
  /** Whether /docs serves the Swagger UI (its assets need a static file server). */
  readonly servesOpenApiUi: boolean;
}

/** The platform `name`, imported only when chosen: neither loads the other's packages. */
export async function loadDemoPlatform(name: HttpAdapterName): Promise<DemoPlatform> {
  return name === 'fastify'
    ? (await import('./fastify-platform.js')).fastifyPlatform
    : (await import('./express-platform.js')).expressPlatform;
}
