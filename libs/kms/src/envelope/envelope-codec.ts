import { AES_256_GCM } from '../crypto/aes-256-gcm.js';
import { decodeCanonical } from '../crypto/base64.js';
import { EnvelopePurposeError } from '../errors/envelope-purpose.error.js';
import { MalformedEnvelopeError } from '../errors/malformed-envelope.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import {
  COMPACT_PREFIX,
  ENVELOPE_ALG,
  ENVELOPE_PURPOSES,
  ENVELOPE_VERSION,
  KEY_ID_PATTERN,
  MAX_AAD_BYTES,
  MAX_PLAINTEXT_BYTES,
  PURPOSE_COMPACT_PREFIX,
  PURPOSE_ENVELOPE_VERSION,
} from './envelope.constants.js';
import type { EnvelopePurpose, EnvelopeV1, ParsedEnvelope } from './envelope.interface.js';

const OBJECT_FIELDS = ['v', 'alg', 'keyId', 'iv', 'tag', 'ciphertext', 'aad', 'timestamp'] as const;
const KNOWN_FIELDS = new Set<string>(OBJECT_FIELDS);
const TIMESTAMP_DIGITS = /^(?:0|[1-9][0-9]{0,15})$/;
type Encoding = 'base64' | 'base64url';

/**
 * Validates an untrusted envelope, object or compact string, field by field, before any
 * crypto runs. Every problem is a MalformedEnvelopeError naming the field; values are never
 * echoed. `purpose` is what the caller opens it as (undefined: the public API): a format-v2
 * envelope sealed for anything else is an EnvelopePurposeError. A format-v1 envelope parses
 * whatever the purpose; whether a store still accepts it is the caller's decision.
 */
export function parseEnvelope(input: unknown, purpose?: EnvelopePurpose): ParsedEnvelope {
  if (typeof input === 'string') return parseCompactEnvelope(input, purpose);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new MalformedEnvelopeError('envelope', 'must be an envelope object or a compact string');
  }
  const prototype = Object.getPrototypeOf(input) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    throw new MalformedEnvelopeError(
      'envelope',
      'must be a plain object (a class instance or an object inheriting its fields is refused)',
    );
  }
  const fields = ownFields(input);
  if (fields.v !== ENVELOPE_VERSION) {
    throw new MalformedEnvelopeError(
      'v',
      fields.v === PURPOSE_ENVELOPE_VERSION
        ? `must be ${ENVELOPE_VERSION}: envelopes of nest-kms's own stores exist only in the compact form`
        : `must be ${ENVELOPE_VERSION} (the only version of the object form)`,
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
    purpose: undefined,
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

/**
 * Parses the compact form: `kms1.<keyId>.<timestamp>.<iv>.<tag>.<ciphertext>[.<aad>]`
 * (format v1) or `kms2.<purpose>.<keyId>.…` (format v2), binary parts base64url.
 */
export function parseCompactEnvelope(text: string, purpose?: EnvelopePurpose): ParsedEnvelope {
  const parts = text.split('.');
  if (parts.length < 6 || parts.length > 8) {
    throw new MalformedEnvelopeError(
      'envelope',
      'compact form must have 6 or 7 dot-separated parts (kms2: 7 or 8)',
    );
  }
  let sealedFor: EnvelopePurpose | undefined;
  if (parts[0] === PURPOSE_COMPACT_PREFIX) {
    sealedFor = checkPurpose(parts[1]);
    if (sealedFor !== purpose) throw new EnvelopePurposeError(purpose, sealedFor);
    parts.splice(0, 2, COMPACT_PREFIX);
  } else if (parts[0] !== COMPACT_PREFIX) {
    throw new MalformedEnvelopeError(
      'v',
      `compact form must start with "${COMPACT_PREFIX}." or "${PURPOSE_COMPACT_PREFIX}."`,
    );
  }
  if (parts.length !== 6 && parts.length !== 7) {
    throw new MalformedEnvelopeError(
      'envelope',
      sealedFor === undefined
        ? 'compact form must have 6 or 7 dot-separated parts'
        : 'compact form must have 7 or 8 dot-separated parts',
    );
  }
  const [, keyId, timestamp, iv, tag, ciphertext, aad] = parts;
  if (!TIMESTAMP_DIGITS.test(timestamp) || !Number.isSafeInteger(Number(timestamp))) {
    throw new MalformedEnvelopeError(
      'timestamp',
      'must be a non-negative integer (milliseconds since the epoch)',
    );
  }
  return {
    purpose: sealedFor,
    keyId: checkKeyId(keyId),
    timestamp: Number(timestamp),
    iv: decodeExact('iv', iv, 'base64url', AES_256_GCM.ivBytes),
    tag: decodeExact('tag', tag, 'base64url', AES_256_GCM.tagBytes),
    ciphertext: decodeBounded('ciphertext', ciphertext, 'base64url', MAX_PLAINTEXT_BYTES, false),
    aad:
      aad === undefined ? undefined : decodeBounded('aad', aad, 'base64url', MAX_AAD_BYTES, true),
  };
}

/**
 * Whether stored text is meant as a compact envelope (`kms1.…` or `kms2.…`), valid or not: what
 * a column of envelopes tells apart from a legacy plaintext before anything is parsed.
 */
export function isCompactEnvelopeText(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    (value.startsWith(`${COMPACT_PREFIX}.`) || value.startsWith(`${PURPOSE_COMPACT_PREFIX}.`))
  );
}

/** The design document's envelope object (format v1 only: purpose envelopes are compact). */
export function formatEnvelope(parts: ParsedEnvelope): EnvelopeV1 {
  if (parts.purpose !== undefined) throw new EnvelopePurposeError(undefined, parts.purpose);
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
  const version =
    parts.purpose === undefined ? COMPACT_PREFIX : `${PURPOSE_COMPACT_PREFIX}.${parts.purpose}`;
  const head = `${version}.${parts.keyId}.${parts.timestamp}.${parts.iv.toString('base64url')}.${parts.tag.toString('base64url')}.${parts.ciphertext.toString('base64url')}`;
  return parts.aad === undefined ? head : `${head}.${parts.aad.toString('base64url')}`;
}

/**
 * The object's own fields, each checked to be what JSON would give: string-named, enumerable,
 * a plain value (no getter), and one of the format's. What a prototype, a symbol or a hidden
 * property carries never reaches the checks above.
 */
function ownFields(input: object): Partial<Record<(typeof OBJECT_FIELDS)[number], unknown>> {
  const fields: Partial<Record<(typeof OBJECT_FIELDS)[number], unknown>> = {};
  for (const name of Reflect.ownKeys(input)) {
    if (typeof name !== 'string') {
      throw new MalformedEnvelopeError('envelope', 'has a symbol-keyed property');
    }
    if (!KNOWN_FIELDS.has(name)) {
      throw new MalformedEnvelopeError('envelope', `has an unknown field ${quotedInput(name)}`);
    }
    const property = Object.getOwnPropertyDescriptor(input, name)!;
    if (!property.enumerable || !('value' in property)) {
      throw new MalformedEnvelopeError(name, 'must be an ordinary (enumerable, non-getter) field');
    }
    fields[name as (typeof OBJECT_FIELDS)[number]] = property.value;
  }
  return fields;
}

function checkPurpose(value: string | undefined): EnvelopePurpose {
  const purpose = ENVELOPE_PURPOSES.find((known) => known === value);
  if (purpose === undefined) {
    throw new MalformedEnvelopeError('purpose', `must be one of ${ENVELOPE_PURPOSES.join(', ')}`);
  }
  return purpose;
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
