import { DAY_MS } from '../secrets.constants.js';

/** Share of a secret's TTL after which a rotator without `everyDays` rotates it. */
export const TTL_ROTATION_SHARE = 0.9;

/**
 * When a secret last changed at `updatedAt` is due for automatic rotation: `everyDays` after it,
 * else at 90% of its TTL. Null when neither is set (the secret has no schedule).
 */
export function rotationDueAt(
  updatedAt: number,
  ttlDays: number | null,
  everyDays: number | undefined,
): number | null {
  const days = everyDays ?? (ttlDays === null ? null : ttlDays * TTL_ROTATION_SHARE);
  return days === null ? null : updatedAt + Math.round(days * DAY_MS);
}
