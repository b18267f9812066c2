import { Module, type DynamicModule } from '@nestjs/common';
import { KmsModule, type KmsConnectionOptions } from '@nest-kms/kms';
import { SecretsModule } from '@nest-kms/secrets';
import { ThreatDetectionModule } from '@nest-kms/threat-detection';

/**
 * The libraries as an application configures them, minus everything that runs in the
 * background: a CLI process runs one command and exits, so no scheduler (rotation, expiry,
 * re-encryption, the master-key probe) and no value cache. The master key is read by KmsModule
 * itself from KMS_MASTER_KEY or KMS_MASTER_KEY_PROVIDER (and their _PREVIOUS and additional
 * forms), never generated. Threat detection's tables are opened only for the commands that read
 * them (`threats ...`): the detector itself runs in the application, never here.
 */
@Module({})
export class CliModule {
  static forConnection(
    connection: KmsConnectionOptions,
    { threatDetection = false }: { threatDetection?: boolean } = {},
  ): DynamicModule {
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
        ...(threatDetection
          ? [ThreatDetectionModule.forRoot({ intervalMs: 0, verifyIntervalMs: 0 })]
          : []),
      ],
    };
  }
}
