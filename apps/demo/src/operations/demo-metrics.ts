import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Registry } from 'prom-client';

/** The demo's own metrics, in a registry per application (tests run several in one process). */
@Injectable()
export class DemoMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  /** Express middleware counting every response, including those refused before routing. */
  countRequests() {
    return (request: Request, response: Response, next: NextFunction): void => {
      response.once('finish', () => {
        this.httpRequests.inc({
          method: request.method,
          // The pattern, never the path: a path may hold a secret's name or a note id.
          route: (request.route as { path?: string } | undefined)?.path ?? 'unmatched',
          status: String(response.statusCode),
        });
      });
      next();
    };
  }
}
