import type { Provider } from '@nestjs/common';
import { SecretRef } from './secret-ref.js';
import { SecretsService } from './secrets.service.js';
import { getSecretToken } from './secrets.utils.js';
import { checkName } from './secrets.validation.js';

/** One SecretRef provider per name, as TypeOrmModule.forFeature makes repositories. */
export function createSecretRefProviders(names: readonly string[]): Provider[] {
  return names.map((name) => {
    checkName(name);
    return {
      provide: getSecretToken(name),
      useFactory: (secrets: SecretsService) => new SecretRef(name, secrets),
      inject: [SecretsService],
    };
  });
}
