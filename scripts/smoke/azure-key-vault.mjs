#!/usr/bin/env node
// Checks @nest-kms/azure-key-vault against a real Azure Key Vault or Managed HSM key: run it by
// hand after `npm run build:packages`, with KMS_AZURE_KEY_VAULT_KEY_ID (and optionally
// KMS_AZURE_KEY_VAULT_ALGORITHM, KMS_AZURE_KEY_VAULT_*_TIMEOUT_MS) and credentials
// DefaultAzureCredential finds (AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, `az login`,
// a managed identity). Never run in CI: it needs a real vault. One line per check; exits 1 when
// any check fails.
import { randomBytes } from 'node:crypto';
import { DecryptionFailedError } from '@nest-kms/kms';
import { masterKeyFromEnvironment } from '@nest-kms/azure-key-vault';

let failures = 0;

async function check(name, work) {
  try {
    const detail = await work();
    console.log(`ok    ${name}${detail ? ` (${detail})` : ''}`);
    return true;
  } catch (error) {
    failures++;
    // The provider's errors carry no key, token or credential; anything else is named only.
    const said = error?.code?.startsWith?.('KMS_') ? error.message : (error?.name ?? String(error));
    console.log(`FAIL  ${name}: ${said}`);
    return false;
  }
}

async function refusedWithDecryptionFailed(work) {
  try {
    await work();
  } catch (error) {
    if (error instanceof DecryptionFailedError) return;
    throw error;
  }
  throw new Error('the unwrap succeeded');
}

let provider;
if (
  await check('configuration from the environment', () => {
    provider = masterKeyFromEnvironment(process.env);
    return `${provider.name}, ${provider.algorithm}`;
  })
) {
  try {
    await check('fingerprint', () => provider.fingerprint());
    const dataKey = randomBytes(32);
    let wrapped;
    const wrappedOk = await check('wrap a data key', async () => {
      wrapped = await provider.wrapDataKey(dataKey, 'smoke-data-key');
      return `${wrapped.length} bytes`;
    });
    if (wrappedOk) {
      await check('unwrap gives the same data key', async () => {
        const unwrapped = await provider.unwrapDataKey(wrapped, 'smoke-data-key');
        if (!unwrapped.equals(dataKey)) throw new Error('the unwrapped key differs');
      });
      await check('unwrap under another data key id is refused (DecryptionFailedError)', () =>
        refusedWithDecryptionFailed(() => provider.unwrapDataKey(wrapped, 'another-data-key')),
      );
      await check('an altered wrapped key is refused by the vault (DecryptionFailedError)', () => {
        const altered = Buffer.from(wrapped);
        altered[altered.length - 1] ^= 0x01;
        return refusedWithDecryptionFailed(() => provider.unwrapDataKey(altered, 'smoke-data-key'));
      });
    }
  } finally {
    provider.destroy?.();
  }
}

console.log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
process.exitCode = failures === 0 ? 0 : 1;
