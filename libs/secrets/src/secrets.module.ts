import { Module, type DynamicModule } from '@nestjs/common';
import { SecretsCoreModule } from './secrets-core.module.js';
import { ASYNC_OPTIONS_TYPE, OPTIONS_TYPE } from './secrets.module-definition.js';
import { createSecretRefProviders } from './secrets.providers.js';

/**
 * `SecretsModule.forRoot({...})` / `forRootAsync(...)` once, beside KmsModule;
 * `SecretsModule.forFeature(['API_KEY'])` in a feature module for `@InjectSecret('API_KEY')`.
 */
@Module({})
export class SecretsModule {
  static forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    const core = SecretsCoreModule.forRoot(options);
    return { module: SecretsModule, imports: [core], exports: [core] };
  }

  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    const core = SecretsCoreModule.forRootAsync(options);
    return { module: SecretsModule, imports: [core], exports: [core] };
  }

  /** SecretRef providers for `names`, injectable with @InjectSecret(name). */
  static forFeature(names: readonly string[]): DynamicModule {
    const providers = createSecretRefProviders(names);
    return { module: SecretsModule, providers, exports: providers };
  }
}
