import type { BatchItem } from '../envelope/batch-items.js';
import type { BatchResult } from '../interfaces/kms-batch.interface.js';
import type { KeySource } from '../keyring/key-source.js';
import type { TenantKeySet } from '../keyring/tenant-key-set.js';
import type { MasterKeyProvider } from '../master-key/master-key-provider.interface.js';

/** What encrypted columns need from the KMS: its keys in memory, through envelopes. */
export interface ColumnCipher {
  /**
   * A compact envelope of `bytes` under the active data key (of `keys`: a tenant's; default the
   * keyring's own), bound to `aad`.
   */
  seal(bytes: Buffer, aad: Buffer, keys?: KeySource): string;
  /**
   * The plaintext of a compact envelope bound to exactly `aad`. Synchronous when its data key is
   * in memory; a Promise when it must be loaded first (another replica's new key).
   */
  open(envelope: string, aad: Buffer, keys?: KeySource): Buffer | Promise<Buffer>;
  /**
   * The plaintexts of `count` compact envelopes (`itemAt`: each with the `aad` it must be bound
   * to), in order, one result each: a load of many rows opens its values together, each data key
   * not in memory fetched once for all of them.
   */
  openMany(
    count: number,
    itemAt: (at: number) => BatchItem,
    keys?: KeySource,
  ): BatchResult<Buffer>[] | Promise<BatchResult<Buffer>[]>;
  /**
   * A tenant's keys: to seal with (its first made now, on a writable region) or to open with
   * (loaded on first use, never made: a tenant without keys opens nothing).
   */
  tenantKeys(tenant: string, sealing: boolean): TenantKeySet | Promise<TenantKeySet>;
  /** The keyring's blind-index root key: blind-index keys derive from it. */
  indexRootKey(): Buffer;
  /**
   * The master key in use, then the previous one while it is held (KMS_MASTER_KEY_PREVIOUS):
   * blind indexes written before the keyring had an index root key were keyed from them.
   */
  masterKeys(): readonly MasterKeyProvider[];
}
