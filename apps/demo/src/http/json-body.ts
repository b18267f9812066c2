import { BadRequestException, HttpException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { checkJsonBodyShape } from './json-body-shape.js';
import { RefusedRequestError } from './refused-request.error.js';

const FIRST_NON_WHITESPACE = /^[ \t\n\r]*(.)/s;

/**
 * A JSON body (already inflated: inflateJsonBody) parsed as Express's body-parser parses it for
 * the demo, for platforms without body-parser (Fastify): a charset not starting `utf-` is
 * refused 415, an empty body is `{}`, only an object or an array is accepted (`strict`), the shape is checked
 * on the raw bytes (checkJsonBodyShape) before JSON.parse. Every refusal is an HttpException
 * whose cause KmsErrorFilter answers like body-parser's, so both platforms answer the same.
 */
export function parseJsonBody(body: Buffer, contentType: string | undefined): unknown {
  const charset = charsetOf(contentType) ?? 'utf-8';
  if (!charset.startsWith('utf-')) throw new UnsupportedMediaTypeException();
  try {
    checkJsonBodyShape(undefined, undefined, body, charset);
  } catch (error) {
    if (!(error instanceof RefusedRequestError)) throw error;
    throw new HttpException(error.message, error.status, { cause: error });
  }
  if (body.length === 0) return {};
  const text = body.toString('utf8');
  try {
    const first = FIRST_NON_WHITESPACE.exec(text)?.[1];
    if (first !== '{' && first !== '[') throw new SyntaxError('not an object or an array');
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BadRequestException(undefined, { cause: error });
  }
}

/** The lower-cased `charset` parameter of a Content-Type, if any. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^\s;]*))/i.exec(contentType ?? '');
  const charset = match?.[1] ?? match?.[2];
  return charset === undefined || charset === '' ? undefined : charset.toLowerCase();
}

const DECOMPRESSORS: Readonly<Record<string, () => Transform>> = {
  deflate: createInflate,
  gzip: createGunzip,
  br: createBrotliDecompress,
};

/**
 * The body of a JSON request inflated as body-parser inflates it (`deflate`, `gzip`, `br`;
 * another Content-Encoding is refused 415), for a Fastify `preParsing` hook: the body limit
 * then applies to the inflated bytes, and `receivedEncodedLength` lets Fastify check the
 * Content-Length against the bytes that arrived. Other bodies are left as they are.
 */
export function inflateJsonBody(
  headers: IncomingHttpHeaders,
  payload: Readable,
): Readable & { receivedEncodedLength?: number } {
  const encoding = (headers['content-encoding'] ?? 'identity').toLowerCase();
  const mediaType = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (encoding === 'identity' || mediaType !== 'application/json') return payload;
  const decompressor = DECOMPRESSORS[encoding];
  if (decompressor === undefined) throw new UnsupportedMediaTypeException();
  const decompressing = decompressor();
  const inflated = Object.assign(new PassThrough(), { receivedEncodedLength: 0 });
  payload.on('data', (chunk: Buffer) => (inflated.receivedEncodedLength += chunk.length));
  payload.on('error', (error) => inflated.destroy(error));
  // A body that does not inflate is a client's fault (400), as body-parser answers it.
  decompressing.on('error', (error) =>
    inflated.destroy(new BadRequestException(undefined, { cause: error })),
  );
  payload.pipe(decompressing).pipe(inflated);
  return inflated;
}
