import { RefusedRequestError } from './refused-request.error.js';

/** Deepest nesting a body may have: the demo's deepest field (an envelope, a tag map) is 2. */
export const MAX_JSON_DEPTH = 16;
/** Most values (object members and array items) a body may hold: 50 tags need 52. */
export const MAX_JSON_VALUES = 1_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * body-parser's `verify` for JSON: one pass over the raw bytes, before JSON.parse and long
 * before class-transformer (which recurses once per level, and walks every key), refuses a
 * body nested deeper than MAX_JSON_DEPTH or holding more than MAX_JSON_VALUES values. Only
 * UTF-8 is read (RFC 8259): in it these ASCII bytes never occur inside a multi-byte character.
 */
export function checkJsonBodyShape(
  _request: unknown,
  _response: unknown,
  body: Buffer,
  encoding: string | null,
): void {
  if (encoding !== null && encoding.toLowerCase().replace('-', '') !== 'utf8') {
    throw new RefusedRequestError(
      'UNSUPPORTED_CHARSET',
      'A JSON body must be UTF-8 (Content-Type: application/json; charset=utf-8)',
      415,
    );
  }
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let at = 0; at < body.length; at++) {
    const byte = body[at];
    if (inString) {
      if (byte === BACKSLASH) at++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new RefusedRequestError(
          'JSON_TOO_DEEP',
          `The request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
        );
      }
      values++;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    } else if (byte === COMMA && ++values > MAX_JSON_VALUES) {
      throw new RefusedRequestError(
        'JSON_TOO_MANY_VALUES',
        `The request body holds more than ${MAX_JSON_VALUES} values`,
      );
    }
  }
}
