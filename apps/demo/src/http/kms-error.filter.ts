import {
  type ArgumentsHost,
  Catch,
  HttpException,
  Logger,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { DataKeyNotReplicatedError, NestKmsError, RegionReadOnlyError } from '@nest-kms/kms';
import { ApiError } from './api-error.js';
import { clientError, type ErrorAnswer } from './client-error.js';
import { routePattern, type DemoRequest } from './demo-request.js';

/** Library errors a client caused or can act on. Everything else is a 500. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  // @nest-kms/kms
  KMS_MALFORMED_ENVELOPE: 400,
  KMS_INVALID_INPUT: 400,
  KMS_AAD_MISMATCH: 422,
  // A secret's or a column's envelope handed to POST /decrypt.
  KMS_ENVELOPE_PURPOSE_MISMATCH: 422,
  KMS_LEGACY_ENVELOPE_REFUSED: 422,
  KMS_DECRYPTION_FAILED: 422,
  KMS_DATA_KEY_NOT_FOUND: 422,
  // A replica region behind on replication: the same request succeeds once the key arrives.
  KMS_DATA_KEY_NOT_REPLICATED: 503,
  // A write in a replica region: refused here for good; the body's `primary` takes it.
  KMS_REGION_READ_ONLY: 409,
  KMS_COLUMN_DECRYPTION_FAILED: 422,
  // Refused for a while by threat detection's response (or an operator); audited.
  KMS_ACTOR_BLOCKED: 403,
  KMS_NOT_INITIALIZED: 503,
  DATABASE_UNAVAILABLE: 503,
  // @nest-kms/secrets
  SECRET_INVALID_INPUT: 400,
  SECRET_INVALID_BACKUP: 400,
  SECRET_NOT_FOUND: 404,
  SECRET_VERSION_NOT_FOUND: 404,
  SECRET_DELETED: 410,
  SECRET_EXPIRED: 410,
  SECRET_INVALID_STATE: 409,
  SECRET_RESTORE_CONFLICT: 409,
  SECRET_AUDIT_FAILED: 503,
  // @nest-kms/config (CONFIG_INVALID and CONFIG_UNKNOWN_KEY are start-up or programming errors)
  CONFIG_NOT_LOADED: 503,
};

/** Seconds a client waits before retrying a call refused for replication lag (Retry-After). */
const REPLICATION_RETRY_AFTER_SECONDS = '1';

/**
 * Maps errors to HTTP: typed client errors answer 4xx with their code and message (library
 * messages never carry values); anything else is a 500 with an `errorId` the log line carries
 * too. No stack trace reaches a response.
 */
@Catch()
export class KmsErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(KmsErrorFilter.name);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const answer = this.answer(error, http.getRequest<DemoRequest>());
    const { httpAdapter } = this.adapterHost;
    const response: unknown = http.getResponse();
    for (const [name, value] of Object.entries(answer.headers ?? {})) {
      httpAdapter.setHeader(response, name, value);
    }
    httpAdapter.reply(response, answer.body, answer.status);
  }

  private answer(error: unknown, request: DemoRequest): ErrorAnswer {
    if (error instanceof NestKmsError && STATUS_BY_CODE[error.code] !== undefined) {
      return {
        status: STATUS_BY_CODE[error.code],
        body: {
          code: error.code,
          message: error.message,
          // Where to send the write, as the replica's configuration names it (or null).
          ...(error instanceof RegionReadOnlyError ? { primary: error.primary } : {}),
        },
        ...(error instanceof DataKeyNotReplicatedError
          ? { headers: { 'Retry-After': REPLICATION_RETRY_AFTER_SECONDS } }
          : {}),
      };
    }
    if (error instanceof ApiError) {
      return { status: error.getStatus(), body: error.body, headers: error.headers };
    }
    if (error instanceof HttpException && error.getStatus() < 500)
      return clientError(error, request);
    if (error instanceof HttpException && isHealthReport(error)) {
      return {
        status: error.getStatus(),
        body: {
          code: 'UNHEALTHY',
          message: 'A dependency is down',
          ...(error.getResponse() as object),
        },
      };
    }
    const errorId = randomUUID();
    this.logger.error({
      event: 'unexpected_error',
      errorId,
      method: request.method,
      route: routePattern(request),
      type: error instanceof Error ? error.name : typeof error,
      code: error instanceof NestKmsError ? error.code : undefined,
      // Only library messages are known to be free of values; a driver's may quote a row.
      message: error instanceof NestKmsError ? error.message : undefined,
    });
    return {
      status: 500,
      body: { code: 'INTERNAL', message: 'Internal error; the log has the details', errorId },
    };
  }
}

/** Terminus answers a failed health check with 503 and its per-indicator report. */
function isHealthReport(error: HttpException): boolean {
  const response = error.getResponse();
  return (
    error.getStatus() === 503 &&
    typeof response === 'object' &&
    (response as { status?: unknown }).status === 'error'
  );
}
