import { ColumnNotServedError, type KmsDataSourceUse } from '../errors/column-not-served.error.js';

/** Declaring classes whose encrypted columns some attached KMS seals (count per attachment). */
const covered = new Map<Function, number>();

/** The DataSource each initialised KMS of this process uses, for the refusal's advice. */
const kmsDataSources = new Map<object, KmsDataSourceUse>();

export function coverTargets(targets: Iterable<Function>, delta: 1 | -1): void {
  for (const target of targets) {
    const count = (covered.get(target) ?? 0) + delta;
    if (count > 0) covered.set(target, count);
    else covered.delete(target);
  }
}

export function isCovered(target: Function): boolean {
  return covered.has(target);
}

/** Records (or, with undefined, forgets) the DataSource the KMS behind `attachment` uses. */
export function useKmsDataSource(attachment: object, use: KmsDataSourceUse | undefined): void {
  if (use) kmsDataSources.set(attachment, use);
  else kmsDataSources.delete(attachment);
}

/** The refusal of a write to `target.property` that no initialised KMS serves. */
export function notServed(target: Function, property: string): ColumnNotServedError {
  return new ColumnNotServedError(target.name, property, [...kmsDataSources.values()]);
}
