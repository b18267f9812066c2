import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Labels of `kms_master_key_calls_total`. */
export type MasterKeyCallLabels = 'provider' | 'operation' | 'outcome';
/** Labels of `kms_master_key_call_duration_seconds`. */
export type MasterKeyTimingLabels = 'provider' | 'operation';

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

  /** Tenants' data-key rotations, apart: thousands of tenants would swamp the keyring's figure. */
  readonly tenantKeyRotations = new Counter({
    name: 'kms_tenant_key_rotations_total',
    help: "Tenants' data-key rotations made by this process, by reason (manual, age, usage_limit)",
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

  /** Every attempt of a call to the master key provider, by how it ended. */
  readonly masterKeyCalls: Counter<MasterKeyCallLabels> = new Counter({
    name: 'kms_master_key_calls_total',
    help: 'Attempts of calls to the master key provider, by provider, operation (fingerprint, wrap, unwrap) and outcome (ok, unavailable, refused, invalid, error)',
    labelNames: ['provider', 'operation', 'outcome'],
    registers: [this.registry],
  });

  /** How long each attempt of a call to the master key provider took. */
  readonly masterKeyCallSeconds: Histogram<MasterKeyTimingLabels> = new Histogram({
    name: 'kms_master_key_call_duration_seconds',
    help: 'Time of each attempt of a call to the master key provider, by provider and operation',
    labelNames: ['provider', 'operation'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** A gauge read at scrape time: seconds each master key provider has been unreachable (0 when up). */
  observeMasterKeys(read: () => { provider: string; unreachableMs: number }[]): void {
    new Gauge({
      name: 'kms_master_key_unreachable_seconds',
      help: 'Seconds since the master key provider last failed transiently with no answer since; 0 when it answers',
      labelNames: ['provider'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { provider, unreachableMs } of read())
          this.set({ provider }, unreachableMs / 1000);
      },
    });
  }

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
