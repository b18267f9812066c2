import type { ConfigService } from '@nestjs/config';
import { SecretNotFoundError, type SecretsService } from '@nest-kms/secrets';
import type { SourceReaders } from './field-resolver.js';

/**
 * Where field values come from: the secrets store (read as `actor`, audited) and the
 * environment through @nestjs/config's ConfigService. Without a SecretsService every secret
 * reads as absent; KmsConfigService reports the bound fields before it reads anything. With
 * `fresh`, a secret is read from the database, never from the cache (after a refusal of a
 * cached value, the cache is what is in doubt): its current version, then that version.
 */
export function configSourceReaders(
  secrets: SecretsService | undefined,
  configService: ConfigService,
  actor: string,
  { fresh = false }: { fresh?: boolean } = {},
): SourceReaders {
  const read = async (name: string): Promise<string> => {
    if (!fresh || secrets === undefined)
      return (secrets as SecretsService).getSecret(name, { actor });
    const versions = await secrets.listSecretVersions(name);
    const current = versions.find((version) => version.stage === 'current');
    // No current version: the store says why on an ordinary read (deleted, expired, ...).
    if (current === undefined) return secrets.getSecret(name, { actor });
    return secrets.getSecret(name, { actor, version: current.version });
  };
  return {
    secret: async (name) => {
      if (secrets === undefined) return undefined;
      try {
        return await read(name);
      } catch (error) {
        // Only a secret that was never stored (or was destroyed) falls through to the next source.
        if (error instanceof SecretNotFoundError && error.code === 'SECRET_NOT_FOUND')
          return undefined;
        throw error;
      }
    },
    env: (name) => configService.get(name),
  };
}
