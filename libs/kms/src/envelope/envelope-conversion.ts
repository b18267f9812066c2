import { formatCompactEnvelope, formatEnvelope, parseEnvelope } from './envelope-codec.js';
import type { EnvelopeV1 } from './envelope.interface.js';

/** Validates an untrusted value (object or compact string) and returns it as an envelope object. */
export function validateEnvelope(input: unknown): EnvelopeV1 {
  return formatEnvelope(parseEnvelope(input));
}

/** The compact single-string form of an envelope; `fromCompactEnvelope` gives back an equal object. */
export function toCompactEnvelope(envelope: EnvelopeV1): string {
  return formatCompactEnvelope(parseEnvelope(envelope));
}

/** The envelope object of a compact string. */
export function fromCompactEnvelope(text: string): EnvelopeV1 {
  return formatEnvelope(parseEnvelope(text));
}
