import { Injectable, Module } from '@nestjs/common';
import {
  AadMismatchError,
  ActorBlockedError,
  BatchTooLargeError,
  DataKeyNotFoundError,
  DecryptionFailedError,
  InvalidInputError,
  KMS_MAX_BATCH_ITEMS,
  KmsError,
  KmsModule,
  KmsService,
  MalformedEnvelopeError,
  type BatchResult,
  type EnvelopeV1,
} from '@nest-kms/kms';
import { ActorBlocklist, KmsSecurityEvents, type KmsSecurityEvent } from '@nest-kms/kms/extension';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey, startTestApp } from './support/kms-fixture.js';
import { SqlRecorder } from './support/sql-recorder.js';
import { tampered } from './support/tampered-envelope.js';

/** Records the security events from construction, as the secrets store's audit trail does. */
@Injectable()
class SecurityEventRecorder {
  readonly events: KmsSecurityEvent[] = [];
  constructor(security: KmsSecurityEvents) {
    security.listen((event) => {
      this.events.push(event);
    });
  }
}

/** The values of successful results and the codes of failed ones, in order. */
function outcomes<T>(results: readonly BatchResult<T>[]): (T | string)[] {
  return results.map((result) => (result.ok ? result.value : result.error.code));
}

describe.each(ENGINES)('KmsService.encryptMany and decryptMany on %s', (engine) => {
  const masterKey = newMasterKey();
  let db: TestDatabase;
  let close: () => Promise<void>;
  let kms: KmsService;
  let recorder: SecurityEventRecorder;
  let blocklist: ActorBlocklist;
  let sql: SqlRecorder;
  let logs: () => string;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    sql = new SqlRecorder();
    @Module({
      imports: [KmsModule.forRoot({ masterKey, connection: sql.attach(db.connection) })],
      providers: [SecurityEventRecorder],
    })
    class BatchModule {}
    const { app, logger } = await startTestApp({ imports: [BatchModule] });
    close = () => app.close();
    kms = app.get(KmsService);
    recorder = app.get(SecurityEventRecorder);
    blocklist = app.get(ActorBlocklist);
    logs = () => JSON.stringify(logger.lines);
  });
  afterEach(async () => {
    await close();
    await db.drop();
  });

  it('encrypts each item in order, a bad item failing alone, and every envelope opens', async () => {
    const results = await kms.encryptMany(
      ['first', 42 as never, Buffer.from('third'), { plaintext: 'fourth', aad: 'own' }, '\ud800'],
      { aad: { tenant: 'acme' } },
    );
    expect(results.map((result) => result.ok)).toEqual([true, false, true, true, false]);
    expect(outcomes(results)[1]).toBe('KMS_INVALID_INPUT');
    expect(outcomes(results)[4]).toBe('KMS_INVALID_INPUT');
    const [first, , third, fourth] = results.map((result) => (result.ok ? result.value : null));
    await expect(kms.decryptData(first!, { aad: { tenant: 'acme' } })).resolves.toBe('first');
    await expect(kms.decryptData(third!, { aad: { tenant: 'acme' } })).resolves.toBe('third');
    await expect(kms.decryptData(fourth!, { aad: 'own' })).resolves.toBe('fourth');
    await expect(
      caught(() => kms.decryptData(fourth!, { aad: { tenant: 'acme' } })),
    ).resolves.toBeInstanceOf(AadMismatchError);
  });

  it('seals the compact form when asked, each with a fresh IV', async () => {
    const results = await kms.encryptMany(['a', 'a', 'a'], { form: 'compact' });
    const envelopes = results.map((result) => (result.ok ? result.value : ''));
    expect(envelopes.every((envelope) => envelope.startsWith('kms1.'))).toBe(true);
    expect(new Set(envelopes).size).toBe(3);
    expect(outcomes(await kms.decryptMany(envelopes))).toEqual(['a', 'a', 'a']);
  });

  it('decrypts mixed good, tampered, malformed and mismatched items in order, each failing alone', async () => {
    const good = await kms.encryptData('good one', { aad: 'ctx' });
    const compact = await kms.encryptToString('good two', { aad: 'other' });
    const results = await kms.decryptMany(
      [
        good,
        tampered(good),
        'kms1.not-an-envelope',
        { envelope: compact, aad: 'other' },
        { envelope: good, aad: 'wrong' },
        { envelope: good, aad: 7 as never },
        good,
      ],
      { aad: 'ctx' },
    );
    expect(outcomes(results)).toEqual([
      'good one',
      'KMS_DECRYPTION_FAILED',
      'KMS_MALFORMED_ENVELOPE',
      'good two',
      'KMS_AAD_MISMATCH',
      'KMS_INVALID_INPUT',
      'good one',
    ]);
    const errors = results.flatMap((result) => (result.ok ? [] : [result.error]));
    expect(errors.map((error) => error.constructor)).toEqual([
      DecryptionFailedError,
      MalformedEnvelopeError,
      AadMismatchError,
      InvalidInputError,
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(KmsError);
      expect(error.message).not.toContain('good');
    }
  });

  it('returns Buffers with as: buffer', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0x80]);
    const [sealed] = await kms.encryptMany([bytes]);
    const [opened] = await kms.decryptMany([sealed.ok ? sealed.value : ''], { as: 'buffer' });
    expect(opened).toEqual({ ok: true, value: bytes });
  });

  it(`takes at most ${KMS_MAX_BATCH_ITEMS} items, and refuses more whole`, async () => {
    const envelope = await kms.encryptData('x');
    const most = await kms.decryptMany(Array<EnvelopeV1>(KMS_MAX_BATCH_ITEMS).fill(envelope));
    expect(most.every((result) => result.ok && result.value === 'x')).toBe(true);

    const tooMany = Array<EnvelopeV1>(KMS_MAX_BATCH_ITEMS + 1).fill(tampered(envelope));
    const error = await caught(() => kms.decryptMany(tooMany, { actor: 'batcher' }));
    expect(error).toBeInstanceOf(BatchTooLargeError);
    expect(error).toMatchObject({
      code: 'KMS_BATCH_TOO_LARGE',
      items: KMS_MAX_BATCH_ITEMS + 1,
      max: KMS_MAX_BATCH_ITEMS,
    });
    // Nothing was opened: no failure reported for the tampered envelopes.
    expect(recorder.events).toEqual([]);
    const plaintexts = Array<string>(KMS_MAX_BATCH_ITEMS + 1).fill('y');
    await expect(caught(() => kms.encryptMany(plaintexts))).resolves.toBeInstanceOf(
      BatchTooLargeError,
    );
    await expect(caught(() => kms.encryptMany('abc' as never))).resolves.toBeInstanceOf(
      InvalidInputError,
    );
  });

  it('refuses invalid options for the whole call', async () => {
    const envelope = await kms.encryptData('x');
    for (const call of [
      () => kms.encryptMany(['x'], { form: 'json' } as never),
      () => kms.encryptMany(['x'], { aad: 5 } as never),
      () => kms.decryptMany([envelope], { as: 'hex' } as never),
      () => kms.decryptMany([envelope], { actor: '' }),
    ]) {
      await expect(caught(call)).resolves.toBeInstanceOf(InvalidInputError);
    }
  });

  it('reports each tampered item with the actor who asked, never a value', async () => {
    const envelope = await kms.encryptData('keep me out of the logs');
    const results = await kms.decryptMany([tampered(envelope), envelope, tampered(envelope)], {
      actor: 'billing-service',
    });
    expect(outcomes(results)).toEqual([
      'KMS_DECRYPTION_FAILED',
      'keep me out of the logs',
      'KMS_DECRYPTION_FAILED',
    ]);
    const failure = {
      kind: 'decryption-failed',
      code: 'KMS_DECRYPTION_FAILED',
      keyId: envelope.keyId,
      actor: 'billing-service',
    };
    expect(recorder.events).toEqual([failure, failure]);
    expect(logs()).toContain('billing-service');
    expect(logs()).not.toContain('keep me out of the logs');
  });

  it('refuses a blocked actor whole, before anything is opened', async () => {
    const envelope = await kms.encryptData('x');
    blocklist.block('mallory', Date.now() + 60_000);
    const error = await caught(() =>
      kms.decryptMany([envelope, tampered(envelope)], { actor: 'mallory' }),
    );
    expect(error).toBeInstanceOf(ActorBlockedError);
    expect(recorder.events).toEqual([]);
    expect(outcomes(await kms.decryptMany([envelope], { actor: 'alice' }))).toEqual(['x']);
  });

  it('looks a key it does not hold up once for every envelope under it', async () => {
    const envelope = await kms.encryptToString('x');
    const [, , timestamp, iv, tag, ciphertext] = envelope.split('.');
    const unknown = ['kms1', 'missing-key-1', timestamp, iv, tag, ciphertext].join('.');
    const statements = sql.mark();
    const results = await kms.decryptMany([unknown, envelope, unknown, unknown, envelope]);
    expect(outcomes(results)).toEqual([
      'KMS_DATA_KEY_NOT_FOUND',
      'x',
      'KMS_DATA_KEY_NOT_FOUND',
      'KMS_DATA_KEY_NOT_FOUND',
      'x',
    ]);
    expect(results[0].ok ? null : results[0].error).toBeInstanceOf(DataKeyNotFoundError);
    const lookups = statements().filter((statement) =>
      statement.parameters.includes('missing-key-1'),
    );
    expect(lookups).toHaveLength(1);
  });
});
