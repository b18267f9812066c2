import type { CryptographyClientOptions, KeyClient } from '@azure/keyvault-keys';

/** A key wrap algorithm: RSA-OAEP-256 for an RSA key, A256KW for a Managed HSM AES key. */
export type AzureKeyWrapAlgorithm = 'RSA-OAEP-256' | 'A256KW';

/** How AzureKeyVaultMasterKeyProvider reaches its key. */
export interface AzureKeyVaultMasterKeyOptions {
  /**
   * The full URL of one key version: `https://<vault>.vault.azure.net/keys/<name>/<version>` or
   * `https://<hsm>.managedhsm.azure.net/keys/<name>/<version>`. The version is required, so the
   * fingerprint names one key version; a new version is a master-key rotation.
   */
  keyId: string;
  /**
   * Who the provider is to the vault: any @azure/identity credential (a TokenCredential). Typed
   * through @azure/keyvault-keys so these declarations do not pull in @azure/identity's, which
   * need the DOM library.
   * @default new DefaultAzureCredential()
   */
  credential?: ConstructorParameters<typeof KeyClient>[1];
  /**
   * The wrap algorithm; it must suit the key's type (RSA or RSA-HSM for RSA-OAEP-256, oct-HSM
   * for A256KW).
   * @default 'RSA-OAEP-256'
   */
  algorithm?: AzureKeyWrapAlgorithm;
  /**
   * Time to open a connection to the vault (TCP and TLS) before the call fails as unavailable.
   * Not applied when `clientOptions.agent` is given: that agent's own settings apply.
   * @default 3000
   */
  connectTimeoutMs?: number;
  /**
   * Time for one HTTP request (a token request included) to be answered before the call fails
   * as unavailable.
   * @default 10000
   */
  requestTimeoutMs?: number;
  /**
   * Passed to the CryptographyClient (`tlsOptions`, `proxyOptions`, `agent`,
   * `disableChallengeResourceVerification`, `serviceVersion`, …). `retryOptions` is always
   * replaced: nest-kms retries itself.
   * @default {}
   */
  clientOptions?: CryptographyClientOptions;
}
