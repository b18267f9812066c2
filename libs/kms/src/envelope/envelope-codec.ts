import { EnvelopePurposeError } from '../errors/envelope-purpose.error.js';
import { MalformedEnvelopeError } from '../errors/malformed-envelope.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import { binaryParts } from './envelope-binary-fields.js';
import {
  COMPACT_PREFIX,
  ENVELOPE_ALG,
  ENVELOPE_PURPOSES,
  ENVELOPE_VERSION,
  KEY_ID_PATTERN,
  PURPOSE_COMPACT_PREFIX,
  PURPOSE_ENVELOPE_VERSION,
} from './envelope.constants.js';
import type { EnvelopePurpose, EnvelopeV1, ParsedEnvelope } from './envelope.interface.js';

const OBJECT_FIELDS = ['v', 'alg', 'keyId', 'iv', 'tag', 'ciphertext', 'aad', 'timestamp'] as const;
const KNOWN_FIELDS = new Set<string>(OBJECT_FIELDS);
const TIMESTAMP_DIGITS = /^(?:0|[1-9][0-9]{0,15})$/;

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
  return binaryParts(
    undefined,
    checkKeyId(fields.keyId),
    timestamp,
    fields.iv,
    fields.tag,
    fields.ciphertext,
    fields.aad,
    'base64',
  );
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
  return binaryParts(
    sealedFor,
    checkKeyId(keyId),
    Number(timestamp),
    iv,
    tag,
    ciphertext,
    aad,
    'base64url',
  );
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
function ownFields(input: object): Record<(typeof OBJECT_FIELDS)[number], unknown> {
  // One shape for every envelope, filled by name: a record built key by key costs more than
  // the rest of the parse.
  const fields: Record<(typeof OBJECT_FIELDS)[number], unknown> = {
    v: undefined,
    alg: undefined,
    keyId: undefined,
    iv: undefined,
    tag: undefined,
    ciphertext: undefined,
    aad: undefined,
    timestamp: undefined,
  };
  // Reflect.ownKeys' order (string keys, then symbols) in two calls that cost half as much.
  for (const name of Object.getOwnPropertyNames(input)) {
    if (!KNOWN_FIELDS.has(name)) {
      throw new MalformedEnvelopeError('envelope', `has an unknown field ${quotedInput(name)}`);
    }
    const property = Object.getOwnPropertyDescriptor(input, name)!;
    if (!property.enumerable || !('value' in property)) {
      throw new MalformedEnvelopeError(name, 'must be an ordinary (enumerable, non-getter) field');
    }
    setField(fields, name as (typeof OBJECT_FIELDS)[number], property.value);
  }
  if (Object.getOwnPropertySymbols(input).length > 0) {
    throw new MalformedEnvelopeError('envelope', 'has a symbol-keyed property');
  }
  return fields;
}

function setField(
  fields: Record<(typeof OBJECT_FIELDS)[number], unknown>,
  name: (typeof OBJECT_FIELDS)[number],
  value: unknown,
): void {
  switch (name) {
    case 'v':
      fields.v = value;
      break;
    case 'alg':
      fields.alg = value;
      break;
    case 'keyId':
      fields.keyId = value;
      break;
    case 'iv':
      fields.iv = value;
      break;
    case 'tag':
      fields.tag = value;
      break;
    case 'ciphertext':
      fields.ciphertext = value;
      break;
    case 'aad':
      fields.aad = value;
      break;
    case 'timestamp':
      fields.timestamp = value;
      break;
  }
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
