import type { EntityManager } from 'typeorm';
import { SecretTagEntity } from '../entities/secret-tag.entity.js';

/** Rows per multi-row INSERT: 50 tags make 100 rows, far below either engine's parameter limit. */
const ROWS_PER_INSERT = 200;

/** The kms_secret_tags rows of a secret's tags (its JSON column): `key` and `key=value` each. */
export function tagRows(secretName: string, tagsJson: string): SecretTagEntity[] {
  const tags = JSON.parse(tagsJson) as Record<string, string>;
  return Object.entries(tags).flatMap(([key, value]) => [
    { secretName, tag: key },
    { secretName, tag: `${key}=${value}` },
  ]);
}

/** In a write's transaction: the secret's tag rows become those of `tagsJson`. */
export async function replaceSecretTags(
  manager: EntityManager,
  secretName: string,
  tagsJson: string,
): Promise<void> {
  await deleteSecretTags(manager, secretName);
  await insertTagRows(manager, tagRows(secretName, tagsJson));
}

export async function deleteSecretTags(manager: EntityManager, secretName: string): Promise<void> {
  await manager.delete(SecretTagEntity, { secretName });
}

export async function insertTagRows(
  manager: EntityManager,
  rows: readonly SecretTagEntity[],
): Promise<void> {
  for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
    await manager.insert(SecretTagEntity, rows.slice(at, at + ROWS_PER_INSERT));
  }
}
