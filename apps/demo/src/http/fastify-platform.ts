import fastifyHelmet from '@fastify/helmet';
import { HttpException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { createRequire } from 'node:module';
import { clientError } from './client-error.js';
import type { DemoPlatform } from './demo-platform.js';
import { routePattern } from './demo-request.js';
import { REQUEST_BODY_LIMIT_BYTES } from './http.constants.js';
import { answerHttpParserError } from './http-parser-errors.js';
import { inflateJsonBody, parseJsonBody } from './json-body.js';

/**
 * Longest route parameter: the whole request line fits in Node's header limit, so this bounds
 * nothing Express would take. find-my-way's default (100) answers 414 to a 128-character
 * secret name.
 */
const MAX_PARAM_LENGTH = 16 * 1024;

const securityHeaders = helmet();

/**
 * The router refuses a malformed URL (a broken percent-encoding) before any hook runs, so
 * before @fastify/helmet's and outside Nest's exception filter: answered here, with the same
 * headers and the same `{ code, message }` as Express's URIError.
 */
function answerRouterError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  securityHeaders(request.raw, reply.raw, () => undefined);
  const cause = error.code === 'FST_ERR_BAD_URL' ? new URIError(error.message) : error;
  const refusal = new HttpException(error.message, error.statusCode ?? 400, { cause });
  const { status, body } = clientError(refusal, request);
  void reply.code(status).send(body);
}

/** Whether `name` can be imported from here. */
function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The demo on Fastify (@nestjs/platform-fastify), answering as it does on Express: the same
 * security headers (@fastify/helmet with helmet's defaults), routes matched as Express matches
 * them, JSON bodies parsed and bounded as body-parser does for the demo, the same answers to
 * malformed HTTP.
 */
export const fastifyPlatform: DemoPlatform = {
  // SwaggerModule serves the UI's assets on Fastify through @fastify/static and exits the
  // process without it: the UI is turned on only where it is installed (the demo installs it),
  // while /docs-json and /docs-yaml are served either way.
  servesOpenApiUi: installed('@fastify/static'),

  create: (module, options) =>
    NestFactory.create<NestFastifyApplication>(
      module,
      new FastifyAdapter({
        bodyLimit: REQUEST_BODY_LIMIT_BYTES,
        clientErrorHandler: answerHttpParserError,
        frameworkErrors: answerRouterError,
        // Express's defaults: any letter case, with or without a trailing slash.
        routerOptions: {
          caseSensitive: false,
          ignoreTrailingSlash: true,
          maxParamLength: MAX_PARAM_LENGTH,
        },
      }),
      // Fastify's own parsers are replaced in configure().
      { ...options, bodyParser: false },
    ),

  async configure(nest, metrics) {
    const app = nest as NestFastifyApplication;
    // Security headers on every answer, refusals included (an onRequest hook).
    await app.register(fastifyHelmet);
    const fastify = app.getHttpAdapter().getInstance();
    // Fastify routes a request before it parses the body, Express after: a request counts
    // under its route once its body is parsed (preValidation), as on Express, so a refused
    // body is `unmatched` on both.
    const parsed = new WeakSet<FastifyRequest>();
    fastify.addHook('preValidation', (request, _reply, done) => {
      parsed.add(request);
      done();
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      metrics.countAnswer({
        method: request.method,
        route: parsed.has(request) ? routePattern(request) : undefined,
        status: reply.statusCode,
      });
      done();
    });
    // Fastify's JSON parser refuses `__proto__` keys, which the libraries must see (their own
    // checks refuse or keep them), and has no shape check; its text parser hands on strings.
    fastify.addHook('preParsing', (request, _reply, payload, done) => {
      try {
        done(null, inflateJsonBody(request.headers, payload));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: REQUEST_BODY_LIMIT_BYTES },
      (request, body, done) => {
        try {
          done(null, parseJsonBody(body as Buffer, request.headers['content-type']));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    // Express leaves any other body unread: the handler sees none and answers INVALID_BODY.
    fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  },

  // Fastify adds its routes and plugins when ready, which listen() would otherwise wait for.
  async ready(nest) {
    await (nest as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  },
};
