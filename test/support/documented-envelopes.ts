import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { AadInput, EnvelopeV1 } from '@nest-kms/kms';

/*
 * An independent implementation of docs/envelope-format.md, written from the document alone,
 * with node:crypto and nothing of the library's envelope, AAD or wrapping code. The suites that
 * prove the document use it against what the real library writes, and the other way round.
 */

/** A store's purpose (format v2), or undefined for the public API's format v1. */
export type DocumentedPurpose = 'secret' | 'column' | undefined;

/** "Master-key fingerprint": "local:" + hex of the first 16 bytes of HMAC-SHA256(mk, label). */
export function documentedFingerprint(masterKey: Buffer): string {
  const mac = createHmac('sha256', masterKey).update('nest-kms fingerprint', 'utf8').digest();
  return `local:${mac.subarray(0, 16).toString('hex')}`;
}

/** "Wrapping": the wrapping key, HKDF-SHA256 with an empty salt and the info label. */
export function documentedWrappingKey(masterKey: Buffer): Buffer {
  return Buffer.from(
    hkdfSync('sha256', masterKey, Buffer.alloc(0), 'nest-kms/v1/data-key-wrapping', 32),
  );
}

/** "Wrapping": unwraps a kms_data_keys.wrapped_key column with AES-256-GCM. */
export function documentedUnwrap(
  masterKey: Buffer,
  keyId: string,
  wrappedKeyColumn: string,
): Buffer {
  const wrapped = strictDecode(wrappedKeyColumn, 'base64');
  if (wrapped.length !== 61 || wrapped[0] !== 0x01) throw new Error('not a v1 wrapped key');
  const iv = wrapped.subarray(1, 13);
  const tag = wrapped.subarray(13, 29);
  const ciphertext = wrapped.subarray(29, 61);
  const decipher = createDecipheriv('aes-256-gcm', documentedWrappingKey(masterKey), iv, {
    authTagLength: 16,
  });
  decipher.setAuthTag(tag);
  decipher.setAAD(Buffer.from(`nest-kms/data-key/v1:${keyId}`, 'utf8'));
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** "Binary fields": only the canonical encoding is accepted. */
export function strictDecode(text: string, encoding: 'base64' | 'base64url'): Buffer {
  const bytes = Buffer.from(text, encoding);
  if (bytes.toString(encoding) !== text) throw new Error(`not canonical ${encoding}`);
  return bytes;
}

export interface DocumentedEnvelope {
  purpose: DocumentedPurpose;
  keyId: string;
  timestamp: number;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
  aad: Buffer | undefined;
}

/** "Object form" (format v1 only): standard base64 with padding in iv, tag, ciphertext, aad. */
export function fromObjectForm(envelope: EnvelopeV1): DocumentedEnvelope {
  if (envelope.v !== 1 || envelope.alg !== 'aes-256-gcm') throw new Error('not envelope v1');
  return {
    purpose: undefined,
    keyId: envelope.keyId,
    timestamp: envelope.timestamp,
    iv: strictDecode(envelope.iv, 'base64'),
    tag: strictDecode(envelope.tag, 'base64'),
    ciphertext: strictDecode(envelope.ciphertext, 'base64'),
    aad: envelope.aad === undefined ? undefined : strictDecode(envelope.aad, 'base64'),
  };
}

/**
 * "Compact form": kms1.<keyId>.<timestamp>.<iv>.<tag>.<ciphertext>[.<aad>], or
 * kms2.<purpose>.<keyId>.…, base64url unpadded.
 */
export function fromCompactForm(text: string): DocumentedEnvelope {
  let parts = text.split('.');
  let purpose: DocumentedPurpose;
  if (parts[0] === 'kms2') {
    if (parts[1] !== 'secret' && parts[1] !== 'column') throw new Error('unknown purpose');
    purpose = parts[1];
    parts = ['kms1', ...parts.slice(2)];
  }
  if (parts[0] !== 'kms1' || (parts.length !== 6 && parts.length !== 7)) {
    throw new Error('not a compact envelope');
  }
  const [, keyId, timestamp, iv, tag, ciphertext, aad] = parts;
  if (!/^(?:0|[1-9][0-9]*)$/.test(timestamp)) throw new Error('bad timestamp');
  return {
    purpose,
    keyId,
    timestamp: Number(timestamp),
    iv: strictDecode(iv, 'base64url'),
    tag: strictDecode(tag, 'base64url'),
    ciphertext: strictDecode(ciphertext, 'base64url'),
    aad: aad === undefined ? undefined : strictDecode(aad, 'base64url'),
  };
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** "GCM additional data": the header layout tables of both formats, field by field. */
export function documentedHeader(
  envelope: Omit<DocumentedEnvelope, 'iv' | 'tag' | 'ciphertext'>,
): Buffer {
  const { purpose, keyId, timestamp, aad } = envelope;
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(timestamp));
  return Buffer.concat([
    Buffer.from('nest-kms/envelope', 'ascii'),
    Buffer.of(purpose === undefined ? 1 : 2),
    Buffer.of('aes-256-gcm'.length),
    Buffer.from('aes-256-gcm', 'ascii'),
    purpose === undefined
      ? Buffer.alloc(0)
      : Buffer.concat([Buffer.of(purpose.length), Buffer.from(purpose, 'ascii')]),
    Buffer.of(keyId.length),
    Buffer.from(keyId, 'ascii'),
    time,
    aad === undefined ? Buffer.of(0) : Buffer.concat([Buffer.of(1), u32(aad.length), aad]),
  ]);
}

/** "Canonical encoding of the caller's AAD". */
export function documentedAad(aad: AadInput): Buffer {
  if (typeof aad === 'string') return Buffer.concat([Buffer.of(0x01), Buffer.from(aad, 'utf8')]);
  const lengthPrefixed = (text: string): Buffer => {
    const bytes = Buffer.from(text, 'utf8');
    return Buffer.concat([u32(bytes.length), bytes]);
  };
  // Sorted by UTF-16 code units: what Array.prototype.sort does with strings.
  const keys = Object.keys(aad).sort();
  return Buffer.concat([
    Buffer.of(0x02),
    ...keys.flatMap((key) => [lengthPrefixed(key), lengthPrefixed(aad[key])]),
  ]);
}

/** "Decrypting an envelope", opened as `purpose` (a store's v1 value opens as v1). */
export function documentedDecrypt(
  dataKey: Buffer,
  envelope: DocumentedEnvelope,
  purpose: DocumentedPurpose = undefined,
): Buffer {
  if (envelope.purpose !== undefined && envelope.purpose !== purpose) {
    throw new Error('sealed for another purpose');
  }
  const decipher = createDecipheriv('aes-256-gcm', dataKey, envelope.iv, { authTagLength: 16 });
  decipher.setAuthTag(envelope.tag);
  decipher.setAAD(documentedHeader(envelope));
  return Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]);
}

/** Seals `plaintext` as the document says; `iv` and `timestamp` are fixed for worked examples. */
export function documentedSeal(
  dataKey: Buffer,
  fields: { keyId: string; purpose?: DocumentedPurpose; aad?: AadInput },
  plaintext: Buffer,
  iv: Buffer = randomBytes(12),
  timestamp: number = Date.now(),
): DocumentedEnvelope {
  const envelope = {
    purpose: fields.purpose,
    keyId: fields.keyId,
    timestamp,
    aad: fields.aad === undefined ? undefined : documentedAad(fields.aad),
  };
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: 16 });
  cipher.setAAD(documentedHeader(envelope));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ...envelope, iv, tag: cipher.getAuthTag(), ciphertext };
}

/** The object form (format v1) of a documented envelope. */
export function toObjectForm(envelope: DocumentedEnvelope): EnvelopeV1 {
  if (envelope.purpose !== undefined) throw new Error('format v2 has no object form');
  return {
    v: 1,
    alg: 'aes-256-gcm',
    keyId: envelope.keyId,
    iv: envelope.iv.toString('base64'),
    tag: envelope.tag.toString('base64'),
    ciphertext: envelope.ciphertext.toString('base64'),
    ...(envelope.aad === undefined ? {} : { aad: envelope.aad.toString('base64') }),
    timestamp: envelope.timestamp,
  };
}

/** The compact form of a documented envelope, either format. */
export function toCompactForm(envelope: DocumentedEnvelope): string {
  const parts = [
    ...(envelope.purpose === undefined ? ['kms1'] : ['kms2', envelope.purpose]),
    envelope.keyId,
    String(envelope.timestamp),
    envelope.iv.toString('base64url'),
    envelope.tag.toString('base64url'),
    envelope.ciphertext.toString('base64url'),
  ];
  if (envelope.aad !== undefined) parts.push(envelope.aad.toString('base64url'));
  return parts.join('.');
}
