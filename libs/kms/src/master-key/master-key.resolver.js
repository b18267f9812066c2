import { Logger } from '@nestjs/common';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { MasterKeyMissingError } from '../errors/master-key-missing.error.js';
import { KMS_EVENTS } from '../kms.messages.js';
import { LocalMasterKeyProvider } from './local-master-key.provider.js';
const logger = new Logger('KmsMasterKey');
export async function resolveMasterKeyProvider(source) {
  const { masterKey } = source;
  if (masterKey !== undefined) {
    if (typeof masterKey === 'string')
      return LocalMasterKeyProvider.fromBase64(masterKey, 'masterKey option');
    if (Buffer.isBuffer(masterKey)) return new LocalMasterKeyProvider(masterKey);
    return masterKey;
  }
  if (source.environmentKey) return LocalMasterKeyProvider.fromBase64(source.environmentKey);
  if (source.production) {
    throw new MasterKeyMissingError('KMS_MASTER_KEY is not set and NODE_ENV is production');
  }
  if (source.developmentMasterKeyFile) return developmentKey(source.developmentMasterKeyFile);
  throw new MasterKeyMissingError('KMS_MASTER_KEY is not set');
}
async function developmentKey(file) {
  const existing = await readOwnerOnly(file);
  if (existing !== undefined) {
    return LocalMasterKeyProvider.fromBase64(existing, `development master key file ${file}`);
  }
  const key = randomBytes(32);
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${key.toString('base64')}\n`);
    } finally {
      await handle.close();
    }
    logger.warn({
      event: KMS_EVENTS.developmentMasterKey,
      file,
      created: true,
      message:
        'Generated a DEVELOPMENT master key and saved it (mode 0600) in this file. Back the file up: without it every stored key and secret is lost. Never use it in production: set KMS_MASTER_KEY.',
    });
    return new LocalMasterKeyProvider(key);
  } catch (error) {
    if (error.code === 'EEXIST') return developmentKey(file);
    throw error;
  } finally {
    key.fill(0);
  }
}
async function readOwnerOnly(file) {
  let mode;
  try {
    mode = (await stat(file)).mode;
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
  if ((mode & 0o077) !== 0) {
    throw new KmsConfigurationError(
      `development master key file ${file} is readable by group or others; chmod 600 it`,
    );
  }
  logger.warn({
    event: KMS_EVENTS.developmentMasterKey,
    file,
    created: false,
    message: 'Using the DEVELOPMENT master key file. Never in production: set KMS_MASTER_KEY.',
  });
  return readFile(file, 'utf8');
}
//# sourceMappingURL=master-key.resolver.js.map
