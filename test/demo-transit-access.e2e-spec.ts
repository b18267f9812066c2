import { KmsService } from '@nest-kms/kms';
import { ENGINES } from './support/databases.js';
import { demoForSuite, query, type DemoCall } from './support/demo-app.js';
import { DemoCallers } from './support/demo-callers.js';
import { DemoTranscript } from './support/demo-transcript.js';

/**
 * Transit encryption as Vault's: who may call /encrypt and /decrypt, and which envelopes a
 * caller can open (only its own /encrypt envelopes, never anything else the app encrypted).
 */
describe.each(ENGINES)('demo: transit access on %s', (engine) => {
  const transcript = new DemoTranscript();
  const demo = demoForSuite(engine, transcript);
  const callers = new DemoCallers(demo, transcript);
  const { encrypt, decrypt } = callers;

  describe('who may encrypt and decrypt', () => {
    /** Answers that refuse to open an envelope bound to another purpose than transit. */
    const REFUSALS = ['KMS_AAD_MISMATCH', 'KMS_ENVELOPE_PURPOSE_MISMATCH'];

    async function expectRefused(envelope: unknown, plaintext: string, caller = 'caller-a') {
      const response = await decrypt({ envelope }, caller);
      expect(response.status).toBe(422);
      expect(REFUSALS).toContain(response.body.code);
      expect(response.text).not.toContain(plaintext);
    }

    const credentials: [string, DemoCall][] = [
      ['no token', { token: null }],
      ['a garbage token', { token: 'dct1.caller-a.not-a-mac' }],
      ['the admin token', {}],
      ['another scheme', { authorization: 'Basic Y2FsbGVyLWE6eA==' }],
    ];
    it.each(credentials)('/encrypt and /decrypt refuse %s with 401', async (_, call) => {
      const envelope = await encrypt(transcript.value('plaintext'));
      for (const [path, body] of [
        ['/encrypt', { plaintext: 'x' }],
        ['/decrypt', { envelope }],
      ] as const) {
        const response = await demo.call('post', path, { ...call, body });
        expect(response.status).toBe(401);
        expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
        expect(response.body).toEqual({ code: 'UNAUTHORIZED', message: expect.any(String) });
      }
    });

    it("refuses a token whose mac belongs to another caller's id", async () => {
      const [, , mac] = (await callers.token('caller-a')).split('.');
      const response = await demo.call('post', '/encrypt', {
        token: `dct1.caller-b.${mac}`,
        body: { plaintext: 'x' },
      });
      expect(response.status).toBe(401);
    });

    it("refuses another caller's envelope, whatever AAD is claimed", async () => {
      const plaintext = transcript.value('plaintext');
      const envelope = await encrypt(plaintext, { userId: 'user-1' }, 'caller-a');
      await expectRefused(envelope, plaintext, 'caller-b');
      const claimed = await decrypt(
        { envelope, aad: { userId: 'user-1', 'demo.caller': 'caller-a' } },
        'caller-b',
      );
      expect(claimed.status).toBe(400);
      expect(claimed.body.code).toBe('AAD_RESERVED_KEY');
    });

    it('refuses a caller AAD that uses a reserved key', async () => {
      for (const aad of [
        { 'demo.caller': 'caller-b' },
        { 'demo.transit': 'v1' },
        { 'demo.x': '' },
      ]) {
        const response = await demo.call('post', '/encrypt', {
          token: await callers.token('caller-a'),
          body: { plaintext: 'x', aad },
        });
        expect(response.status).toBe(400);
        expect(response.body).toEqual({ code: 'AAD_RESERVED_KEY', message: expect.any(String) });
      }
    });

    it('keeps a string AAD apart from a map holding the same text', async () => {
      const plaintext = transcript.value('plaintext');
      const envelope = await encrypt(plaintext, 'ctx');
      expect((await decrypt({ envelope, aad: 'ctx' })).body.plaintext).toBe(plaintext);
      for (const aad of [{ aad: 'ctx' }, undefined, 'other']) {
        const response = await decrypt({ envelope, aad });
        expect(response.status).toBe(422);
        expect(response.text).not.toContain(plaintext);
      }
    });

    it("refuses the stored envelope of a secret (the admin token's included)", async () => {
      const [row] = await query(
        demo.dataSource,
        'SELECT current_envelope FROM kms_secrets WHERE name = ?',
        ['ADMIN_TOKEN'],
      );
      const envelope = row.current_envelope as string;
      await expectRefused(envelope, demo.env.ADMIN_TOKEN as string);
    });

    it("refuses a note's stored body, even to the note's owner", async () => {
      const body = transcript.value('note');
      const created = await demo.call('post', '/notes', {
        token: await callers.token('caller-a'),
        body: { body },
        reveals: true,
      });
      expect(created.status).toBe(201);
      const [row] = await query(demo.dataSource, 'SELECT body FROM demo_notes WHERE id = ?', [
        created.body.id,
      ]);
      await expectRefused(row.body, body, 'caller-a');
    });

    it('refuses envelopes the application made with encryptData for other purposes', async () => {
      const kms = demo.app.get(KmsService);
      const plaintext = transcript.value('plaintext');
      for (const aad of [undefined, 'caller-a', { 'demo.caller': 'caller-a' }]) {
        await expectRefused(await kms.encryptData(plaintext, { aad }), plaintext);
      }
    });
  });
});
