import { failedItem, type BatchItem } from '../envelope/batch-items.js';
import type { BatchResult } from '../interfaces/kms-batch.interface.js';
import type { KeySource } from '../keyring/key-source.js';
import type { TenantKeySet } from '../keyring/tenant-key-set.js';
import type { ColumnCipher } from './column-cipher.js';

/** The key sets of the tenants one write or one load uses, by tenant id. */
export type TenantKeySets = ReadonlyMap<string, TenantKeySet>;

/**
 * The key sets of `tenants`, through `keysOf`: synchronously while every one is in memory (the
 * usual write of a tenant already seen), else once all are loaded.
 */
export function tenantKeySets(
  tenants: ReadonlySet<string>,
  keysOf: (tenant: string) => TenantKeySet | Promise<TenantKeySet>,
): TenantKeySets | Promise<TenantKeySets> {
  const sets = new Map<string, TenantKeySet>();
  let loading: Promise<void>[] | undefined;
  for (const tenant of tenants) {
    const keys = keysOf(tenant);
    if (!(keys instanceof Promise)) sets.set(tenant, keys);
    else (loading ??= []).push(keys.then((loaded) => void sets.set(tenant, loaded)));
  }
  return loading ? Promise.all(loading).then(() => sets) : sets;
}

/**
 * The values at `sealed` opened in one batch per tenant (the keyring's own values in one), each
 * tenant's keys loaded once; the results in `sealed`'s order.
 */
export function openPerTenant(
  cipher: ColumnCipher,
  values: readonly { stored: unknown; aad: Buffer; tenant: string | undefined }[],
  sealed: readonly number[],
): BatchResult<Buffer>[] | Promise<BatchResult<Buffer>[]> {
  const itemOf = (at: number): BatchItem => ({ value: values[at].stored, aad: values[at].aad });
  if (sealed.every((at) => values[at].tenant === undefined)) {
    return cipher.openMany(sealed.length, (index) => itemOf(sealed[index]));
  }
  const groups = new Map<string | undefined, number[]>();
  sealed.forEach((at, index) => {
    const group = groups.get(values[at].tenant);
    if (group) group.push(index);
    else groups.set(values[at].tenant, [index]);
  });
  const results: BatchResult<Buffer>[] = [];
  const pending: Promise<void>[] = [];
  for (const [tenant, members] of groups) {
    const place = (opened: readonly BatchResult<Buffer>[]): void =>
      opened.forEach((result, at) => (results[members[at]] = result));
    const openWith = (keys?: KeySource) =>
      cipher.openMany(members.length, (at) => itemOf(sealed[members[at]]), keys);
    const failAll = (error: unknown): void => place(members.map(() => failedItem(error)));
    let opened: BatchResult<Buffer>[] | Promise<BatchResult<Buffer>[] | void>;
    try {
      const keys = tenant === undefined ? undefined : cipher.tenantKeys(tenant, false);
      opened = keys instanceof Promise ? keys.then(openWith, failAll) : openWith(keys);
    } catch (error) {
      failAll(error);
      continue;
    }
    if (opened instanceof Promise) {
      pending.push(opened.then((done) => (done ? place(done) : undefined)));
    } else place(opened);
  }
  return pending.length > 0 ? Promise.all(pending).then(() => results) : results;
}
