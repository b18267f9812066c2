import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { DecryptionFailedError } from '../errors/decryption-failed.error.js';
import { EnvelopePurposeError } from '../errors/envelope-purpose.error.js';
import { MalformedEnvelopeError } from '../errors/malformed-envelope.error.js';
import { encodeAad } from './aad.js';
import { openEnvelope, sealEnvelope } from './envelope-cipher.js';
import { formatCompactEnvelope, formatEnvelope, parseEnvelope } from './envelope-codec.js';
import { ENVELOPE_PURPOSES } from './envelope.constants.js';
import type {
  AadInput,
  EnvelopePurpose,
  EnvelopeV1,
  ParsedEnvelope,
} from './envelope.interface.js';

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

const DATA_KEY = randomBytes(32);
const ERROR_FIELDS = [
  'envelope',
  'v',
  'alg',
  'keyId',
  'timestamp',
  'iv',
  'tag',
  'ciphertext',
  'aad',
];
const ENVELOPE_FIELDS = ['v', 'alg', 'keyId', 'iv', 'tag', 'ciphertext', 'aad', 'timestamp'];
const BASE64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=';

function report(property: string, runs: number, startedAt: number, detail = ''): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  // oxlint-disable-next-line no-console -- these figures are what a fuzz run reports
  console.log(`[fuzz] ${property}: ${runs} runs in ${seconds} s${detail ? ` (${detail})` : ''}`);
}

// ---------------------------------------------------------------- arbitraries

const keyIdArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const bytesArb = (minLength: number, maxLength: number) =>
  fc.uint8Array({ minLength, maxLength }).map((bytes) => Buffer.from(bytes));
const base64Arb = (minLength: number, maxLength: number, encoding: 'base64' | 'base64url') =>
  bytesArb(minLength, maxLength).map((bytes) => bytes.toString(encoding));
const textArb = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
  );
const aadInputArb: fc.Arbitrary<AadInput> = fc.oneof(
  textArb(40),
  fc.dictionary(textArb(12), textArb(24), { maxKeys: 5 }),
);
/** One character to insert or substitute: mostly base64-ish, sometimes anything. */
const charArb = fc.oneof(
  { arbitrary: fc.constantFrom(...BASE64_CHARS, '.', ' ', '\n', '%', '\u0000'), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 1 },
);

/** A valid value for a field most of the time, anything JSON-ish otherwise. */
function fieldArb<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: valid, weight: 6 },
    { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 1 },
    { arbitrary: fc.base64String({ maxLength: 40 }), weight: 1 },
    { arbitrary: fc.constantFrom(undefined, null, -1, 1.5, 2 ** 53, '', NaN), weight: 1 },
  );
}

const envelopeLikeArb = fc
  .tuple(
    fc.record(
      {
        v: fieldArb(fc.constant(1)),
        alg: fieldArb(fc.constant('aes-256-gcm')),
        keyId: fieldArb(keyIdArb),
        iv: fieldArb(base64Arb(12, 12, 'base64')),
        tag: fieldArb(base64Arb(16, 16, 'base64')),
        ciphertext: fieldArb(base64Arb(0, 48, 'base64')),
        aad: fieldArb(base64Arb(1, 48, 'base64')),
        timestamp: fieldArb(fc.maxSafeNat()),
      },
      { requiredKeys: [] },
    ),
    fc.option(fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })), {
      freq: 4,
    }),
  )
  .map(([envelope, extra]) => (extra === null ? envelope : { ...extra, ...envelope }));

const compactPartArb = fc.oneof(
  base64Arb(0, 24, 'base64url'),
  base64Arb(0, 24, 'base64'),
  keyIdArb,
  fc.maxSafeNat().map(String),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
);
const compactLikeArb = fc.oneof(
  // Well-formed shapes with field-sized parts: some parse, many fail on one part.
  fc
    .tuple(
      fc.oneof({ arbitrary: fc.constant('kms1'), weight: 5 }, compactPartArb),
      fc.oneof({ arbitrary: keyIdArb, weight: 5 }, compactPartArb),
      fc.oneof({ arbitrary: fc.maxSafeNat().map(String), weight: 5 }, compactPartArb),
      fc.oneof({ arbitrary: base64Arb(12, 12, 'base64url'), weight: 5 }, compactPartArb),
      fc.oneof({ arbitrary: base64Arb(16, 16, 'base64url'), weight: 5 }, compactPartArb),
      fc.oneof({ arbitrary: base64Arb(0, 48, 'base64url'), weight: 5 }, compactPartArb),
      fc.option(fc.oneof({ arbitrary: base64Arb(1, 48, 'base64url'), weight: 5 }, compactPartArb)),
    )
    .map((parts) => parts.filter((part) => part !== null).join('.')),
  fc.array(compactPartArb, { maxLength: 9 }).map((parts) => parts.join('.')),
  fc.string({ unit: 'binary' }),
  fc.string(),
);

const untrustedArb = fc.oneof(
  fc.jsonValue(),
  fc.anything({
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withBigInt: true,
    withDate: true,
    withTypedArray: true,
    withSparseArray: true,
  }),
  envelopeLikeArb,
  compactLikeArb,
);

/** What gets sealed for the mutation and round-trip properties. */
const sealInputArb = fc.record({
  keyId: keyIdArb,
  timestamp: fc.maxSafeNat(),
  plaintext: fc.oneof(
    bytesArb(0, 256),
    textArb(64).map((text) => Buffer.from(text, 'utf8')),
  ),
  aad: fc.option(aadInputArb, { nil: undefined }),
});
type SealInput = typeof sealInputArb extends fc.Arbitrary<infer T> ? T : never;

function seal(input: SealInput, purpose?: EnvelopePurpose): ParsedEnvelope {
  const aad = input.aad === undefined ? undefined : encodeAad(input.aad);
  return sealEnvelope(DATA_KEY, input.keyId, input.plaintext, aad, input.timestamp, purpose);
}

/** The public API's format v1, then each store's purpose. */
const PURPOSES: readonly (EnvelopePurpose | undefined)[] = [undefined, ...ENVELOPE_PURPOSES];

// ---------------------------------------------------------------- checks

function sameBytes(a: ParsedEnvelope, b: ParsedEnvelope): boolean {
  const same = (x: Buffer | undefined, y: Buffer | undefined) =>
    x === undefined || y === undefined ? x === y : x.equals(y);
  return (
    a.keyId === b.keyId &&
    a.timestamp === b.timestamp &&
    a.iv.equals(b.iv) &&
    a.tag.equals(b.tag) &&
    a.ciphertext.equals(b.ciphertext) &&
    same(a.aad, b.aad)
  );
}

/**
 * parseEnvelope on untrusted input: a MalformedEnvelopeError naming a field, or an envelope that
 * formats back to exactly the input (so no two texts parse to the same envelope).
 */
function parseUntrusted(input: unknown): 'accepted' | 'rejected' {
  let parsed: ParsedEnvelope;
  try {
    parsed = parseEnvelope(input);
  } catch (error) {
    if (error instanceof MalformedEnvelopeError && ERROR_FIELDS.includes(error.field)) {
      return 'rejected';
    }
    throw error;
  }
  if (parsed.iv.length !== 12 || parsed.tag.length !== 16) {
    throw new Error('accepted an envelope with a wrong IV or tag size');
  }
  if (typeof input === 'string') {
    if (formatCompactEnvelope(parsed) !== input)
      throw new Error('accepted a non-canonical compact form');
  } else {
    const formatted = formatEnvelope(parsed) as unknown as Record<string, unknown>;
    const given = input as Record<string, unknown>;
    for (const field of ENVELOPE_FIELDS) {
      if (formatted[field] !== given[field]) throw new Error(`accepted a non-canonical ${field}`);
    }
  }
  return 'accepted';
}

const outcomes = { malformed: 0, tag: 0 };

/**
 * A mutant of `original` must be refused: by the codec (MalformedEnvelopeError) or by the tag
 * (DecryptionFailedError). Parsing to the original's exact bytes, or decrypting, fails the property.
 */
function refuseMutant(mutant: unknown, original: ParsedEnvelope): void {
  let parsed: ParsedEnvelope;
  try {
    parsed = parseEnvelope(mutant);
  } catch (error) {
    if (!(error instanceof MalformedEnvelopeError)) throw error;
    outcomes.malformed++;
    return;
  }
  if (sameBytes(parsed, original)) {
    throw new Error(
      'a changed envelope parsed to the original bytes (non-canonical encoding accepted)',
    );
  }
  try {
    openEnvelope(DATA_KEY, parsed);
  } catch (error) {
    if (!(error instanceof DecryptionFailedError)) throw error;
    outcomes.tag++;
    return;
  }
  throw new Error('a changed envelope decrypted');
}

// ---------------------------------------------------------------- mutations

type BinaryField = 'iv' | 'tag' | 'ciphertext' | 'aad';
type Edit = { op: 'replace' | 'insert' | 'delete'; at: number; char: string };

const editArb: fc.Arbitrary<Edit> = fc.record({
  op: fc.constantFrom('replace', 'insert', 'delete'),
  at: fc.nat(),
  char: charArb,
});

/** Applies an edit at `at` modulo the string's length; an empty string can only grow. */
function applyEdit(text: string, edit: Edit): string {
  if (text.length === 0 || edit.op === 'insert') {
    const at = edit.at % (text.length + 1);
    return text.slice(0, at) + edit.char + text.slice(at);
  }
  const at = edit.at % text.length;
  return text.slice(0, at) + (edit.op === 'replace' ? edit.char : '') + text.slice(at + 1);
}

function flipBit(bytes: Buffer, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  const at = bit % (bytes.length * 8);
  copy[at >> 3] ^= 1 << (at & 7);
  return copy;
}

/** Binary fields of `parts` with at least one byte (iv and tag always qualify). */
function flippable(parts: ParsedEnvelope): BinaryField[] {
  return (['iv', 'tag', 'ciphertext', 'aad'] as const).filter(
    (field) => (parts[field]?.length ?? 0) > 0,
  );
}

/*
 * Look-alike spellings of one value: what a lenient decoder would read as the same thing. These
 * are the mutants most likely to slip through, so they are drawn on purpose, not left to chance.
 */
const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function insertAt(text: string, at: number, piece: string): string {
  const position = at % (text.length + 1);
  return text.slice(0, position) + piece + text.slice(position);
}

function base64LookAlikes(text: string, encoding: 'base64' | 'base64url', at: number): string[] {
  const [own, other] = encoding === 'base64' ? [STANDARD, URL_SAFE] : [URL_SAFE, STANDARD];
  const data = text.replace(/=+$/, '');
  const variants = [
    `${text}=`,
    data,
    data + '='.repeat((4 - (data.length % 4)) % 4),
    [...text].map((c) => (own.indexOf(c) >= 62 ? other[own.indexOf(c)] : c)).join(''),
    insertAt(text, at, ' '),
    insertAt(text, at, '\n'),
    `${text}A`,
  ];
  if (data.length % 4 !== 0) {
    // The last character carries padding bits: flip the lowest one.
    const last = data.length - 1;
    variants.push(data.slice(0, last) + own[own.indexOf(data[last]) ^ 1] + text.slice(data.length));
  }
  return variants;
}

function lookAlikes(field: string, value: unknown, at: number, compact: boolean): unknown[] {
  const text = String(value);
  switch (field) {
    case 'v':
      return compact ? ['KMS1', ' kms1', 'kms1 ', 'kms01'] : ['1', true, [1], '01'];
    case 'alg':
      return ['AES-256-GCM', ' aes-256-gcm', 'aes-256-gcm\n', 'aes256gcm'];
    case 'keyId':
      return [` ${text}`, `${text} `, `${text}\n`, `${text}\u0000`, text.toUpperCase()];
    case 'timestamp': {
      const spellings = [
        `0${text}`,
        `+${text}`,
        ` ${text}`,
        `${text}\n`,
        Number(text).toExponential(),
      ];
      return compact ? spellings : [...spellings, text, [value], { $numberLong: text }];
    }
    default:
      return base64LookAlikes(text, compact ? 'base64url' : 'base64', at);
  }
}

type ObjectMutation =
  | { kind: 'lookAlike'; field: string; pick: number; at: number }
  | { kind: 'set'; field: string; value: unknown }
  | { kind: 'delete'; field: string }
  | { kind: 'flip'; pick: number; bit: number }
  | { kind: 'edit'; field: string; edit: Edit }
  | { kind: 'timestamp'; value: number };

const fieldNameArb = fc.oneof(
  { arbitrary: fc.constantFrom(...ENVELOPE_FIELDS), weight: 4 },
  { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
);

const objectMutationArb: fc.Arbitrary<ObjectMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('lookAlike' as const),
    field: fc.constantFrom(...ENVELOPE_FIELDS),
    pick: fc.nat(),
    at: fc.nat(),
  }),
  fc.record({ kind: fc.constant('set' as const), field: fieldNameArb, value: fc.jsonValue() }),
  fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...ENVELOPE_FIELDS) }),
  fc.record({ kind: fc.constant('flip' as const), pick: fc.nat(), bit: fc.nat() }),
  fc.record({
    kind: fc.constant('edit' as const),
    field: fc.constantFrom('alg', 'keyId', 'iv', 'tag', 'ciphertext', 'aad'),
    edit: editArb,
  }),
  fc.record({
    kind: fc.constant('timestamp' as const),
    value: fc.oneof(fc.maxSafeNat(), fc.integer({ min: -3, max: 3 })),
  }),
);

function mutateObject(parts: ParsedEnvelope, m: ObjectMutation): Record<string, unknown> {
  const envelope: Record<string, unknown> = { ...formatEnvelope(parts) };
  switch (m.kind) {
    case 'lookAlike': {
      if (envelope[m.field] === undefined) return envelope; // an absent aad has no spelling
      const variants = lookAlikes(m.field, envelope[m.field], m.at, false);
      envelope[m.field] = variants[m.pick % variants.length];
      break;
    }
    case 'set':
      envelope[m.field] = m.value;
      break;
    case 'delete':
      delete envelope[m.field];
      break;
    case 'flip': {
      const fields = flippable(parts);
      const field = fields[m.pick % fields.length];
      envelope[field] = flipBit(parts[field]!, m.bit).toString('base64');
      break;
    }
    case 'edit':
      envelope[m.field] = applyEdit(String(envelope[m.field] ?? ''), m.edit);
      break;
    case 'timestamp':
      // Small values are offsets from the original, large ones a replacement.
      envelope.timestamp = Math.abs(m.value) <= 3 ? parts.timestamp + m.value : m.value;
      break;
  }
  return envelope;
}

type CompactMutation =
  | { kind: 'lookAlike'; part: number; pick: number; at: number }
  | { kind: 'edit'; edit: Edit }
  | { kind: 'flip'; pick: number; bit: number }
  | { kind: 'timestamp'; value: number }
  | { kind: 'append'; part: string }
  | { kind: 'dropLast' };

const compactMutationArb: fc.Arbitrary<CompactMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('lookAlike' as const),
    part: fc.nat(),
    pick: fc.nat(),
    at: fc.nat(),
  }),
  { arbitrary: fc.record({ kind: fc.constant('edit' as const), edit: editArb }), weight: 4 },
  fc.record({ kind: fc.constant('flip' as const), pick: fc.nat(), bit: fc.nat() }),
  fc.record({
    kind: fc.constant('timestamp' as const),
    value: fc.oneof(fc.maxSafeNat(), fc.integer({ min: -3, max: 3 })),
  }),
  fc.record({ kind: fc.constant('append' as const), part: compactPartArb }),
  fc.record({ kind: fc.constant('dropLast' as const) }),
);

const COMPACT_INDEX: Record<BinaryField, number> = { iv: 3, tag: 4, ciphertext: 5, aad: 6 };
const COMPACT_PARTS = ['v', 'keyId', 'timestamp', 'iv', 'tag', 'ciphertext', 'aad'];

function mutateCompact(parts: ParsedEnvelope, m: CompactMutation): string {
  const compact = formatCompactEnvelope(parts);
  const pieces = compact.split('.');
  switch (m.kind) {
    case 'lookAlike': {
      const index = m.part % pieces.length;
      const variants = lookAlikes(COMPACT_PARTS[index], pieces[index], m.at, true);
      pieces[index] = String(variants[m.pick % variants.length]);
      return pieces.join('.');
    }
    case 'edit':
      return applyEdit(compact, m.edit);
    case 'flip': {
      const fields = flippable(parts);
      const field = fields[m.pick % fields.length];
      pieces[COMPACT_INDEX[field]] = flipBit(parts[field]!, m.bit).toString('base64url');
      return pieces.join('.');
    }
    case 'timestamp':
      pieces[2] = String(Math.abs(m.value) <= 3 ? parts.timestamp + m.value : m.value);
      return pieces.join('.');
    case 'append':
      return `${compact}.${m.part}`;
    case 'dropLast':
      return pieces.slice(0, -1).join('.');
  }
}

// ---------------------------------------------------------------- properties

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
