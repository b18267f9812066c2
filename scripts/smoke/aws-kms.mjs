// Checks @nest-kms/aws-kms against a real AWS account: the key resolves, a data key wraps and
// unwraps, and KMS refuses it under another data key id or altered. One line per check; stops
// with exit code 1 at the first that fails, 2 when the configuration is incomplete.
// Run by hand, never in CI:
//   npm run build:packages
//   KMS_AWS_KMS_KEY_ID=alias/my-app AWS_REGION=eu-west-1 AWS_PROFILE=... node scripts/smoke/aws-kms.mjs
// Reads the same variables as KMS_MASTER_KEY_PROVIDER=aws-kms (see libs/aws-kms/README.md);
// credentials come from the SDK's default chain. Makes one DescribeKey, two Encrypt and three
// Decrypt calls; creates nothing in the account.
import { randomBytes } from 'node:crypto';
import { masterKeyFromEnvironment } from '@nest-kms/aws-kms';
import { DecryptionFailedError, KmsConfigurationError } from '@nest-kms/kms';

let provider;
try {
  provider = masterKeyFromEnvironment(process.env);
} catch (error) {
  if (!(error instanceof KmsConfigurationError)) throw error;
  console.error(`config  ${error.message}`);
  process.exit(2);
}

/** Runs one check and prints its line; the first failure ends the run (later checks build on it). */
async function check(name, work) {
  try {
    const detail = await work();
    console.log(`ok      ${name}${detail ? `: ${detail}` : ''}`);
  } catch (error) {
    const kind = error?.constructor?.name ?? 'Error';
    console.log(`FAIL    ${name}: ${kind}: ${error?.message ?? String(error)}`);
    await provider.destroy?.();
    process.exit(1);
  }
}

async function refusedAsUnverifiable(work) {
  try {
    await work();
  } catch (error) {
    if (error instanceof DecryptionFailedError) return 'refused (DecryptionFailedError)';
    throw error;
  }
  throw new Error('KMS unwrapped it');
}

const dataKey = randomBytes(32);
const keyId = `smoke-${randomBytes(6).toString('hex')}`;
let wrapped;

await check('fingerprint (DescribeKey)', () => provider.fingerprint());
await check('wrap (Encrypt)', async () => {
  wrapped = await provider.wrapDataKey(dataKey, keyId);
  return `${wrapped.length} bytes`;
});
await check('unwrap (Decrypt) gives the data key back', async () => {
  const unwrapped = await provider.unwrapDataKey(wrapped, keyId);
  if (!unwrapped.equals(dataKey)) throw new Error('the unwrapped key differs');
  unwrapped.fill(0);
});
await check('unwrap under another data key id is refused', () =>
  refusedAsUnverifiable(() => provider.unwrapDataKey(wrapped, `${keyId}-other`)),
);
await check('unwrap of an altered wrapped key is refused', () => {
  const altered = Buffer.from(wrapped);
  altered[altered.length - 1] ^= 0x01;
  return refusedAsUnverifiable(() => provider.unwrapDataKey(altered, keyId));
});
await check('a second wrap of the same key differs', async () => {
  const again = await provider.wrapDataKey(dataKey, keyId);
  if (again.equals(wrapped)) throw new Error('the same ciphertext twice');
});

dataKey.fill(0);
await provider.destroy?.();
