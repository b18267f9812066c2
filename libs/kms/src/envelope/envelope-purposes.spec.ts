import { EnvelopePurposeError } from '../errors/envelope-purpose.error.js';
import { formatCompactEnvelope, formatEnvelope, parseEnvelope } from './envelope-codec.js';
import { fromCompactEnvelope } from './envelope-conversion.js';
import type { ParsedEnvelope } from './envelope.interface.js';
import { PARTS, VALID, VALID_COMPACT, parseError } from './fixtures/envelope-fixtures.js';

describe('parseEnvelope: purposes', () => {
  const SECRET_PARTS: ParsedEnvelope = { ...PARTS, purpose: 'secret' };
  const SECRET_COMPACT = formatCompactEnvelope(SECRET_PARTS);

  it('a store envelope is kms2.<purpose>.… and parses back exactly for its purpose', () => {
    expect(SECRET_COMPACT.startsWith('kms2.secret.dk_2026-11-28.')).toBe(true);
    expect(formatCompactEnvelope(parseEnvelope(SECRET_COMPACT, 'secret'))).toBe(SECRET_COMPACT);
    expect(parseEnvelope(SECRET_COMPACT, 'secret').purpose).toBe('secret');
  });

  it.each([
    [undefined, 'secret'],
    ['column', 'secret'],
  ] as const)('opened as %s, a %s envelope is EnvelopePurposeError', (openedAs, sealedFor) => {
    const compact = formatCompactEnvelope({ ...PARTS, purpose: sealedFor });
    let error: unknown;
    try {
      parseEnvelope(compact, openedAs);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EnvelopePurposeError);
    expect(error).toMatchObject({
      code: 'KMS_ENVELOPE_PURPOSE_MISMATCH',
      expected: openedAs,
      actual: sealedFor,
    });
  });

  it("a format-v1 envelope parses for a store too (whether the store accepts it is not the codec's call)", () => {
    expect(parseEnvelope(VALID_COMPACT, 'secret').purpose).toBeUndefined();
  });

  it('store envelopes have no object form', () => {
    expect(() => formatEnvelope(SECRET_PARTS)).toThrow(EnvelopePurposeError);
    expect(parseError({ ...VALID, v: 2 }).field).toBe('v');
    expect(() => fromCompactEnvelope(SECRET_COMPACT)).toThrow(EnvelopePurposeError);
  });
});
