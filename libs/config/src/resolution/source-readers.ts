import type { ConfigService } from '@nestjs/config';
import { SecretNotFoundError, type SecretsService } from '@nest-kms/secrets';
import type { SourceReaders } from './field-resolver.js';

/**
 * Where field values come from: the secrets store (read as `actor`, audited) and the
 * environment through @nestjs/config's ConfigService. Without a SecretsService every secret
 * reads as absent; KmsConfigService reports the bound fields before it reads anything.
 */
export function configSourceReaders(
  secrets: SecretsService | undefined,
  configService: ConfigService,
  actor: string,
): SourceReaders {
  return {
    secret: async (name) => {
      if (secrets === undefined) return undefined;
      try {
        return await secrets.getSecret(name, { actor });
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
