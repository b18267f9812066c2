import {
  type ArgumentsHost,
  Catch,
  HttpException,
  Logger,
  type ExceptionFilter,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { KmsError } from '@nest-kms/kms';

const CLIENT_ERRORS: Record<string, number> = {
  KMS_MALFORMED_ENVELOPE: 400,
  KMS_INVALID_INPUT: 400,
  KMS_AAD_MISMATCH: 422,
  KMS_DECRYPTION_FAILED: 422,
  KMS_DATA_KEY_NOT_FOUND: 422,
};

/**
 * Maps library errors to HTTP: typed client errors answer 4xx with their code and message
 * (which never carry secrets); anything else is a 500 with an id the log carries too.
 * No stack trace reaches a response.
 */
@Catch()
export class KmsErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(KmsErrorFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof KmsError && CLIENT_ERRORS[error.code]) {
      response.status(CLIENT_ERRORS[error.code]).json({ code: error.code, message: error.message });
      return;
    }
    if (error instanceof HttpException && error.getStatus() < 500) {
      response.status(error.getStatus()).json({ code: 'HTTP_ERROR', message: error.message });
      return;
    }
    const errorId = randomUUID();
    this.logger.error({
      event: 'unexpected_error',
      errorId,
      code: error instanceof KmsError ? error.code : undefined,
      type: error instanceof Error ? error.name : typeof error,
    });
    response.status(500).json({ code: 'INTERNAL', message: 'Internal error', errorId });
  }
}
