import { createHash } from 'node:crypto';
import { MasterKeyProviderError, quotedInput } from '@nest-kms/kms';
import {
  FINGERPRINT_MAX_CHARS,
  MASTER_KEY_BYTES,
  PKCS11_PROVIDER_NAME,
} from './pkcs11.constants.js';
import { pkcs11, returnValueOf, type Pkcs11, type Pkcs11Handle } from './pkcs11-library.js';

/** A token found by its label. */
export interface FoundToken {
  readonly slot: Pkcs11Handle;
  /** The token's serial number, blanks trimmed: part of the fingerprint. */
  readonly serial: string;
}

const refused = (reason: string) => new MasterKeyProviderError(PKCS11_PROVIDER_NAME, reason);

/** The one token labelled `label`; none or several is refused (slot numbers are not stable). */
export function findToken(library: Pkcs11, label: string): FoundToken {
  const matches: FoundToken[] = [];
  for (const slot of library.C_GetSlotList(true)) {
    let info;
    try {
      info = library.C_GetTokenInfo(slot);
    } catch (error) {
      // A token removed between the two calls is simply not there.
      if (returnValueOf(error)?.code === pkcs11.CKR_TOKEN_NOT_PRESENT) continue;
      throw error;
    }
    // Token info strings are blank-padded to a fixed width.
    if (info.label.trimEnd() === label) matches.push({ slot, serial: info.serialNumber.trimEnd() });
  }
  if (matches.length === 0) {
    throw refused(`no token labelled ${quotedInput(label)} (tokenLabel) in any slot`);
  }
  if (matches.length > 1) {
    throw refused(
      `${matches.length} tokens are labelled ${quotedInput(label)}; labels must be unique`,
    );
  }
  return matches[0];
}

/** Refuses a token that cannot encrypt and decrypt with CKM_AES_GCM. */
export function requireAesGcm(library: Pkcs11, slot: Pkcs11Handle): void {
  const needed = pkcs11.CKF_ENCRYPT | pkcs11.CKF_DECRYPT;
  let flags: number;
  try {
    flags = library.C_GetMechanismInfo(slot, pkcs11.CKM_AES_GCM).flags;
  } catch (error) {
    if (returnValueOf(error)?.code !== pkcs11.CKR_MECHANISM_INVALID) throw error;
    flags = 0;
  }
  if ((flags & needed) !== needed) {
    throw refused('the token does not offer CKM_AES_GCM for both encrypt and decrypt');
  }
}

/** The AES secret key labelled `label` (one at most), or undefined. */
export function findAesKey(
  library: Pkcs11,
  session: Pkcs11Handle,
  label: string,
): Pkcs11Handle | undefined {
  library.C_FindObjectsInit(session, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
    { type: pkcs11.CKA_LABEL, value: label },
  ]);
  let found: Pkcs11Handle[];
  try {
    found = library.C_FindObjects(session, 2);
  } finally {
    library.C_FindObjectsFinal(session);
  }
  if (found.length > 1) {
    throw refused(`more than one AES key on the token is labelled ${quotedInput(label)}`);
  }
  return found[0];
}

/**
 * Checks that `key` can serve as the master key and never leaves the token: sensitive, not
 * extractable, allowed to encrypt and decrypt, 32 bytes. Returns its CKA_ID (maybe empty).
 */
export function checkMasterKey(
  library: Pkcs11,
  session: Pkcs11Handle,
  key: Pkcs11Handle,
  label: string,
): Buffer {
  const [sensitive, extractable, encrypt, decrypt, length, id] = library
    .C_GetAttributeValue(session, key, [
      { type: pkcs11.CKA_SENSITIVE },
      { type: pkcs11.CKA_EXTRACTABLE },
      { type: pkcs11.CKA_ENCRYPT },
      { type: pkcs11.CKA_DECRYPT },
      { type: pkcs11.CKA_VALUE_LEN },
      { type: pkcs11.CKA_ID },
    ])
    .map((attribute) => attribute.value);
  const isTrue = (value: Buffer) => value.length > 0 && value[0] !== 0;
  const problems: string[] = [];
  if (!isTrue(sensitive)) problems.push('CKA_SENSITIVE is false');
  if (isTrue(extractable)) problems.push('CKA_EXTRACTABLE is true');
  if (!isTrue(encrypt)) problems.push('CKA_ENCRYPT is false');
  if (!isTrue(decrypt)) problems.push('CKA_DECRYPT is false');
  const bytes = length.length >= 4 ? Number(length.readUIntLE(0, Math.min(length.length, 6))) : 0;
  if (bytes !== MASTER_KEY_BYTES) problems.push(`CKA_VALUE_LEN is ${bytes}, not 32 (AES-256)`);
  if (problems.length > 0) {
    throw refused(
      `the key labelled ${quotedInput(label)} cannot be the master key: ${problems.join(', ')}`,
    );
  }
  return Buffer.from(id);
}

/**
 * `pkcs11:<token serial>/<key label>[/<CKA_ID hex>]`: the same on every replica that uses the
 * same token and key, and after restarts. Past 128 characters, the label and id part is
 * replaced by its SHA-256.
 */
export function fingerprintOf(serial: string, label: string, id: Buffer): string {
  const keyPart = id.length > 0 ? `${label}/${id.toString('hex')}` : label;
  const full = `${PKCS11_PROVIDER_NAME}:${serial}/${keyPart}`;
  if (full.length <= FINGERPRINT_MAX_CHARS) return full;
  const digest = createHash('sha256').update(keyPart, 'utf8').digest('hex');
  return `${PKCS11_PROVIDER_NAME}:${serial.slice(0, 48)}/sha256:${digest}`;
}
