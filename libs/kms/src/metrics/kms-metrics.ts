import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * nest-kms's Prometheus metrics, in a registry of their own (so several applications in one
 * process never collide): serve `await registry.metrics()` on a metrics endpoint, or fold it
 * into the application's with `Registry.merge([appRegistry, kmsMetrics.registry])`. Names from
 * the design document where it has one (`kms_init_time`, `decryption_errors`,
 * `key_rotation_frequency`); libraries built on the KMS add theirs here too.
 */
@Injectable()
export class KmsMetrics {
  readonly registry = new Registry();

  /** Seconds the last start-up (master key, keyring load) took. */
  readonly initTime = new Gauge({
    name: 'kms_init_time',
    help: 'Seconds the last KMS initialisation took (master key resolution and keyring load)',
    registers: [this.registry],
  });

  readonly decryptionErrors = new Counter({
    name: 'decryption_errors',
    help: 'Decryptions refused (wrong key, altered envelope, AAD mismatch), by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  /** rate(key_rotation_frequency[30d]) is the rotation frequency the design document asks for. */
  readonly keyRotations = new Counter({
    name: 'key_rotation_frequency',
    help: 'Data-key rotations made by this process, by reason (manual, age, usage_limit)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly reencryptedEnvelopes = new Counter({
    name: 'kms_reencryption_envelopes_total',
    help: 'Envelopes the re-encryption job moved to the active key (moved) or could not open (failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly reencryptionRemaining = new Gauge({
    name: 'kms_reencryption_remaining',
    help: 'Envelopes under retired keys as of the last re-encryption progress report',
    registers: [this.registry],
  });

  /** Gauges read at scrape time from `read` (the KMS status). */
  observeKeyring(
    read: () => {
      activeKeyAgeMs: number | null;
      activeKeyEncryptions: number | null;
      dataKeysCount: number;
    },
  ): void {
    new Gauge({
      name: 'kms_active_key_age_seconds',
      help: 'Age of the active data key',
      registers: [this.registry],
      collect() {
        const age = read().activeKeyAgeMs;
        if (age !== null) this.set(age / 1000);
      },
    });
    new Gauge({
      name: 'kms_active_key_encryptions',
      help: 'Envelopes sealed under the active data key (all replicas as of the last flush, plus this one since)',
      registers: [this.registry],
      collect() {
        const count = read().activeKeyEncryptions;
        if (count !== null) this.set(count);
      },
    });
    new Gauge({
      name: 'kms_data_keys',
      help: 'Data keys in this keyring (active and retired)',
      registers: [this.registry],
      collect() {
        this.set(read().dataKeysCount);
      },
    });
  }
}
