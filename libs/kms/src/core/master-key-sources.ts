import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { MasterKeyMissingError } from '../errors/master-key-missing.error.js';
import { KMS_EVENTS } from '../kms.messages.js';
import { LocalMasterKeyProvider } from '../master-key/local-master-key.provider.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';
import { masterKeyProviderFromEnvironment } from '../master-key/provider-packages.js';
import {
  configuredMasterKeyProvider,
  type MasterKeySource,
} from '../master-key/master-key.resolver.js';

const logger = new Logger('KmsMasterKey');

/**
 * Picks the master key: explicit option, then KMS_MASTER_KEY, then (outside production, and
 * only when asked for) a development key file. Never generates a key silently: the design
 * document's "auto-generate and copy it out of the environment" loses every secret the day
 * the process restarts without it.
 */
export async function resolveMasterKeyProvider(
  source: MasterKeySource,
): Promise<MasterKeyProvider> {
  const external = source.providerName && source.providerName !== 'local';
  if (source.masterKey === undefined && external) {
    if (source.environmentKey) {
      throw new KmsConfigurationError(
        `KMS_MASTER_KEY and KMS_MASTER_KEY_PROVIDER=${source.providerName} are both set: keep one (during a move between them, the old key goes in KMS_MASTER_KEY_PREVIOUS)`,
      );
    }
    return masterKeyProviderFromEnvironment(
      source.providerName!,
      'KMS_MASTER_KEY_PROVIDER',
      source.env ?? {},
    );
  }
  const configured = configuredMasterKeyProvider(source);
  if (configured) return configured;
  if (source.developmentMasterKeyFile) return developmentKey(source.developmentMasterKeyFile);
  throw new MasterKeyMissingError('neither KMS_MASTER_KEY nor KMS_MASTER_KEY_PROVIDER is set');
}

async function developmentKey(file: string): Promise<LocalMasterKeyProvider> {
  const existing = await readOwnerOnly(file);
  if (existing !== undefined) {
    return LocalMasterKeyProvider.fromBase64(existing, `development master key file ${file}`);
  }
  const key = randomBytes(32);
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // 'wx': fail rather than overwrite a key another process just wrote.
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
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return developmentKey(file);
    throw error;
  } finally {
    key.fill(0);
  }
}

async function readOwnerOnly(file: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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

/**
 * Releases a provider at shutdown or after a failed start, without waiting: a provider that
 * fails to close (a dropped HSM session) has nothing left to protect.
 */
export function releaseProvider(provider: MasterKeyProvider | undefined): void {
  if (!provider?.destroy) return;
  try {
    void Promise.resolve(provider.destroy()).catch(() => undefined);
  } catch {
    // As above: nothing is left to protect.
  }
}
