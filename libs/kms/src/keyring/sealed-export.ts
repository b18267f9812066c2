import { randomBytes, randomUUID } from 'node:crypto';
import { AES_256_GCM, gcmOpen, gcmSeal } from '../crypto/aes-256-gcm.js';
import { decodeCanonical } from '../crypto/base64.js';
import { InvalidExportError } from '../errors/invalid-export.error.js';
import { KmsError } from '../errors/kms.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';

/**
 * A payload sealed under a one-off key that the master key wraps: integrity and secrecy under
 * the master key, whatever provider holds it (the provider only wraps keys).
 */
export interface SealedExport {
  format: 'nest-kms-sealed-export';
  v: 1;
  /** What the payload is (e.g. 'secrets-backup'); bound into the encryption. */
  purpose: string;
  masterKeyFingerprint: string;
  keyId: string;
  wrappedKey: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

const bindingOf = (purpose: string, keyId: string) =>
  Buffer.from(`nest-kms/export/v1:${purpose}:${keyId}`, 'utf8');

export async function sealExport(
  provider: MasterKeyProvider,
  fingerprint: string,
  payload: Buffer,
  purpose: string,
): Promise<SealedExport> {
  const keyId = `ex-${randomUUID()}`;
  const key = randomBytes(AES_256_GCM.keyBytes);
  try {
    const wrappedKey = await provider.wrapDataKey(key, keyId);
    const { iv, tag, ciphertext } = gcmSeal(key, payload, bindingOf(purpose, keyId));
    return {
      format: 'nest-kms-sealed-export',
      v: 1,
      purpose,
      masterKeyFingerprint: fingerprint,
      keyId,
      wrappedKey: wrappedKey.toString('base64'),
      iv: iv.toString('base64'),
      tag: tag.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    };
  } finally {
    key.fill(0);
  }
}

/** Checks and opens a sealed export; every refusal is an InvalidExportError. */
export async function openExport(
  provider: MasterKeyProvider,
  fingerprint: string,
  sealed: unknown,
  purpose: string,
): Promise<Buffer> {
  const fields = sealed as Partial<Record<keyof SealedExport, unknown>> | null;
  if (
    fields === null ||
    typeof fields !== 'object' ||
    fields.format !== 'nest-kms-sealed-export' ||
    fields.v !== 1
  ) {
    throw new InvalidExportError('not a nest-kms sealed export (format, v)');
  }
  if (fields.purpose !== purpose) throw new InvalidExportError(`not a ${purpose} export`);
  if (fields.masterKeyFingerprint !== fingerprint) {
    throw new InvalidExportError(
      // Untrusted text: shown quoted (a fingerprint is short and never secret).
      `made under master key ${quotedInput(fields.masterKeyFingerprint)}, this keyring uses ${fingerprint}`,
    );
  }
  if (typeof fields.keyId !== 'string' || !/^ex-[0-9a-f-]{36}$/.test(fields.keyId)) {
    throw new InvalidExportError('keyId is malformed');
  }
  const [wrappedKey, iv, tag, ciphertext] = (
    ['wrappedKey', 'iv', 'tag', 'ciphertext'] as const
  ).map((name) => {
    const value = fields[name];
    const bytes = typeof value === 'string' ? decodeCanonical(value, 'base64') : undefined;
    if (bytes === undefined) throw new InvalidExportError(`${name} is not canonical base64`);
    return bytes;
  });
  let key: Buffer;
  try {
    key = await provider.unwrapDataKey(wrappedKey, fields.keyId);
  } catch (error) {
    if (error instanceof KmsError)
      throw new InvalidExportError('its key does not verify under this master key');
    throw error;
  }
  try {
    return gcmOpen(key, iv, ciphertext, tag, bindingOf(purpose, fields.keyId));
  } catch (error) {
    if (error instanceof KmsError)
      throw new InvalidExportError('it was altered (authentication failed)');
    throw error;
  } finally {
    key.fill(0);
  }
}
