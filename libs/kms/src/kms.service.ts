import { Injectable } from '@nestjs/common';
import { ActorBlocklist } from './core/actor-blocklist.js';
import { KeyAdministration } from './core/key-administration.js';
import { KmsBootstrap } from './core/kms-bootstrap.js';
import { KmsKeyring } from './core/kms-keyring.js';
import { KmsStatusReport } from './core/kms-status-report.js';
import { encodeAad } from './envelope/aad.js';
import { formatCompactEnvelope, formatEnvelope } from './envelope/envelope-codec.js';
import type { EnvelopePurpose, EnvelopeV1 } from './envelope/envelope.interface.js';
import { checkDecryptOptions, checkEncryptOptions } from './envelope/operation-options.js';
import { checkTenant } from './envelope/tenant-id.js';
import type { DataKeyInfo } from './interfaces/data-key-info.interface.js';
import type { DataKeyRotation } from './interfaces/data-key-rotation.interface.js';
import type {
  BatchEnvelopeItem,
  BatchPlaintextItem,
  BatchResult,
  DecryptManyOptions,
  EncryptManyOptions,
} from './interfaces/kms-batch.interface.js';
import type {
  DecryptOptions,
  EncryptOptions,
} from './interfaces/kms-operation-options.interface.js';
import type { KmsStatus } from './interfaces/kms-status.interface.js';
import type { ReencryptOptions } from './interfaces/reencrypt-options.interface.js';
import type { ExportedKeyring } from './keyring/exported-keyring.js';
import { KeyringEnvelopes } from './keyring/keyring-envelopes.js';
import { KmsRegion } from './core/kms-region.js';
import { KEYRING_SUBKEY, subkeyOf, type KeyringSubkeySource } from './keyring/keyring-subkeys.js';
import type { MasterKeyInfo } from './interfaces/master-key-info.interface.js';
import type { MasterKeyRotation } from './keyring/master-keys.js';
import {
  PURPOSE_ENVELOPES,
  TENANT_PURPOSE_ENVELOPES,
  keyringPurposeEnvelopes,
  keyringTenantPurposeEnvelopes,
  type PurposeEnvelopes,
  type PurposeEnvelopesSource,
  type TenantPurposeEnvelopes,
} from './keyring/purpose-envelopes.js';
import type { MasterKeyProvider } from './master-key/master-key-provider.interface.js';
import type { ReencryptionResult } from './reencryption/reencryption.job.js';
import { KeyLifecycle } from './rotation/key-lifecycle.js';
import { KmsBatches } from './core/kms-batches.js';
import { KmsTenants } from './core/kms-tenants.js';
import type {
  DestroyTenantOptions,
  TenantDestruction,
} from './interfaces/tenant-destruction.interface.js';

/** A plaintext as decryptData returns it: the Buffer, or its UTF-8 text (the bytes zeroed). */
function decrypted(plaintext: Buffer, options: DecryptOptions): string | Buffer {
  if (options.as === 'buffer') return plaintext;
  const text = plaintext.toString('utf8');
  plaintext.fill(0);
  return text;
}

/**
 * Envelope encryption with rotating data keys. Encrypt and decrypt use keys already in
 * memory; only rotation and the first sight of another replica's key reach the database.
 * Every operation but getStatus() refuses with KmsNotInitializedError until start-up is done.
 */
@Injectable()
export class KmsService implements PurposeEnvelopesSource, KeyringSubkeySource {
  constructor(
    private readonly region: KmsRegion,
    private readonly bootstrap: KmsBootstrap,
    private readonly keyring: KmsKeyring,
    private readonly envelopes: KeyringEnvelopes,
    private readonly lifecycle: KeyLifecycle,
    private readonly keys: KeyAdministration,
    private readonly status: KmsStatusReport,
    private readonly blocklist: ActorBlocklist,
    private readonly tenants: KmsTenants,
    private readonly batches: KmsBatches,
  ) {}

  /**
   * Resolves the master key, opens the keyring (creating it on the first start) and loads every
   * data key. Idempotent; concurrent calls share one start.
   */
  initialize(): Promise<void> {
    return this.bootstrap.initialize();
  }

  /**
   * Encrypts under the active data key (the tenant's with `tenant`); returns the design
   * document's envelope object.
   */
  async encryptData(plaintext: string | Buffer, options: EncryptOptions = {}): Promise<EnvelopeV1> {
    const keys = this.tenants.sealing(checkEncryptOptions(options).tenant);
    const source = keys instanceof Promise ? await keys : keys;
    return formatEnvelope(this.envelopes.seal(plaintext, options, undefined, source));
  }

  /** As encryptData, as the compact single string (`kms1.…`) for one text column. */
  async encryptToString(plaintext: string | Buffer, options: EncryptOptions = {}): Promise<string> {
    const keys = this.tenants.sealing(checkEncryptOptions(options).tenant);
    const source = keys instanceof Promise ? await keys : keys;
    return formatCompactEnvelope(this.envelopes.seal(plaintext, options, undefined, source));
  }

  /** Validates and decrypts an envelope (object or compact string). */
  decryptData(
    envelope: EnvelopeV1 | string,
    options?: DecryptOptions & { as?: 'string' },
  ): Promise<string>;
  decryptData(
    envelope: EnvelopeV1 | string,
    options: DecryptOptions & { as: 'buffer' },
  ): Promise<Buffer>;
  decryptData(
    envelope: EnvelopeV1 | string,
    options: DecryptOptions = {},
  ): Promise<string | Buffer> {
    // Not an async function: on the hot path its promise and await cost a tenth of the cipher.
    try {
      const plaintext = this.decryptWith(envelope, options, true);
      return plaintext instanceof Promise
        ? plaintext.then((bytes) => decrypted(bytes, options))
        : Promise.resolve(decrypted(plaintext, options));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * decryptData, synchronously, for envelopes whose data key this process holds (every key it
   * loaded at start or has met since): a key that must be loaded first is a
   * DataKeyNotInMemoryError (decryptData loads it). Every other check and error is decryptData's.
   */
  decryptDataSync(
    envelope: EnvelopeV1 | string,
    options?: DecryptOptions & { as?: 'string' },
  ): string;
  decryptDataSync(
    envelope: EnvelopeV1 | string,
    options: DecryptOptions & { as: 'buffer' },
  ): Buffer;
  decryptDataSync(envelope: EnvelopeV1 | string, options: DecryptOptions = {}): string | Buffer {
    return decrypted(this.decryptWith(envelope, options, false) as Buffer, options);
  }

  /**
   * Encrypts up to KMS_MAX_BATCH_ITEMS plaintexts under the active data key: one result per
   * item, in order, `{ ok: true, value }` with its envelope or `{ ok: false, error }` with the
   * typed error that item alone met. An item is a plaintext (bound to `aad`) or
   * `{ plaintext, aad }` with its own. Options are checked once for the whole call (an invalid
   * one, or too many items, refuses the call: InvalidInputError, BatchTooLargeError).
   */
  encryptMany(
    items: readonly BatchPlaintextItem[],
    options?: EncryptManyOptions & { form?: 'object' },
  ): Promise<BatchResult<EnvelopeV1>[]>;
  encryptMany(
    items: readonly BatchPlaintextItem[],
    options: EncryptManyOptions & { form: 'compact' },
  ): Promise<BatchResult<string>[]>;
  encryptMany(
    items: readonly BatchPlaintextItem[],
    options: EncryptManyOptions = {},
  ): Promise<BatchResult<EnvelopeV1 | string>[]> {
    return this.batches.encryptMany(items, options);
  }

  /**
   * Decrypts up to KMS_MAX_BATCH_ITEMS envelopes (objects or compact strings): one result per
   * item, in order, as encryptMany's. An item is an envelope (checked against `aad`) or
   * `{ envelope, aad }` with its own expected AAD. A bad or tampered envelope fails alone and is
   * reported with `actor` as decryptData reports it; a blocked actor is refused whole
   * (ActorBlockedError). Each data key not in memory is fetched once for the whole batch.
   */
  decryptMany(
    envelopes: readonly BatchEnvelopeItem[],
    options?: DecryptManyOptions & { as?: 'string' },
  ): Promise<BatchResult<string>[]>;
  decryptMany(
    envelopes: readonly BatchEnvelopeItem[],
    options: DecryptManyOptions & { as: 'buffer' },
  ): Promise<BatchResult<Buffer>[]>;
  decryptMany(
    envelopes: readonly BatchEnvelopeItem[],
    options: DecryptManyOptions = {},
  ): Promise<BatchResult<string | Buffer>[]> {
    return this.batches.decryptMany(envelopes, options);
  }

  /**
   * Creates a new active data key; older keys keep decrypting. Returns the new key's id and the
   * id of the key this rotation retired (under concurrent rotations, each its own).
   */
  async rotateDataKey(reason = 'manual'): Promise<DataKeyRotation> {
    this.region.assertWritable('rotateDataKey');
    return this.lifecycle.rotateDataKey(reason);
  }

  /**
   * Moves an envelope under the active data key: the same plaintext and AAD sealed anew, in the
   * same form (object or compact string), for envelopes the application stores itself. The
   * plaintext never leaves this call.
   */
  async rewrapEnvelope(envelope: EnvelopeV1): Promise<EnvelopeV1>;
  async rewrapEnvelope(envelope: string): Promise<string>;
  async rewrapEnvelope(envelope: EnvelopeV1 | string): Promise<EnvelopeV1 | string> {
    this.keyring.ready();
    const parsed = await this.envelopes.reseal(envelope);
    return typeof envelope === 'string' ? formatCompactEnvelope(parsed) : formatEnvelope(parsed);
  }

  /**
   * Moves every registered column's envelopes under retired data keys to the active key, in
   * batches (one replica at a time on Postgres; `ran: false` when another holds the job).
   * `reencrypt(UserProfile)` or `{ entities }` limits it to those entities' columns.
   * Safe to interrupt: the next run continues where this one stopped.
   */
  async reencrypt(options: Function | ReencryptOptions = {}): Promise<ReencryptionResult> {
    this.keyring.ready();
    this.region.assertWritable('reencrypt');
    return this.lifecycle.reencrypt(
      typeof options === 'function' ? { entities: [options] } : options,
    );
  }

  /**
   * Makes a new active data key for `tenant` (its first, if it has none); its older keys keep
   * decrypting its envelopes.
   */
  rotateTenantKey(tenant: string): Promise<DataKeyRotation> {
    return this.tenants.rotate(tenant);
  }

  /**
   * Crypto-shredding: deletes every data key of `tenant` (and their wraps under every master
   * key) in one transaction, so every envelope sealed for it becomes unreadable for good, on
   * every replica (each drops the keys it holds when told). Refused unless `confirm` repeats the
   * tenant id (TenantDestructionNotConfirmedError). Recorded as a security event (the audit
   * trail's `destroy-tenant`). Other tenants and the keyring's own keys are untouched. What it
   * does not erase (backups, logs, plaintext copies) is in docs/tenants.md.
   */
  destroyTenant(tenant: string, options: DestroyTenantOptions): Promise<TenantDestruction> {
    return this.tenants.destroy(tenant, options);
  }

  /** Envelopes in registered columns that use data key `keyId`. */
  countEnvelopesUsing(keyId: string): Promise<number> {
    return this.keys.countEnvelopesUsing(keyId);
  }

  /**
   * Deletes a retired data key for good. Refused (DataKeyInUseError, nothing deleted) for the
   * active key or while envelopes in registered columns still use it; only registered columns
   * are counted, so envelopes the application keeps elsewhere must be rewrapped first.
   */
  async destroyDataKey(keyId: string): Promise<void> {
    this.region.assertWritable('destroyDataKey');
    return this.keys.destroyDataKey(keyId);
  }

  /**
   * Master-key rotation while running: re-wraps every data key under `masterKey` (base64, a
   * 32-byte Buffer or a provider) in one transaction and uses it from now on. Restart every
   * replica with the new key as KMS_MASTER_KEY (and the old one as KMS_MASTER_KEY_PREVIOUS
   * until all have restarted).
   */
  async rotateMasterKey(
    masterKey: string | Buffer | MasterKeyProvider,
  ): Promise<MasterKeyRotation> {
    this.region.assertWritable('rotateMasterKey');
    return this.keys.rotateMasterKey(masterKey);
  }

  /**
   * The keyring's master keys: the primary, then the additional ones (configured here or only
   * stored), with how many keys each still lacks a wrap for.
   */
  listMasterKeys(): Promise<MasterKeyInfo[]> {
    return this.keys.listMasterKeys();
  }

  /**
   * Removes an additional master key from the keyring (deletes its wraps, one transaction) and
   * returns how many there were. Stop configuring it on every replica first, or the next start
   * adds it back. The primary cannot be removed: rotate away from it.
   */
  async removeMasterKey(fingerprint: string): Promise<number> {
    this.region.assertWritable('removeMasterKey');
    return this.keys.removeMasterKey(fingerprint);
  }

  /**
   * Runs the scheduled work now: flushes usage counts, rotates the active data key if it is due
   * (age or usage), then re-encrypts if anything is under a retired key and auto is on.
   */
  async runLifecycle(): Promise<void> {
    this.keyring.ready();
    this.region.assertWritable('runLifecycle');
    await this.lifecycle.run();
  }

  /** Every data key's metadata, newest first (no key material, wrapped or not). */
  listDataKeys(): Promise<DataKeyInfo[]> {
    return this.keys.listDataKeys();
  }

  /** Every data key in its stored, wrapped form (never plain), tenants' included, for a backup. */
  exportKeyring(): Promise<ExportedKeyring> {
    return this.keys.exportKeyring();
  }

  /**
   * Adds the data keys of an export made under this master key (or the previous one, while it
   * is configured: they are re-wrapped under the current one), as retired keys (they decrypt,
   * never encrypt). Refused whole, before any write, when a key does not unwrap here or an id
   * already held carries another key. Returns the ids added. Tenants' keys in the export are
   * never added: a destroyed tenant's keys must not come back (docs/tenants.md).
   */
  async importKeyring(exported: ExportedKeyring): Promise<string[]> {
    this.region.assertWritable('importKeyring');
    return this.keys.importKeyring(exported);
  }

  /** Whether the keyring is open, its active key, counts and the last re-encryption; any time. */
  getStatus(): KmsStatus {
    return this.status.status();
  }

  /** decryptData and decryptDataSync: a key not in memory is fetched only when `fetch`. */
  private decryptWith(
    envelope: EnvelopeV1 | string,
    options: DecryptOptions,
    fetch: boolean,
  ): Buffer | Promise<Buffer> {
    this.keyring.ready();
    checkDecryptOptions(options);
    this.blocklist.assertAllowed(options.actor);
    const expectedAad = options.aad === undefined ? undefined : encodeAad(options.aad);
    if (!fetch) {
      const inMemory = this.tenants.inMemory(options.tenant);
      return this.envelopes.openInMemory(envelope, expectedAad, options.actor, inMemory);
    }
    const keys = this.tenants.opening(options.tenant);
    return keys instanceof Promise
      ? keys.then((loaded) =>
          this.envelopes.open(envelope, expectedAad, undefined, options.actor, loaded),
        )
      : this.envelopes.open(envelope, expectedAad, undefined, options.actor, keys);
  }

  /** A derived key, for nest-kms's own libraries (reached through keyringSubkey()). */
  [KEYRING_SUBKEY](label: string): Buffer {
    return subkeyOf(this.keyring.ready().indexRootKey, label);
  }

  /** A store's envelopes, for nest-kms's own libraries (reached through purposeEnvelopes()). */
  [PURPOSE_ENVELOPES](purpose: EnvelopePurpose): PurposeEnvelopes {
    return keyringPurposeEnvelopes(this.envelopes, purpose);
  }

  /** A store's envelopes under a tenant's keys (reached through tenantPurposeEnvelopes()). */
  [TENANT_PURPOSE_ENVELOPES](purpose: EnvelopePurpose, tenant: string): TenantPurposeEnvelopes {
    checkTenant(tenant);
    return keyringTenantPurposeEnvelopes(this.envelopes, purpose, {
      sealing: () => this.tenants.sealing(tenant),
      opening: () => this.tenants.opening(tenant),
    });
  }
}
