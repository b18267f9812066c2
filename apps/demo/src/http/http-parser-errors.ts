import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

const answer = (status: string, code: string, message: string): string => {
  const body = JSON.stringify({ code, message });
  return (
    `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
};

const HEADERS_TOO_LARGE = answer(
  '431 Request Header Fields Too Large',
  'HEADERS_TOO_LARGE',
  'The request headers are larger than the server accepts',
);
const MALFORMED_REQUEST = answer(
  '400 Bad Request',
  'MALFORMED_REQUEST',
  'The request is not valid HTTP',
);

/**
 * A request Node's HTTP parser refuses (headers over its limit, a NUL in the path, a broken
 * request line) never reaches the HTTP platform; Node would answer it with an empty body and
 * Fastify with its own. This answer carries the demo's `{ code, message }` like every other
 * error. Fastify takes it as its `clientErrorHandler`.
 */
export function answerHttpParserError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  socket.end(error.code === 'HPE_HEADER_OVERFLOW' ? HEADERS_TOO_LARGE : MALFORMED_REQUEST);
}

/** answerHttpParserError for every refusal of `server`'s parser (Express's server). */
export function answerHttpParserErrors(server: Server): void {
  server.on('clientError', answerHttpParserError);
}
