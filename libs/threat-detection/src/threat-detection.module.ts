import { type DynamicModule, Module } from '@nestjs/common';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  OPTIONS_TYPE,
} from './threat-detection.module-definition.js';
import { THREAT_DETECTION_PROVIDERS } from './threat-detection.providers.js';
import { ThreatsService } from './threats.service.js';

/**
 * Threat detection over the audit trail of @nest-kms/secrets: import it beside KmsModule and
 * SecretsModule (and EventEmitterModule.forRoot() to receive detections as Nest events).
 */
@Module({ providers: THREAT_DETECTION_PROVIDERS, exports: [ThreatsService] })
export class ThreatDetectionModule extends ConfigurableModuleClass {
  static forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
