import { Module } from '@nestjs/common';
import { ConfigurableModuleClass } from './secrets.module-definition.js';
import { SECRETS_PROVIDERS } from './secrets.providers.js';
import { SecretsAuditTrail } from './audit/secrets-audit-trail.js';
import { SecretsService } from './secrets.service.js';

/** Holds the one SecretsService of the application and its collaborators (global by default). */
@Module({
  providers: SECRETS_PROVIDERS,
  exports: [SecretsService, SecretsAuditTrail],
})
export class SecretsCoreModule extends ConfigurableModuleClass {}
