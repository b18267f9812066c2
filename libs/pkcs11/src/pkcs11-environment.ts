import { KmsConfigurationError, type MasterKeyProvider } from '@nest-kms/kms';
import { environmentSetting, environmentWholeNumber } from '@nest-kms/kms/extension';
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
    const value = environmentSetting(env, name);
    if (!value)
      throw new KmsConfigurationError(`${name} is not set (KMS_MASTER_KEY_PROVIDER=pkcs11)`);
    return value;
  };
  const module = required('KMS_PKCS11_MODULE');
  const tokenLabel = required('KMS_PKCS11_TOKEN_LABEL');
  const keyLabel = required('KMS_PKCS11_KEY_LABEL');
  const pinText = env.KMS_PKCS11_PIN;
  const pinFile = environmentSetting(env, 'KMS_PKCS11_PIN_FILE');
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
      userType: environmentWholeNumber(env, 'KMS_PKCS11_USER_TYPE'),
      connectTimeoutMs: environmentWholeNumber(env, 'KMS_PKCS11_CONNECT_TIMEOUT_MS'),
      requestTimeoutMs: environmentWholeNumber(env, 'KMS_PKCS11_REQUEST_TIMEOUT_MS'),
    });
  } finally {
    // The provider keeps its own copy.
    pin.fill(0);
  }
}
