import type { DataKeyRotation } from '@nest-kms/kms';

/**
 * Checks that `rotations`, made concurrently in any order, each name the key they retired:
 * starting at `firstKeyId`, every key is retired by exactly one rotation, so following
 * previousKeyId → keyId visits every rotation once, in one line. Returns the keys in that order.
 */
export function expectOneRotationChain(
  firstKeyId: string,
  rotations: readonly DataKeyRotation[],
): string[] {
  const retiredBy = new Map<string | null, DataKeyRotation>();
  for (const rotation of rotations) {
    expect(retiredBy.get(rotation.previousKeyId), 'two rotations retired one key').toBeUndefined();
    retiredBy.set(rotation.previousKeyId, rotation);
  }
  const chain = [firstKeyId];
  for (let next = retiredBy.get(firstKeyId); next; next = retiredBy.get(next.keyId)) {
    chain.push(next.keyId);
  }
  expect(chain).toHaveLength(rotations.length + 1);
  expect(new Set(chain).size).toBe(chain.length);
  return chain;
}
