import { Injectable } from '@nestjs/common';
import { KmsError } from '../errors/kms.error.js';
import { KmsService } from '../kms.service.js';
import { KmsStorage } from '../storage/kms-storage.js';
import type {
  KmsDatabaseHealthOptions,
  KmsHealthResult,
} from '../interfaces/kms-health.interface.js';

/**
 * Health checks for @nestjs/terminus (or any probe): each returns the shape Terminus's
 * HealthCheckService.check() takes, `{ [key]: { status: 'up' | 'down', ...details } }`, without
 * this library depending on Terminus. Provided and exported by KmsModule.
 *
 * ```ts
 * this.health.check([() => this.kmsHealth.isReady('kms'), () => this.kmsHealth.isDatabaseUp('database')]);
 * ```
 */
@Injectable()
export class KmsHealthIndicator {
  constructor(
    private readonly kms: KmsService,
    private readonly storage: KmsStorage,
  ) {}

  /** Up when the keyring is loaded with an active data key: encryption works without the database. */
  isReady<const Key extends string>(key: Key): KmsHealthResult<Key> {
    const status = this.kms.getStatus();
    const ready = status.initialized && status.masterKeyPresent && status.activeKeyId !== null;
    return result(
      key,
      ready
        ? { status: 'up', dataKeys: status.dataKeysCount }
        : { status: 'down', initialized: status.initialized },
    );
  }

  /**
   * Up when nest-kms's keyring table answers a read through the library's own path (its time
   * limits, its SQLite queue). A driver answering `SELECT 1` is not enough: on SQLite that works
   * while another connection holds the lock every read and write of the application waits for.
   * Down details carry a reason (a driver code or `timeout`), never a value.
   */
  async isDatabaseUp<const Key extends string>(
    key: Key,
    options: KmsDatabaseHealthOptions = {},
  ): Promise<KmsHealthResult<Key>> {
    const read = this.storage.queryRows('SELECT id FROM kms_keyring', []);
    let timer: NodeJS.Timeout | undefined;
    const limit =
      options.timeoutMs === undefined
        ? undefined
        : new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
          });
    try {
      const outcome = await (limit ? Promise.race([read, limit]) : read);
      if (outcome === 'timeout') return result(key, { status: 'down', reason: 'timeout' });
      return result(key, { status: 'up' });
    } catch (error) {
      return result(key, { status: 'down', reason: this.reason(error) });
    } finally {
      clearTimeout(timer);
    }
  }

  private reason(error: unknown): string {
    const unavailable = this.storage.unavailable(error);
    if (unavailable) return unavailable.reason;
    return error instanceof KmsError ? error.code : 'query failed';
  }
}

function result<const Key extends string>(
  key: Key,
  details: KmsHealthResult<Key>[Key],
): KmsHealthResult<Key> {
  return { [key]: details } as KmsHealthResult<Key>;
}
