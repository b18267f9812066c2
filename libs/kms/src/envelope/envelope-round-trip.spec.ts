import {
  formatCompactEnvelope,
  formatEnvelope,
  parseCompactEnvelope,
  parseEnvelope,
} from './envelope-codec.js';
import { fromCompactEnvelope, toCompactEnvelope, validateEnvelope } from './envelope-conversion.js';
import type { ParsedEnvelope } from './envelope.interface.js';
import { PARTS, NO_AAD, VALID, VALID_COMPACT } from './fixtures/envelope-fixtures.js';

describe('formatEnvelope / formatCompactEnvelope round trips', () => {
  const shapes: [string, ParsedEnvelope][] = [
    ['with aad', PARTS],
    ['without aad', NO_AAD],
    ['with an empty ciphertext', { ...PARTS, ciphertext: Buffer.alloc(0) }],
    ['with an empty ciphertext and no aad', { ...NO_AAD, ciphertext: Buffer.alloc(0) }],
    ['at timestamp 0', { ...PARTS, timestamp: 0 }],
  ];

  it.each(shapes)('%s: the design shape, base64 fields', (_, parts) => {
    const envelope = formatEnvelope(parts);
    expect(envelope).toEqual({
      v: 1,
      alg: 'aes-256-gcm',
      keyId: parts.keyId,
      iv: parts.iv.toString('base64'),
      tag: parts.tag.toString('base64'),
      ciphertext: parts.ciphertext.toString('base64'),
      timestamp: parts.timestamp,
      ...(parts.aad === undefined ? {} : { aad: parts.aad.toString('base64') }),
    });
    expect('aad' in envelope).toBe(parts.aad !== undefined);
  });

  it.each(shapes)('%s: object -> compact -> object is deep-equal', (_, parts) => {
    const object = formatEnvelope(parts);
    const compact = formatCompactEnvelope(parseEnvelope(object));
    expect(compact.startsWith('kms1.')).toBe(true);
    expect(compact.split('.')).toHaveLength(parts.aad === undefined ? 6 : 7);
    expect(formatEnvelope(parseEnvelope(compact))).toEqual(object);
    expect(fromCompactEnvelope(toCompactEnvelope(object))).toEqual(object);
  });

  it.each(shapes)('%s: compact -> object -> compact is identical', (_, parts) => {
    const compact = formatCompactEnvelope(parts);
    const object = formatEnvelope(parseCompactEnvelope(compact));
    expect(formatCompactEnvelope(parseEnvelope(object))).toBe(compact);
    expect(toCompactEnvelope(fromCompactEnvelope(compact))).toBe(compact);
    expect(formatCompactEnvelope(parseEnvelope(JSON.parse(JSON.stringify(object))))).toBe(compact);
  });

  it('validateEnvelope returns a fresh, equal envelope object for either form', () => {
    expect(validateEnvelope(VALID)).toEqual(VALID);
    expect(validateEnvelope(VALID)).not.toBe(VALID);
    expect(validateEnvelope(VALID_COMPACT)).toEqual(VALID);
  });

  it('the compact form carries only URL- and column-safe characters', () => {
    expect(VALID_COMPACT).toMatch(/^kms1\.[A-Za-z0-9_-]+\.[0-9]+(\.[A-Za-z0-9_-]*){3,4}$/);
  });
});
