import { createHmac, randomBytes } from 'node:crypto';
import type { ValueTransformer } from 'typeorm';
import { isCompactEnvelopeText } from '../envelope/envelope-codec.js';
import { isCovered, notServed } from './column-coverage.js';
import { valueToBytes } from './column-value.js';
import type { EncryptedColumnSpec } from './encrypted-column.decorator.js';

/**
 * An envelope standing in an entity's property: between the subscriber's `before` and `after`
 * events (the only value the column's transformer lets through to the database), and as loaded,
 * until afterLoad opens it. Where TypeORM sends no load event (entities mapped by
 * `…AndMapOne/Many`), the property keeps this, never the ciphertext posing as the value.
 */
export class SealedValue {
  constructor(readonly envelope: string) {}
  toJSON(): string {
    return '[encrypted]';
  }
  toString(): string {
    return '[encrypted]';
  }
}

/** The envelope string of a stored value as loaded (a SealedValue), else the value itself. */
export function storedForm(value: unknown): unknown {
  return value instanceof SealedValue ? value.envelope : value;
}

// Per process, never stored: makes equal plaintexts compare equal without being plaintext.
const comparisonKey = randomBytes(32);

/**
 * TypeORM applies a column's transformer to compute what changed (both sides, plaintext here)
 * and to build WHERE values, as well as on the way to the database. So `to()` maps a plaintext
 * to a keyed hash: equal values compare equal, a `find({ where: { ssn } })` matches nothing
 * instead of sending the plaintext, and a write that skipped the subscriber stores a hash,
 * never the value. With no KMS attached it refuses outright, so nothing is saved unsealed.
 */
export class GuardedColumnTransformer implements ValueTransformer {
  constructor(private readonly spec: EncryptedColumnSpec) {}

  to(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    if (value instanceof SealedValue) return value.envelope;
    if (!isCovered(this.spec.target)) throw notServed(this.spec.target, this.spec.property);
    const field = `${this.spec.target.name}.${this.spec.property}`;
    const bytes = valueToBytes(this.spec.type, value, field);
    const digest = createHmac('sha256', comparisonKey).update(bytes).digest('base64url');
    if (this.spec.type !== 'buffer') bytes.fill(0);
    return `kms-unsealed.${digest}`;
  }

  from(value: unknown): unknown {
    return isCompactEnvelopeText(value) ? new SealedValue(value) : value;
  }
}
