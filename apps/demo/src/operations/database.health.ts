import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { KmsStorage } from '@nest-kms/kms';

/**
 * Up when nest-kms's keyring table answers a read, through the library's own path (its time
 * limits, its SQLite queue). A driver answering `SELECT 1` is not enough: on SQLite that works
 * while another connection holds the lock every read and write of the app waits for.
 */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly storage: KmsStorage,
  ) {}

  isUp<const Key extends string>(key: Key) {
    return this.indicators.check(key).attempt(async () => {
      await this.storage.queryRows('SELECT id FROM kms_keyring', []);
    });
  }
}
