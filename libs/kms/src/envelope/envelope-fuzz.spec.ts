import fc from 'fast-check';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { EnvelopePurposeError } from '../errors/envelope-purpose.error.js';
import { encodeAad } from './aad.js';
import { openEnvelope } from './envelope-cipher.js';
import { formatCompactEnvelope, formatEnvelope, parseEnvelope } from './envelope-codec.js';
import type { EnvelopeV1 } from './envelope.interface.js';
import { openUsualEnvelope } from './usual-envelope.js';

import {
  DATA_KEY,
  untrustedArb,
  sealInputArb,
  seal,
  PURPOSES,
} from './fixtures/fuzz-arbitraries.js';
import { sameBytes, parseUntrusted, outcomes, refuseMutant } from './fixtures/fuzz-checks.js';
import {
  objectMutationArb,
  mutateObject,
  compactMutationArb,
  mutateCompact,
} from './fixtures/fuzz-mutations.js';

/*
 * Property-based fuzzing of the envelope codec and cipher at the pure level (no Nest, no
 * database). `npm run fuzz` sets FUZZ_RUNS=1000000 and runs only this file; the normal suite
 * uses 3000 runs per property.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
if (!Number.isSafeInteger(RUNS) || RUNS < 1) {
  throw new Error(`FUZZ_RUNS must be a positive integer (got "${process.env.FUZZ_RUNS}")`);
}
/*
 * Vitest 4 runs a test without any timer when its timeout is <= 0 (`withTimeout` in
 * @vitest/runner returns the function unwrapped). A finite timeout would also fail a synchronous
 * run that merely took long, after the fact, so a FUZZ_RUNS run gets 0; the normal suite keeps
 * the configured testTimeout.
 */
const TIMEOUT = process.env.FUZZ_RUNS === undefined ? undefined : 0;

function report(property: string, runs: number, startedAt: number, detail = ''): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  // oxlint-disable-next-line no-console -- these figures are what a fuzz run reports
  console.log(`[fuzz] ${property}: ${runs} runs in ${seconds} s${detail ? ` (${detail})` : ''}`);
}

describe(`envelope fuzz (${RUNS} runs per property)`, () => {
  it(
    '(a) parseEnvelope only ever throws MalformedEnvelopeError on untrusted input',
    { timeout: TIMEOUT },
    () => {
      const startedAt = performance.now();
      const seen = { accepted: 0, rejected: 0 };
      fc.assert(
        fc.property(untrustedArb, (input) => {
          seen[parseUntrusted(input)]++;
        }),
        { numRuns: RUNS },
      );
      report(
        '(a) untrusted input',
        RUNS,
        startedAt,
        `${seen.rejected} rejected, ${seen.accepted} accepted canonical`,
      );
      expect(seen.accepted + seen.rejected).toBe(RUNS);
      expect(seen.rejected).toBeGreaterThan(0);
    },
  );

  it('(b1) every mutation of a sealed envelope object is refused', { timeout: TIMEOUT }, () => {
    const startedAt = performance.now();
    outcomes.malformed = 0;
    outcomes.tag = 0;
    let skipped = 0;
    fc.assert(
      fc.property(sealInputArb, objectMutationArb, (input, mutation) => {
        const original = seal(input);
        const mutant = mutateObject(original, mutation);
        const unchanged = JSON.stringify(mutant) === JSON.stringify(formatEnvelope(original));
        if (unchanged) skipped++;
        fc.pre(!unchanged);
        refuseMutant(mutant, original);
      }),
      { numRuns: RUNS },
    );
    report(
      '(b1) object mutants',
      RUNS,
      startedAt,
      `${outcomes.malformed} malformed, ${outcomes.tag} failed the tag, 0 accepted, ${skipped} no-op draws skipped`,
    );
    expect(outcomes.malformed + outcomes.tag).toBe(RUNS);
    expect(outcomes.malformed).toBeGreaterThan(0);
    expect(outcomes.tag).toBeGreaterThan(0);
  });

  it('(b2) every mutation of a sealed compact envelope is refused', { timeout: TIMEOUT }, () => {
    const startedAt = performance.now();
    outcomes.malformed = 0;
    outcomes.tag = 0;
    let skipped = 0;
    fc.assert(
      fc.property(sealInputArb, compactMutationArb, (input, mutation) => {
        const original = seal(input);
        const mutant = mutateCompact(original, mutation);
        const unchanged = mutant === formatCompactEnvelope(original);
        if (unchanged) skipped++;
        fc.pre(!unchanged);
        refuseMutant(mutant, original);
      }),
      { numRuns: RUNS },
    );
    report(
      '(b2) compact mutants',
      RUNS,
      startedAt,
      `${outcomes.malformed} malformed, ${outcomes.tag} failed the tag, 0 accepted, ${skipped} no-op draws skipped`,
    );
    expect(outcomes.malformed + outcomes.tag).toBe(RUNS);
    expect(outcomes.malformed).toBeGreaterThan(0);
    expect(outcomes.tag).toBeGreaterThan(0);
  });

  it('(c) random plaintexts and AADs round-trip through both forms', { timeout: TIMEOUT }, () => {
    const startedAt = performance.now();
    let withAad = 0;
    fc.assert(
      fc.property(sealInputArb, (input) => {
        const parts = seal(input);
        const stored = JSON.parse(JSON.stringify(formatEnvelope(parts))) as EnvelopeV1;
        const expectedAad = input.aad === undefined ? undefined : encodeAad(input.aad);
        if (expectedAad !== undefined) withAad++;
        for (const envelope of [stored, formatCompactEnvelope(parts)]) {
          const parsed = parseEnvelope(envelope);
          if (!sameBytes(parsed, parts)) throw new Error('the envelope did not survive formatting');
          if (!openEnvelope(DATA_KEY, parsed).equals(input.plaintext)) {
            throw new Error('the plaintext did not round-trip');
          }
          const aadKept =
            expectedAad === undefined ? parsed.aad === undefined : parsed.aad?.equals(expectedAad);
          if (!aadKept) throw new Error('the AAD did not round-trip');
          // The decrypt hot path opens it alike, and only under exactly its AAD.
          const usual = openUsualEnvelope(envelope, undefined, () => DATA_KEY, expectedAad);
          if (!usual?.equals(input.plaintext)) throw new Error('the usual path did not open it');
          const other = Buffer.concat([expectedAad ?? Buffer.of(1), Buffer.of(0)]);
          if (openUsualEnvelope(envelope, undefined, () => DATA_KEY, other) !== undefined) {
            throw new Error('the usual path opened it under another AAD');
          }
        }
      }),
      { numRuns: RUNS },
    );
    report('(c) round trips', RUNS, startedAt, `${withAad} with AAD`);
    expect(withAad).toBeGreaterThan(0);
  });

  it(
    '(d) an envelope relabelled to another purpose never opens, whatever its AAD',
    { timeout: TIMEOUT },
    () => {
      const startedAt = performance.now();
      let relabelled = 0;
      fc.assert(
        fc.property(
          sealInputArb,
          fc.constantFrom(...PURPOSES),
          fc.constantFrom(...PURPOSES),
          (input, sealedFor, openedAs) => {
            fc.pre(sealedFor !== openedAs);
            const original = seal(input, sealedFor);
            // What an attacker who can write the table would store: the same bytes, relabelled.
            const compact = formatCompactEnvelope({ ...original, purpose: openedAs });
            const parsed = parseEnvelope(compact, openedAs);
            expect(parsed.purpose).toBe(openedAs);
            expect(() => openEnvelope(DATA_KEY, parsed)).toThrow(DecryptionFailedError);
            // Unrelabelled, it is refused for its purpose before any crypto runs.
            if (sealedFor !== undefined) {
              expect(() => parseEnvelope(formatCompactEnvelope(original), openedAs)).toThrow(
                EnvelopePurposeError,
              );
            }
            relabelled++;
          },
        ),
        { numRuns: RUNS },
      );
      report('(d) purposes', RUNS, startedAt, `${relabelled} relabelled envelopes, 0 opened`);
      expect(relabelled).toBeGreaterThan(0);
    },
  );
});
