import { randomBytes } from 'node:crypto';
import {
  AadMismatchError,
  DataKeyNotFoundError,
  DecryptionFailedError,
  KmsError,
  KmsNotInitializedError,
  MalformedEnvelopeError,
  toCompactEnvelope,
  type AadInput,
  type EnvelopeV1,
} from '@nest-kms/kms';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { KmsFixture, newMasterKey, type KmsApp } from './support/kms-fixture.js';

/*
 * Envelope behaviour through the real KmsService (Nest module, keyring in the database) on
 * every engine. Nest's Logger override is process-wide: the app created last receives all log
 * lines, so each block keeps one app alive while it checks logs.
 */

const MIB = 1024 * 1024;

/** Exactly 1 MiB of UTF-8: random ASCII mixed with 2-, 3- and 4-byte characters. */
function oneMibOfText(): string {
  // Each chunk: 鍵 (3 bytes) + 🔑 (4) + e + U+0301 (1 + 2) + 54 ASCII characters = 64 bytes.
  const chunks = Array.from(
    { length: MIB / 64 },
    () => `鍵🔑e\u0301${randomBytes(42).toString('base64').slice(0, 54)}`,
  );
  const text = chunks.join('');
  if (Buffer.byteLength(text, 'utf8') !== MIB) throw new Error('the 1 MiB text is not 1 MiB');
  return text;
}

/** Payloads to round-trip, as strings (their UTF-8 is the plaintext). */
const TEXT_PAYLOADS: [string, string][] = [
  ['empty', ''],
  ['1 byte', 'x'],
  ['emoji (surrogate pairs, ZWJ sequence, variation selector)', 'key 🔑 family 👩‍👩‍👧 ❤️ 🗝️'],
  ['CJK', '鍵管理サービス 密钥管理 키 관리'],
  ['combining characters (decomposed)', 'Åström e\u0301 n\u0303 a\u0308\u0301 Z\u0335\u0321'],
  ['1 MiB of mixed UTF-8 text', oneMibOfText()],
];

/** Payloads to round-trip as Buffers: arbitrary bytes, not UTF-8. */
const BINARY_PAYLOADS: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['1 byte 0xff (not UTF-8)', Buffer.of(0xff)],
  ['lone continuation bytes', Buffer.from([0x80, 0xbf, 0xc0, 0x00, 0xfe])],
  ['1 MiB of random bytes', randomBytes(MIB)],
];

function flipBitBase64(base64: string, bit: number): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[bit >> 3] ^= 1 << (bit & 7);
  return bytes.toString('base64');
}

/** Expects `promise` to reject with a KmsError of class `type`; returns it. */
async function rejection<T extends KmsError>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(type);
  return outcome as T;
}

describe.each(ENGINES)('KmsService envelopes on %s', (engine) => {
  const masterKey = newMasterKey();
  let db: TestDatabase | undefined;
  let k: KmsApp | undefined;
  /** Every distinctive plaintext this block encrypts, for the final log scan. */
  const plaintexts: Buffer[] = [];

  const kms = () => k!.kms;

  beforeAll(async () => {
    db = await createTestDatabase(engine);
    k = await KmsFixture.start(db, masterKey);
  });

  afterAll(async () => {
    await k?.close();
    await db?.drop();
  });

  describe('round trips', () => {
    it.each(TEXT_PAYLOADS)('%s, as a string, object and compact forms', async (_, text) => {
      plaintexts.push(Buffer.from(text, 'utf8'));
      const before = Date.now();
      const envelope = await kms().encryptData(text);
      const compact = await kms().encryptToString(text);
      const after = Date.now();

      expect(envelope).toMatchObject({
        v: 1,
        alg: 'aes-256-gcm',
        keyId: kms().getStatus().activeKeyId,
      });
      expect(envelope.timestamp).toBeGreaterThanOrEqual(before);
      expect(envelope.timestamp).toBeLessThanOrEqual(after);
      expect('aad' in envelope).toBe(false);
      expect(Buffer.from(envelope.ciphertext, 'base64')).toHaveLength(Buffer.byteLength(text));
      expect(compact.startsWith(`kms1.${envelope.keyId}.`)).toBe(true);

      expect(await kms().decryptData(envelope)).toBe(text);
      expect(await kms().decryptData(compact)).toBe(text);
      expect(await kms().decryptData(JSON.parse(JSON.stringify(envelope)) as EnvelopeV1)).toBe(
        text,
      );
      const asBuffer = await kms().decryptData(compact, { as: 'buffer' });
      expect(Buffer.isBuffer(asBuffer)).toBe(true);
      expect(asBuffer.equals(Buffer.from(text, 'utf8'))).toBe(true);
    });

    it.each(BINARY_PAYLOADS)('%s, as a Buffer, object and compact forms', async (_, bytes) => {
      if (bytes.length >= 4) plaintexts.push(bytes);
      const original = Buffer.from(bytes);
      const envelope = await kms().encryptData(bytes);
      const compact = await kms().encryptToString(bytes);
      for (const stored of [envelope, compact]) {
        const opened = await kms().decryptData(stored, { as: 'buffer' });
        expect(opened.equals(bytes)).toBe(true);
      }
      // The caller's Buffer is neither consumed nor zeroed by encryption.
      expect(bytes.equals(original)).toBe(true);
    });

    it('the compact form and the object form of one envelope are interchangeable', async () => {
      const envelope = await kms().encryptData('interchangeable-plaintext', { aad: 'ctx' });
      plaintexts.push(Buffer.from('interchangeable-plaintext'));
      const compact = toCompactEnvelope(envelope);
      expect(await kms().decryptData(compact, { aad: 'ctx' })).toBe('interchangeable-plaintext');
    });
  });

  describe('AAD', () => {
    const secret = 'aad-bound-plaintext-7f3c';

    it('a string AAD: the same string decrypts, another string is an AadMismatchError', async () => {
      plaintexts.push(Buffer.from(secret));
      const envelope = await kms().encryptData(secret, { aad: 'user-42' });
      expect(await kms().decryptData(envelope, { aad: 'user-42' })).toBe(secret);
      await rejection(kms().decryptData(envelope, { aad: 'user-43' }), AadMismatchError);
      await rejection(kms().decryptData(envelope, { aad: { user: '42' } }), AadMismatchError);
      await rejection(kms().decryptData(envelope, { aad: '' }), AadMismatchError);
    });

    it('a map AAD: the same map in any key order decrypts, any other map does not', async () => {
      const aad = { tenant: 'acme', field: 'ssn', region: 'eu' };
      const compact = await kms().encryptToString(secret, { aad });
      for (const same of [
        { region: 'eu', field: 'ssn', tenant: 'acme' },
        { field: 'ssn', tenant: 'acme', region: 'eu' },
      ]) {
        expect(await kms().decryptData(compact, { aad: same })).toBe(secret);
      }
      const others: AadInput[] = [
        { tenant: 'acme', field: 'ssn' },
        { tenant: 'acme', field: 'ssn', region: 'us' },
        { tenant: 'acme', field: 'ssn', region: 'eu', extra: '' },
        'acme',
      ];
      for (const other of others) {
        await rejection(kms().decryptData(compact, { aad: other }), AadMismatchError);
      }
    });

    it('an expected AAD against an envelope without one is an AadMismatchError', async () => {
      const envelope = await kms().encryptData(secret);
      await rejection(kms().decryptData(envelope, { aad: 'user-42' }), AadMismatchError);
      await rejection(kms().decryptData(envelope, { aad: {} }), AadMismatchError);
      await rejection(kms().decryptData(envelope, { aad: '' }), AadMismatchError);
    });

    it("without an expected AAD, the envelope's own (authenticated) AAD is accepted", async () => {
      expect(await kms().decryptData(await kms().encryptData(secret, { aad: 'user-42' }))).toBe(
        secret,
      );
      expect(
        await kms().decryptData(await kms().encryptToString(secret, { aad: { a: 'b' } })),
      ).toBe(secret);
    });

    it('an AadMismatchError carries no plaintext', async () => {
      const envelope = await kms().encryptData(secret, { aad: 'user-42' });
      const error = await rejection(kms().decryptData(envelope, { aad: 'x' }), AadMismatchError);
      expect(error.code).toBe('KMS_AAD_MISMATCH');
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(secret);
    });
  });

  describe('tampering', () => {
    it('every changed bit or field of an envelope with AAD is refused, in both forms', async () => {
      const target = 'tamper-target-plaintext-5be1';
      plaintexts.push(Buffer.from(target));
      const aad = { tenant: 'acme', field: 'ssn' };
      const envelope = await kms().encryptData(target, { aad });
      const { keyId: secondKeyId } = await kms().rotateDataKey('tamper test');
      expect(secondKeyId).not.toBe(envelope.keyId);
      // Controls: the untouched envelope decrypts in both forms, after the rotation too.
      expect(await kms().decryptData(envelope, { aad })).toBe(target);
      expect(await kms().decryptData(toCompactEnvelope(envelope), { aad })).toBe(target);

      type Expected = abstract new (...args: never[]) => KmsError;
      const mutants: { name: string; envelope: EnvelopeV1; expected: Expected }[] = [];
      const add = (name: string, changes: Record<string, unknown>, expected: Expected) =>
        mutants.push({ name, envelope: { ...envelope, ...changes } as EnvelopeV1, expected });

      for (const field of ['iv', 'tag', 'ciphertext', 'aad'] as const) {
        const bits = Buffer.from(envelope[field]!, 'base64').length * 8;
        for (let bit = 0; bit < bits; bit++) {
          add(
            `${field} bit ${bit}`,
            { [field]: flipBitBase64(envelope[field]!, bit) },
            DecryptionFailedError,
          );
        }
      }
      for (let bit = 0; bit < 48; bit++) {
        const timestamp = Number(BigInt(envelope.timestamp) ^ (1n << BigInt(bit)));
        add(`timestamp bit ${bit}`, { timestamp }, DecryptionFailedError);
      }
      for (const v of [0, 2, '1', null]) add(`v ${String(v)}`, { v }, MalformedEnvelopeError);
      for (const alg of ['aes-128-gcm', 'AES-256-GCM', 'chacha20-poly1305', '']) {
        add(`alg ${alg}`, { alg }, MalformedEnvelopeError);
      }
      for (let at = 0; at < envelope.keyId.length; at++) {
        const other = envelope.keyId[at] === 'a' ? 'b' : 'a';
        const keyId = envelope.keyId.slice(0, at) + other + envelope.keyId.slice(at + 1);
        add(`keyId character ${at}`, { keyId }, DataKeyNotFoundError);
      }
      add('keyId of the second real key', { keyId: secondKeyId }, DecryptionFailedError);

      // The well-formed mutants again in the compact form (v and alg have no compact spelling).
      const compactMutants = mutants
        .filter((m) => m.expected !== MalformedEnvelopeError)
        .map((m) => ({ ...m, name: `compact ${m.name}`, envelope: toCompactEnvelope(m.envelope) }));

      const bitsOf = (field: 'iv' | 'tag' | 'ciphertext' | 'aad') =>
        Buffer.from(envelope[field]!, 'base64').length * 8;
      const wellFormed =
        bitsOf('iv') +
        bitsOf('tag') +
        bitsOf('ciphertext') +
        bitsOf('aad') +
        48 +
        envelope.keyId.length +
        1;
      expect([bitsOf('iv'), bitsOf('tag'), bitsOf('ciphertext')]).toEqual([
        96,
        128,
        target.length * 8,
      ]);
      expect(mutants).toHaveLength(wellFormed + 8);
      expect(compactMutants).toHaveLength(wellFormed);

      const failuresBefore = kms().getStatus().decryptionFailures;
      const eventsBefore = k!.logger.events('decryption_failed').length;
      let attempted = 0;
      let rejected = 0;
      const wrong: string[] = [];
      for (const mutant of [...mutants, ...compactMutants]) {
        attempted++;
        try {
          const plaintext = await kms().decryptData(mutant.envelope);
          wrong.push(`${mutant.name}: decrypted to ${JSON.stringify(plaintext)}`);
        } catch (error) {
          if (error instanceof KmsError) rejected++;
          if (!(error instanceof mutant.expected)) wrong.push(`${mutant.name}: ${String(error)}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(rejected).toBe(attempted);
      expect(kms().getStatus().decryptionFailures - failuresBefore).toBe(attempted);

      const events = k!.logger.events('decryption_failed').slice(eventsBefore);
      expect(events).toHaveLength(attempted);
      for (const event of events) {
        expect(['code', 'event', 'keyId']).toEqual(expect.arrayContaining(Object.keys(event)));
        expect(event.code).toMatch(
          /^KMS_(DECRYPTION_FAILED|DATA_KEY_NOT_FOUND|MALFORMED_ENVELOPE)$/,
        );
        expect(JSON.stringify(event)).not.toContain(target);
      }
    });
  });

  it('10,000 encryptions never repeat an IV', async () => {
    plaintexts.push(Buffer.from('same plaintext'));
    const ivs = new Set<string>();
    for (let i = 0; i < 10_000; i++) ivs.add((await kms().encryptData('same plaintext')).iv);
    expect(ivs.size).toBe(10_000);
  });

  describe('malformed envelopes through decryptData', () => {
    const cases: [string, string, unknown][] = [
      ['null', 'envelope', null],
      ['a number', 'envelope', 42],
      ['an array', 'envelope', []],
      ['an object with an unknown field', 'envelope', { v: 1, plaintext: 'x' }],
      ['a compact string with a wrong prefix', 'v', 'kms3.a.1.b.c.d'],
      ['a compact string with 3 parts', 'envelope', 'kms1.a.1'],
      ['JSON text', 'envelope', '{"v":1}'],
    ];

    it.each(cases)('%s: MalformedEnvelopeError naming %s', async (_, field, input) => {
      const error = await rejection(kms().decryptData(input as EnvelopeV1), MalformedEnvelopeError);
      expect(error.field).toBe(field);
    });

    it.each([
      ['iv', (e: EnvelopeV1) => ({ ...e, iv: `${e.iv.slice(0, -1)}` })],
      ['tag', (e: EnvelopeV1) => ({ ...e, tag: e.tag.replace(/=+$/, '') })],
      ['ciphertext', (e: EnvelopeV1) => ({ ...e, ciphertext: ` ${e.ciphertext}` })],
      ['timestamp', (e: EnvelopeV1) => ({ ...e, timestamp: -1 })],
      ['keyId', (e: EnvelopeV1) => ({ ...e, keyId: 'no such/key' })],
      ['aad', (e: EnvelopeV1) => ({ ...e, aad: '' })],
    ])('a real envelope with a bad %s: MalformedEnvelopeError', async (field, spoil) => {
      plaintexts.push(Buffer.from('malformed-case-plaintext'));
      const envelope = await kms().encryptData('malformed-case-plaintext', { aad: 'x' });
      const error = await rejection(kms().decryptData(spoil(envelope)), MalformedEnvelopeError);
      expect(error.field).toBe(field);
      expect(error.message).not.toContain(envelope.ciphertext);
    });
  });

  it('logged the decryption_failed events with a code and no plaintext', () => {
    const events = k!.logger.events('decryption_failed');
    expect(events.length).toBeGreaterThan(0);
    const codes = [...new Set(events.map((event) => event.code))].sort();
    // Exactly the failures this block provoked, each under its own code.
    expect(codes).toEqual([
      'KMS_AAD_MISMATCH',
      'KMS_DATA_KEY_NOT_FOUND',
      'KMS_DECRYPTION_FAILED',
      'KMS_MALFORMED_ENVELOPE',
    ]);
    for (const event of events) expect(Object.keys(event)).not.toContain('plaintext');
  });

  it('no plaintext, base64 of a plaintext, or the master key appears in any log line', () => {
    const text = k!.logger.text();
    expect(k!.logger.events('kms_initialized')).toHaveLength(1);
    const master = Buffer.from(masterKey, 'base64');
    const needles = new Map<string, string>([
      ['master key (base64)', masterKey],
      ['master key (base64url)', master.toString('base64url')],
      ['master key (hex)', master.toString('hex')],
      ['master key (byte list)', master.toJSON().data.join(',')],
    ]);
    expect(plaintexts.length).toBeGreaterThanOrEqual(10);
    plaintexts.forEach((bytes, i) => {
      if (bytes.length < 4) return; // shorter values occur in any text by chance
      const utf8 = bytes.toString('utf8');
      needles.set(`plaintext ${i}`, utf8);
      needles.set(`plaintext ${i} (JSON-escaped)`, JSON.stringify(utf8).slice(1, -1));
      needles.set(`plaintext ${i} (base64)`, bytes.toString('base64'));
      needles.set(`plaintext ${i} (base64url)`, bytes.toString('base64url'));
      needles.set(`plaintext ${i} (hex)`, bytes.toString('hex'));
      needles.set(
        `plaintext ${i} (first 16 bytes, base64)`,
        bytes.subarray(0, 16).toString('base64').slice(0, 20),
      );
    });
    for (const [name, needle] of needles) {
      expect(text.includes(needle), `${name} leaked into the log`).toBe(false);
    }
  });
});

describe.each(ENGINES)('KmsService before initialize() on %s', (engine) => {
  let db: TestDatabase | undefined;
  const apps: KmsApp[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(engine);
  });

  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db?.drop();
  });

  it('decryptData and encryptData throw KmsNotInitializedError until initialize() resolves', async () => {
    const masterKey = newMasterKey();
    const writer = await KmsFixture.start(db!, masterKey);
    apps.push(writer);
    const envelope = await writer.kms.encryptData('written before the restart');

    const late = await KmsFixture.start(db!, masterKey, { initializeOnStart: false });
    apps.push(late);
    expect(late.kms.getStatus().initialized).toBe(false);
    for (const call of [
      () => late.kms.decryptData(envelope),
      () => late.kms.decryptData(toCompactEnvelope(envelope)),
      () => late.kms.encryptData('x'),
      () => late.kms.encryptToString('x'),
    ]) {
      const error = await rejection(call(), KmsNotInitializedError);
      expect(error.message.startsWith('KMS not initialized')).toBe(true);
      expect(error.code).toBe('KMS_NOT_INITIALIZED');
    }

    await late.kms.initialize();
    expect(await late.kms.decryptData(envelope)).toBe('written before the restart');
  });
});
