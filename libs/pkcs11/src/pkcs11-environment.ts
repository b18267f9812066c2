import { KmsConfigurationError, type MasterKeyProvider } from '@nest-kms/kms';
import { Pkcs11MasterKeyProvider } from './pkcs11-master-key.provider.js';
import { readPinFile } from './pkcs11-pin.js';

/**
 * The provider configured by environment variables, as nest-kms builds it when
 * KMS_MASTER_KEY_PROVIDER=pkcs11: KMS_PKCS11_MODULE, KMS_PKCS11_TOKEN_LABEL,
 * KMS_PKCS11_KEY_LABEL, and KMS_PKCS11_PIN or KMS_PKCS11_PIN_FILE (one of them; the file
 * readable by its owner only); optionally KMS_PKCS11_USER_TYPE, KMS_PKCS11_CONNECT_TIMEOUT_MS,
 * KMS_PKCS11_REQUEST_TIMEOUT_MS. Throws KmsConfigurationError naming the variable at fault,
 * never showing the PIN.
 */
export function masterKeyFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): MasterKeyProvider {
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value)
      throw new KmsConfigurationError(`${name} is not set (KMS_MASTER_KEY_PROVIDER=pkcs11)`);
    return value;
  };
  const module = required('KMS_PKCS11_MODULE');
  const tokenLabel = required('KMS_PKCS11_TOKEN_LABEL');
  const keyLabel = required('KMS_PKCS11_KEY_LABEL');
  const pinText = env.KMS_PKCS11_PIN;
  const pinFile = env.KMS_PKCS11_PIN_FILE?.trim();
  if (pinText && pinFile) {
    throw new KmsConfigurationError('set KMS_PKCS11_PIN or KMS_PKCS11_PIN_FILE, not both');
  }
  if (!pinText && !pinFile) {
    throw new KmsConfigurationError(
      'KMS_PKCS11_PIN_FILE (or KMS_PKCS11_PIN) is not set (KMS_MASTER_KEY_PROVIDER=pkcs11)',
    );
  }
  const pin = pinFile ? readPinFile(pinFile, 'KMS_PKCS11_PIN_FILE') : Buffer.from(pinText!, 'utf8');
  try {
    return new Pkcs11MasterKeyProvider({
      module,
      tokenLabel,
      keyLabel,
      pin,
      userType: wholeNumber(env, 'KMS_PKCS11_USER_TYPE'),
      connectTimeoutMs: wholeNumber(env, 'KMS_PKCS11_CONNECT_TIMEOUT_MS'),
      requestTimeoutMs: wholeNumber(env, 'KMS_PKCS11_REQUEST_TIMEOUT_MS'),
    });
  } finally {
    // The provider keeps its own copy.
    pin.fill(0);
  }
}

function wholeNumber(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  // Decimal or 0x-hexadecimal (vendor user types are written 0x80000001).
  const value = /^(0x[0-9a-f]+|[0-9]+)$/i.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new KmsConfigurationError(
      `${name} must be a positive whole number, not ${JSON.stringify(text)}`,
    );
  }
  return value;
}
