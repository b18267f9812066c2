import type { ExecutionContext, Logger } from '@nestjs/common';
import { routePattern, type DemoRequest } from '../http/demo-request.js';
import { ApiError } from '../http/api-error.js';

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
}

/**
 * A refused bearer token: logged as `event` with why (never the token), answered 401
 * UNAUTHORIZED with a `WWW-Authenticate` challenge. Returns the error to throw.
 */
export function refuseBearer(
  http: ReturnType<ExecutionContext['switchToHttp']>,
  logger: Logger,
  refusal: { event: string; reason: string; message: string },
): ApiError {
  const request = http.getRequest<DemoRequest>();
  logger.warn({
    event: refusal.event,
    reason: refusal.reason,
    method: request.method,
    route: routePattern(request),
  });
  return new ApiError(
    401,
    'UNAUTHORIZED',
    refusal.message,
    {},
    { 'WWW-Authenticate': 'Bearer realm="nest-kms-demo"' },
  );
}
