import { formatCompactEnvelope, formatEnvelope, parseEnvelope } from './envelope-codec.js';
export function validateEnvelope(input) {
  return formatEnvelope(parseEnvelope(input));
}
export function toCompactEnvelope(envelope) {
  return formatCompactEnvelope(parseEnvelope(envelope));
}
export function fromCompactEnvelope(text) {
  return formatEnvelope(parseEnvelope(text));
}
//# sourceMappingURL=envelope-conversion.js.map
