/**
 * A request refused before Nest sees it (while its body is read, or by the HTTP parser): a
 * plain Error, because body-parser copies fields onto what it catches, with the `status` it
 * keeps. KmsErrorFilter answers it as `{ code, message }`.
 */
export class RefusedRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = RefusedRequestError.name;
  }
}
