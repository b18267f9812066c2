import { ConsoleLogger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type {
  NestExpressApplication,
  NestExpressBodyParserOptionsFor,
} from '@nestjs/platform-express';
import helmet from 'helmet';
import { AppModule } from './app.module.js';
import type { DemoEnvironment } from './demo-environment.js';
import { REQUEST_BODY_LIMIT_BYTES } from './http/http.constants.js';
import { answerHttpParserErrors } from './http/http-parser-errors.js';
import { checkJsonBodyShape } from './http/json-body-shape.js';
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
    // Security headers on every answer, refusals included; no X-Powered-By.
    app.use(helmet());
    app.use(app.get(DemoMetrics).countRequests());
    // Nest's type leaves out `verify` because `rawBody: true` replaces it; this app has no rawBody.
    const json = { limit: REQUEST_BODY_LIMIT_BYTES, verify: checkJsonBodyShape };
    app.useBodyParser('json', json as NestExpressBodyParserOptionsFor<'json'>);
    answerHttpParserErrors(app.getHttpServer());
    app.useGlobalPipes(new RequestValidationPipe());
    setupOpenApi(app);
    return await app.init();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
}
