import { AES_256_GCM } from '../crypto/aes-256-gcm.js';
import { canonicalDecodedLength, decodeCanonical, decodeCanonicalInto } from '../crypto/base64.js';
import { MalformedEnvelopeError } from '../errors/malformed-envelope.error.js';
import { MAX_AAD_BYTES, MAX_PLAINTEXT_BYTES } from './envelope.constants.js';
import type { EnvelopePurpose, ParsedEnvelope } from './envelope.interface.js';

type Encoding = 'base64' | 'base64url';

/**
 * The envelope with its binary fields decoded and checked: iv and tag of their exact sizes,
 * ciphertext and aad within their bounds, every one canonical. The usual envelope decodes in
 * one pass into one buffer (the parts are views of it); anything else goes field by field
 * through the checks below, which throw the error naming the first field at fault.
 */
export function binaryParts(
  purpose: EnvelopePurpose | undefined,
  keyId: string,
  timestamp: number,
  iv: unknown,
  tag: unknown,
  ciphertext: unknown,
  aad: unknown,
  encoding: Encoding,
): ParsedEnvelope {
  return (
    decodedTogether(purpose, keyId, timestamp, iv, tag, ciphertext, aad, encoding) ?? {
      purpose,
      keyId,
      timestamp,
      iv: decodeExact('iv', iv, encoding, AES_256_GCM.ivBytes),
      tag: decodeExact('tag', tag, encoding, AES_256_GCM.tagBytes),
      ciphertext: decodeBounded('ciphertext', ciphertext, encoding, MAX_PLAINTEXT_BYTES, false),
      aad: aad === undefined ? undefined : decodeBounded('aad', aad, encoding, MAX_AAD_BYTES, true),
    }
  );
}

const IV_CHARS = encodedChars(AES_256_GCM.ivBytes);
const TAG_CHARS = encodedChars(AES_256_GCM.tagBytes);
const CIPHERTEXT_CHARS = encodedChars(MAX_PLAINTEXT_BYTES);
const AAD_CHARS = encodedChars(MAX_AAD_BYTES);

/** binaryParts' one pass: undefined when any field fails any of the checks of the slow path. */
function decodedTogether(
  purpose: EnvelopePurpose | undefined,
  keyId: string,
  timestamp: number,
  iv: unknown,
  tag: unknown,
  ciphertext: unknown,
  aad: unknown,
  encoding: Encoding,
): ParsedEnvelope | undefined {
  const ivBytes = AES_256_GCM.ivBytes;
  const tagBytes = AES_256_GCM.tagBytes;
  if (typeof iv !== 'string' || iv.length > IV_CHARS) return undefined;
  if (canonicalDecodedLength(iv, encoding) !== ivBytes) return undefined;
  if (typeof tag !== 'string' || tag.length > TAG_CHARS) return undefined;
  if (canonicalDecodedLength(tag, encoding) !== tagBytes) return undefined;
  if (typeof ciphertext !== 'string' || ciphertext.length > CIPHERTEXT_CHARS) return undefined;
  const ciphertextBytes = canonicalDecodedLength(ciphertext, encoding);
  if (ciphertextBytes < 0 || ciphertextBytes > MAX_PLAINTEXT_BYTES) return undefined;
  let aadBytes = 0;
  if (aad !== undefined) {
    if (typeof aad !== 'string' || aad.length > AAD_CHARS) return undefined;
    aadBytes = canonicalDecodedLength(aad, encoding);
    if (aadBytes <= 0 || aadBytes > MAX_AAD_BYTES) return undefined;
  }
  const aadAt = ivBytes + tagBytes;
  const ciphertextAt = aadAt + aadBytes;
  const bytes = Buffer.allocUnsafe(ciphertextAt + ciphertextBytes);
  if (
    !decodeCanonicalInto(iv, encoding, bytes, 0, ivBytes) ||
    !decodeCanonicalInto(tag, encoding, bytes, ivBytes, tagBytes) ||
    (aad !== undefined && !decodeCanonicalInto(aad, encoding, bytes, aadAt, aadBytes)) ||
    !decodeCanonicalInto(ciphertext, encoding, bytes, ciphertextAt, ciphertextBytes)
  ) {
    return undefined;
  }
  return {
    purpose,
    keyId,
    timestamp,
    iv: bytes.subarray(0, ivBytes),
    tag: bytes.subarray(ivBytes, aadAt),
    ciphertext: bytes.subarray(ciphertextAt),
    aad: aad === undefined ? undefined : bytes.subarray(aadAt, ciphertextAt),
  };
}

/** Characters of the longest canonical encoding of `bytes` bytes. */
function encodedChars(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

function decodeExact(field: string, value: unknown, encoding: Encoding, bytes: number): Buffer {
  const decoded = decodeField(field, value, encoding, encodedChars(bytes));
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
  const decoded = decodeField(field, value, encoding, encodedChars(maxBytes));
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
