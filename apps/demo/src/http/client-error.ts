import type { HttpException } from '@nestjs/common';
import { REQUEST_BODY_LIMIT_BYTES } from './http.constants.js';
import { quotedInput } from '@nest-kms/kms';
import { requestPath, type DemoRequest } from './demo-request.js';
import { RefusedRequestError } from './refused-request.error.js';

export interface ErrorAnswer {
  status: number;
  body: Record<string, unknown>;
  headers?: Readonly<Record<string, string>>;
}

/** Fixed messages: the platforms' and parsers' own quote the path, the charset or the body. */
const ANSWER_BY_STATUS: Readonly<Record<number, readonly [code: string, message: string]>> = {
  400: ['BAD_REQUEST', 'The request is malformed'],
  401: ['UNAUTHORIZED', 'Authentication is required'],
  403: ['FORBIDDEN', 'The request is not allowed'],
  405: ['METHOD_NOT_ALLOWED', 'The method is not allowed here'],
  413: ['PAYLOAD_TOO_LARGE', `The request body is larger than ${REQUEST_BODY_LIMIT_BYTES} bytes`],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'The request body must be UTF-8 JSON without a content encoding'],
};

/**
 * The answer to a 4xx that Nest or the HTTP platform raised (an unknown route, a body that is
 * not JSON, too large, too deep): a stable code and a message that quotes nothing of the
 * request but a bounded, escaped path.
 */
export function clientError(error: HttpException, request: DemoRequest): ErrorAnswer {
  const status = error.getStatus();
  const cause = error.cause;
  if (cause instanceof RefusedRequestError) {
    return { status: cause.status, body: { code: cause.code, message: cause.message } };
  }
  // JSON.parse's message quotes the body, which may be a secret.
  if (cause instanceof SyntaxError && status === 400) {
    return {
      status,
      body: { code: 'MALFORMED_JSON', message: 'The request body is not valid JSON' },
    };
  }
  if (cause instanceof URIError && status === 400) {
    return {
      status,
      body: { code: 'MALFORMED_PATH', message: 'The path holds an invalid percent-encoding' },
    };
  }
  if (status === 404) {
    return {
      status,
      body: {
        code: 'NOT_FOUND',
        message: `No route ${request.method} ${quotedInput(requestPath(request))}`,
      },
    };
  }
  const [code, message] = ANSWER_BY_STATUS[status] ?? ['HTTP_ERROR', `HTTP ${status}`];
  return { status, body: { code, message } };
}
