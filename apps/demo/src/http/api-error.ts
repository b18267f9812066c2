import { HttpException } from '@nestjs/common';

/** An HTTP error of the demo itself, with a stable `code` clients can switch on. */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    /** More fields of the response body (never values the client did not send as keys). */
    readonly details: Readonly<Record<string, unknown>> = {},
    /** Response headers of the answer (a `WWW-Authenticate` challenge). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message, status);
  }

  get body(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}
