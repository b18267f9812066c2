import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

/** One answered request, as the HTTP platform reports it. */
export interface AnsweredRequest {
  method: string;
  /** The route pattern, never the path: a path may hold a secret's name or a note id. */
  route: string | undefined;
  status: number;
}

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

  /** Counts a response, including those refused before routing (`route` then `unmatched`). */
  countAnswer({ method, route, status }: AnsweredRequest): void {
    this.httpRequests.inc({ method, route: route ?? 'unmatched', status: String(status) });
  }
}
