import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { KmsService } from '@nest-kms/kms';

/** Ready when the keyring is loaded with an active data key: encryption works without the database. */
@Injectable()
export class KmsHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly kms: KmsService,
  ) {}

  isReady<const Key extends string>(key: Key) {
    const indicator = this.indicators.check(key);
    const status = this.kms.getStatus();
    return status.initialized && status.masterKeyPresent && status.activeKeyId !== null
      ? indicator.up({ dataKeys: status.dataKeysCount })
      : indicator.down({ initialized: status.initialized });
  }
}
