import { ConsoleLogger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import type { DemoEnvironment } from './demo-environment.js';
import { REQUEST_BODY_LIMIT_BYTES } from './http/http.constants.js';
import { RequestValidationPipe } from './http/request-validation.js';
import { setupOpenApi } from './openapi.js';
import { DemoMetrics } from './operations/demo-metrics.js';

export interface DemoAppOptions {
  /** The settings, as environment variables. @default process.env */
  env?: DemoEnvironment;
  /** @default JSON lines on stdout (Nest's ConsoleLogger with `json: true`) */
  logger?: LoggerService;
}

/**
 * The demo application, created, configured and initialised (keyring loaded, configuration
 * resolved, admin token in place) but not listening: main.ts listens, tests hand it to
 * supertest. Both get exactly this setup.
 */
export async function createDemoApp(options: DemoAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(options.env ?? process.env),
    {
      logger: options.logger ?? new ConsoleLogger('demo', { json: true }),
      // Registered below, after the request counter, so refused bodies are counted too.
      bodyParser: false,
      abortOnError: false,
    },
  );
  try {
    app.use(app.get(DemoMetrics).countRequests());
    app.useBodyParser('json', { limit: REQUEST_BODY_LIMIT_BYTES });
    app.useGlobalPipes(new RequestValidationPipe());
    setupOpenApi(app);
    return await app.init();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
}
