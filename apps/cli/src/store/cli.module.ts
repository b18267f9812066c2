import { Module, type DynamicModule } from '@nestjs/common';
import { KmsModule, type KmsConnectionOptions } from '@nest-kms/kms';
import { SecretsModule } from '@nest-kms/secrets';

/**
 * The libraries as an application configures them, minus everything that runs in the
 * background: a CLI process runs one command and exits, so no scheduler (rotation, expiry,
 * re-encryption, the master-key probe) and no value cache. The master key is read by KmsModule
 * itself from KMS_MASTER_KEY or KMS_MASTER_KEY_PROVIDER (and their _PREVIOUS and additional
 * forms), never generated.
 */
@Module({})
export class CliModule {
  static forConnection(connection: KmsConnectionOptions): DynamicModule {
    return {
      module: CliModule,
      imports: [
        KmsModule.forRoot({
          connection,
          rotation: { checkIntervalMs: 0 },
          reencryption: { auto: false },
          masterKeyCalls: { probeIntervalMs: 0 },
        }),
        SecretsModule.forRoot({ cacheTtlMs: 0, lifecycle: { checkIntervalMs: 0 } }),
      ],
    };
  }
}
