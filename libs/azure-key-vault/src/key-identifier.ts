import { createHash } from 'node:crypto';
import { KmsConfigurationError } from '@nest-kms/kms';
import {
  AZURE_KEY_VAULT_PROVIDER_NAME,
  MAX_FINGERPRINT_LENGTH,
} from './azure-key-vault.constants.js';

/** One version of a vault key, as the provider names it and compares answers against. */
export interface VaultKeyIdentifier {
  /** The key URL as configured: what the SDK is given. */
  readonly url: string;
  /** `<vault host>/keys/<name>/<version>`, lower case: Key Vault identifiers are case-insensitive. */
  readonly identity: string;
}

// Key Vault names keys with 1-127 letters, digits and dashes; versions are opaque alphanumerics.
const KEY_PATH = /^\/keys\/([0-9A-Za-z-]{1,127})\/([0-9A-Za-z]{1,64})\/?$/;

/** Parses a key version URL; refuses a URL without a version (it would follow the latest). */
export function vaultKeyIdentifierOf(keyId: unknown): VaultKeyIdentifier {
  const url =
    typeof keyId === 'string' && URL.canParse(keyId.trim()) ? new URL(keyId.trim()) : undefined;
  const path = url === undefined ? null : KEY_PATH.exec(url.pathname);
  if (
    url === undefined ||
    path === null ||
    url.protocol !== 'https:' ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new KmsConfigurationError(
      `${AZURE_KEY_VAULT_PROVIDER_NAME}: keyId must be the URL of one key version, https://<vault>.vault.azure.net/keys/<name>/<version> (or a Managed HSM's https://<hsm>.managedhsm.azure.net/keys/<name>/<version>)`,
    );
  }
  return {
    url: `${url.origin}/keys/${path[1]}/${path[2]}`,
    identity: `${url.host}/keys/${path[1]}/${path[2]}`.toLowerCase(),
  };
}

/** Whether a `kid` in an answer names exactly this key version. */
export function namesKey(key: VaultKeyIdentifier, kid: unknown): boolean {
  if (typeof kid !== 'string' || !URL.canParse(kid)) return false;
  const url = new URL(kid);
  const path = KEY_PATH.exec(url.pathname);
  return (
    url.protocol === 'https:' &&
    path !== null &&
    `${url.host}/keys/${path[1]}/${path[2]}`.toLowerCase() === key.identity
  );
}

/**
 * `azure-key-vault:<vault host>/keys/<name>/<version>`; an identity too long for the keyring's
 * 128 characters is named by its SHA-256 instead, as stable and as unique.
 */
export function fingerprintOf(key: VaultKeyIdentifier): string {
  const plain = `${AZURE_KEY_VAULT_PROVIDER_NAME}:${key.identity}`;
  if (plain.length <= MAX_FINGERPRINT_LENGTH) return plain;
  const digest = createHash('sha256').update(key.identity, 'utf8').digest('hex');
  return `${AZURE_KEY_VAULT_PROVIDER_NAME}:sha256:${digest}`;
}
