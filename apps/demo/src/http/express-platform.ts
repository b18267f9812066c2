import { NestFactory } from '@nestjs/core';
import type {
  NestExpressApplication,
  NestExpressBodyParserOptionsFor,
} from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { DemoPlatform } from './demo-platform.js';
import { routePattern } from './demo-request.js';
import { REQUEST_BODY_LIMIT_BYTES } from './http.constants.js';
import { answerHttpParserErrors } from './http-parser-errors.js';
import { checkJsonBodyShape } from './json-body-shape.js';

/** The demo on Express (@nestjs/platform-express), the default. */
export const expressPlatform: DemoPlatform = {
  servesOpenApiUi: true,

  create: (module, options) =>
    NestFactory.create<NestExpressApplication>(module, {
      ...options,
      // Registered in configure(), after the request counter, so refused bodies are counted too.
      bodyParser: false,
    }),

  configure(nest, metrics) {
    const app = nest as NestExpressApplication;
    // Security headers on every answer, refusals included; no X-Powered-By.
    app.use(helmet());
    app.use((request: Request, response: Response, next: NextFunction) => {
      response.once('finish', () =>
        metrics.countAnswer({
          method: request.method,
          route: routePattern(request),
          status: response.statusCode,
        }),
      );
      next();
    });
    // Nest's type leaves out `verify` because `rawBody: true` replaces it; this app has no rawBody.
    const json = { limit: REQUEST_BODY_LIMIT_BYTES, verify: checkJsonBodyShape };
    app.useBodyParser('json', json as NestExpressBodyParserOptionsFor<'json'>);
    answerHttpParserErrors(app.getHttpServer());
    return Promise.resolve();
  },

  ready: () => Promise.resolve(),
};
