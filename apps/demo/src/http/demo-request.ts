import type { IncomingHttpHeaders } from 'node:http';

/** What the demo reads of a request: the same fields on Express and on Fastify. */
export interface DemoRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * The route pattern a request matched (`/secrets/:name`), never its path (which may hold a
 * secret's name or a note id): Express's `route.path` or Fastify's `routeOptions.url`;
 * undefined when no route matched, or none was reached yet.
 */
export function routePattern(request: object): string | undefined {
  const { route, routeOptions } = request as {
    route?: { path?: unknown };
    routeOptions?: { url?: unknown };
  };
  const pattern = route?.path ?? routeOptions?.url;
  return typeof pattern === 'string' ? pattern : undefined;
}

/** The path as the client sent it (still percent-encoded), without the query. */
export function requestPath(request: DemoRequest): string {
  // Express rewrites `url` inside routers; `originalUrl` is what arrived.
  const url = (request as { originalUrl?: string }).originalUrl ?? request.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
