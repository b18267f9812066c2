import { AES_256_GCM } from '../crypto/aes-256-gcm.js';
import { decodeCanonical } from '../crypto/base64.js';
import { MalformedEnvelopeError } from '../errors/malformed-envelope.error.js';
import {
  COMPACT_PREFIX,
  ENVELOPE_ALG,
  ENVELOPE_VERSION,
  KEY_ID_PATTERN,
  MAX_AAD_BYTES,
  MAX_PLAINTEXT_BYTES,
} from './envelope.constants.js';
import type { EnvelopeV1, ParsedEnvelope } from './envelope.interface.js';

const KNOWN_FIELDS = new Set(['v', 'alg', 'keyId', 'iv', 'tag', 'ciphertext', 'aad', 'timestamp']);
const TIMESTAMP_DIGITS = /^(?:0|[1-9][0-9]{0,15})$/;
type Encoding = 'base64' | 'base64url';

/**
 * Validates an untrusted envelope, object or compact string, field by field, before any
 * crypto runs. Every problem is a MalformedEnvelopeError naming the field; values are never
 * echoed.
 */
export function parseEnvelope(input: unknown): ParsedEnvelope {
  if (typeof input === 'string') return parseCompactEnvelope(input);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new MalformedEnvelopeError('envelope', 'must be an envelope object or a compact string');
  }
  const fields = input as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!KNOWN_FIELDS.has(name)) {
      throw new MalformedEnvelopeError('envelope', `has an unknown field "${name.slice(0, 40)}"`);
    }
  }
  if (fields.v !== ENVELOPE_VERSION) {
    throw new MalformedEnvelopeError(
      'v',
      `must be ${ENVELOPE_VERSION} (the only version this library reads)`,
    );
  }
  if (fields.alg !== ENVELOPE_ALG) {
    throw new MalformedEnvelopeError('alg', `must be "${ENVELOPE_ALG}"`);
  }
  const timestamp = fields.timestamp;
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new MalformedEnvelopeError(
      'timestamp',
      'must be a non-negative integer (milliseconds since the epoch)',
    );
  }
  return {
    keyId: checkKeyId(fields.keyId),
    timestamp,
    iv: decodeExact('iv', fields.iv, 'base64', AES_256_GCM.ivBytes),
    tag: decodeExact('tag', fields.tag, 'base64', AES_256_GCM.tagBytes),
    ciphertext: decodeBounded(
      'ciphertext',
      fields.ciphertext,
      'base64',
      MAX_PLAINTEXT_BYTES,
      false,
    ),
    aad:
      fields.aad === undefined
        ? undefined
        : decodeBounded('aad', fields.aad, 'base64', MAX_AAD_BYTES, true),
  };
}

/** Parses the compact form `kms1.<keyId>.<timestamp>.<iv>.<tag>.<ciphertext>[.<aad>]` (base64url). */
export function parseCompactEnvelope(text: string): ParsedEnvelope {
  const parts = text.split('.');
  if (parts.length !== 6 && parts.length !== 7) {
    throw new MalformedEnvelopeError(
      'envelope',
      'compact form must have 6 or 7 dot-separated parts',
    );
  }
  const [prefix, keyId, timestamp, iv, tag, ciphertext, aad] = parts;
  if (prefix !== COMPACT_PREFIX) {
    throw new MalformedEnvelopeError('v', `compact form must start with "${COMPACT_PREFIX}."`);
  }
  if (!TIMESTAMP_DIGITS.test(timestamp) || !Number.isSafeInteger(Number(timestamp))) {
    throw new MalformedEnvelopeError(
      'timestamp',
      'must be a non-negative integer (milliseconds since the epoch)',
    );
  }
  return {
    keyId: checkKeyId(keyId),
    timestamp: Number(timestamp),
    iv: decodeExact('iv', iv, 'base64url', AES_256_GCM.ivBytes),
    tag: decodeExact('tag', tag, 'base64url', AES_256_GCM.tagBytes),
    ciphertext: decodeBounded('ciphertext', ciphertext, 'base64url', MAX_PLAINTEXT_BYTES, false),
    aad:
      aad === undefined ? undefined : decodeBounded('aad', aad, 'base64url', MAX_AAD_BYTES, true),
  };
}

/** The design document's envelope object. */
export function formatEnvelope(parts: ParsedEnvelope): EnvelopeV1 {
  const envelope: {
    -readonly [K in keyof EnvelopeV1]: EnvelopeV1[K];
  } = {
    v: ENVELOPE_VERSION,
    alg: ENVELOPE_ALG,
    keyId: parts.keyId,
    iv: parts.iv.toString('base64'),
    tag: parts.tag.toString('base64'),
    ciphertext: parts.ciphertext.toString('base64'),
    timestamp: parts.timestamp,
  };
  if (parts.aad !== undefined) envelope.aad = parts.aad.toString('base64');
  return envelope;
}

/** The compact single-string form of the same envelope, for one text column. */
export function formatCompactEnvelope(parts: ParsedEnvelope): string {
  const head = `${COMPACT_PREFIX}.${parts.keyId}.${parts.timestamp}.${parts.iv.toString('base64url')}.${parts.tag.toString('base64url')}.${parts.ciphertext.toString('base64url')}`;
  return parts.aad === undefined ? head : `${head}.${parts.aad.toString('base64url')}`;
}

function checkKeyId(value: unknown): string {
  if (typeof value !== 'string' || !KEY_ID_PATTERN.test(value)) {
    throw new MalformedEnvelopeError('keyId', 'must be 1-64 characters of A-Z a-z 0-9 _ -');
  }
  return value;
}

function decodeExact(field: string, value: unknown, encoding: Encoding, bytes: number): Buffer {
  const decoded = decodeField(field, value, encoding, Math.ceil(bytes / 3) * 4);
  if (decoded.length !== bytes) {
    throw new MalformedEnvelopeError(
      field,
      `must decode to ${bytes} bytes (got ${decoded.length})`,
    );
  }
  return decoded;
}

function decodeBounded(
  field: string,
  value: unknown,
  encoding: Encoding,
  maxBytes: number,
  nonEmpty: boolean,
): Buffer {
  const decoded = decodeField(field, value, encoding, Math.ceil(maxBytes / 3) * 4);
  // The character bound above allows up to two bytes more than maxBytes.
  if (decoded.length > maxBytes)
    throw new MalformedEnvelopeError(field, `decodes to more than ${maxBytes} bytes`);
  if (nonEmpty && decoded.length === 0) {
    throw new MalformedEnvelopeError(field, 'must not be empty (omit it instead)');
  }
  return decoded;
}

function decodeField(field: string, value: unknown, encoding: Encoding, maxChars: number): Buffer {
  if (typeof value !== 'string')
    throw new MalformedEnvelopeError(field, `must be a ${encoding} string`);
  // Bound the work before decoding anything an attacker sent.
  if (value.length > maxChars) throw new MalformedEnvelopeError(field, 'is too long');
  const decoded = decodeCanonical(value, encoding);
  if (decoded === undefined) {
    throw new MalformedEnvelopeError(field, `must be canonical ${encoding}`);
  }
  return decoded;
}
