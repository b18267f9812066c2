import { ConsoleLogger, type LoggerService, type Type } from '@nestjs/common';
import { AppModule } from './app.module.js';
import { httpAdapterName, type DemoEnvironment } from './demo-environment.js';
import { loadDemoPlatform, type DemoApplication } from './http/demo-platform.js';
import { RequestValidationPipe } from './http/request-validation.js';
import { setupOpenApi } from './openapi.js';
import { DemoMetrics } from './operations/demo-metrics.js';

export type { DemoApplication } from './http/demo-platform.js';

export interface DemoAppOptions {
  /** The settings, as environment variables. @default process.env */
  env?: DemoEnvironment;
  /** @default JSON lines on stdout (Nest's ConsoleLogger with `json: true`) */
  logger?: LoggerService;
  /** Controllers served beside the demo's, behind the same platform setup (a bench's floor). */
  extraControllers?: Type[];
}

/**
 * The demo application on the HTTP platform HTTP_ADAPTER names (express, the default, or
 * fastify), created, configured and initialised (keyring loaded, configuration resolved, admin
 * token in place) but not listening: main.ts listens (listenDemoApp), tests hand its server to
 * supertest. Both get exactly this setup.
 */
export async function createDemoApp(options: DemoAppOptions = {}): Promise<DemoApplication> {
  const env = options.env ?? process.env;
  const platform = await loadDemoPlatform(httpAdapterName(env));
  const demo = AppModule.forRoot(env);
  const controllers = [...(demo.controllers ?? []), ...(options.extraControllers ?? [])];
  const module = { ...demo, controllers };
  const app = await platform.create(module, {
    logger: options.logger ?? new ConsoleLogger('demo', { json: true }),
    abortOnError: false,
  });
  try {
    await platform.configure(app, app.get(DemoMetrics));
    app.useGlobalPipes(new RequestValidationPipe());
    setupOpenApi(app, { ui: platform.servesOpenApiUi });
    await app.init();
    await platform.ready(app);
    return app;
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
}

/** Listens on every interface: Node's default, which Fastify replaces by localhost. */
export async function listenDemoApp(app: DemoApplication, port: number): Promise<void> {
  const fastify = app.getHttpAdapter().getType() === 'fastify';
  await (fastify ? app.listen(port, '::') : app.listen(port));
}
