import { randomUUID } from 'node:crypto';
import { storeEnvelopeKeyId } from '@nest-kms/kms/extension';
import { ENGINES } from './support/databases.js';
import {
  demoForSuite,
  query,
  uniqueName,
  type DemoCall,
  type HttpMethod,
} from './support/demo-app.js';
import { DemoCallers } from './support/demo-callers.js';
import { DemoTranscript } from './support/demo-transcript.js';
import { eventually } from './support/eventually.js';

/** The notes resource: an entity whose body is an @EncryptedColumn bound to its owner. */
describe.each(ENGINES)('demo: encrypted notes on %s', (engine) => {
  const transcript = new DemoTranscript();
  const demo = demoForSuite(engine, transcript);
  const callers = new DemoCallers(demo, transcript);

  interface NoteAnswer {
    id: string;
    ownerId: string;
    body: string;
    createdAt: string;
    receipt: string;
  }

  async function createNote(owner: string, body: string): Promise<NoteAnswer> {
    const token = await callers.token(owner);
    const response = await demo.call('post', '/notes', { token, body: { body }, reveals: true });
    expect(response.status).toBe(201);
    return response.body as NoteAnswer;
  }

  const readNote = async (id: string, owner: string) =>
    demo.call('get', `/notes/${id}`, { token: await callers.token(owner), reveals: true });

  async function storedRow(id: string): Promise<{ body: string; owner_id: string }> {
    const [row] = await query(
      demo.dataSource,
      'SELECT body, owner_id FROM demo_notes WHERE id = ?',
      [id],
    );
    return row as { body: string; owner_id: string };
  }

  it('stores the body as an envelope and gives it back to its owner', async () => {
    const owner = uniqueName('owner');
    const body = transcript.value('note');
    const created = await createNote(owner, body);
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ownerId: owner,
      body,
      createdAt: expect.any(String),
      receipt: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const row = await storedRow(created.id);
    expect(row.body).toMatch(/^kms2\.column\./);
    expect(row.body).not.toContain(body);
    const read = await readNote(created.id, owner);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created);
  });

  it('refuses to open a note whose owner was changed behind the app', async () => {
    const created = await createNote(uniqueName('owner-a'), transcript.value('note'));
    const intruder = uniqueName('owner-b');
    await query(demo.dataSource, 'UPDATE demo_notes SET owner_id = ? WHERE id = ?', [
      intruder,
      created.id,
    ]);
    const response = await readNote(created.id, intruder);
    expect(response.status).toBe(422);
    expect(response.body).toEqual({
      code: 'KMS_COLUMN_DECRYPTION_FAILED',
      message: expect.stringContaining(created.id),
    });
  });

  it('refuses to open an envelope copied onto another row of the same owner', async () => {
    const owner = uniqueName('owner');
    const source = await createNote(owner, transcript.value('note'));
    const target = await createNote(owner, transcript.value('note'));
    const { body } = await storedRow(source.id);
    await query(demo.dataSource, 'UPDATE demo_notes SET body = ? WHERE id = ?', [body, target.id]);
    const response = await readNote(target.id, owner);
    expect(response.status).toBe(422);
    expect(response.body.code).toBe('KMS_COLUMN_DECRYPTION_FAILED');
  });

  it('still opens notes after a key rotation, and re-encryption moves them to the new key', async () => {
    const owner = uniqueName('owner');
    const body = transcript.value('note');
    const created = await createNote(owner, body);
    const rotation = await demo.call('post', '/keys/rotate');
    expect(rotation.status).toBe(200);
    expect((await readNote(created.id, owner)).body.body).toBe(body);
    await eventually(async () => {
      const { body: envelope } = await storedRow(created.id);
      expect(storeEnvelopeKeyId(envelope, 'column')).toBe(rotation.body.keyId);
    });
    expect((await readNote(created.id, owner)).body.body).toBe(body);
  });

  it('signs receipts with the injected secret: rotating it changes them at once', async () => {
    const owner = uniqueName('owner');
    const created = await createNote(owner, transcript.value('note'));
    const rotated = await demo.call('post', '/secrets/NOTES_RECEIPT_KEY/rotate', {
      body: { value: transcript.value('receipt-key') },
    });
    expect(rotated.status).toBe(200);
    const read = await readNote(created.id, owner);
    expect(read.body.receipt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(read.body.receipt).not.toBe(created.receipt);
  });

  const badRequests: [string, HttpMethod, () => string, DemoCall, number, string][] = [
    ['an empty body', 'post', () => '/notes', { body: { body: '' } }, 400, 'VALIDATION_FAILED'],
    [
      'a body over 10,000 characters',
      'post',
      () => '/notes',
      { body: { body: 'x'.repeat(10_001) } },
      400,
      'VALIDATION_FAILED',
    ],
    ['a numeric body', 'post', () => '/notes', { body: { body: 1 } }, 400, 'VALIDATION_FAILED'],
    [
      'an owner in the body',
      'post',
      () => '/notes',
      { body: { body: 'x', ownerId: 'b' } },
      400,
      'VALIDATION_FAILED',
    ],
    ['malformed JSON', 'post', () => '/notes', { raw: '{"body"' }, 400, 'MALFORMED_JSON'],
    ['an id that is not a uuid', 'get', () => '/notes/42', {}, 400, 'INVALID_NOTE_ID'],
    ['an unknown id', 'get', () => `/notes/${randomUUID()}`, {}, 404, 'NOTE_NOT_FOUND'],
  ];
  it.each(badRequests)('refuses %s', async (_, method, path, call, status, code) => {
    const token = await callers.token('caller-a');
    const response = await demo.call(method, path(), { ...call, token });
    expect(response.status).toBe(status);
    expect(response.body).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
  });

  describe("another caller's notes", () => {
    const credentials: [string, DemoCall][] = [
      ['no token', { token: null }],
      ['the admin token', {}],
      ['a forged token', { token: 'dct1.owner-a.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
      ['an X-Owner-Id header alone', { token: null, owner: 'owner-a' }],
    ];
    it.each(credentials)('every notes route refuses %s with 401', async (_, call) => {
      const created = await createNote(uniqueName('owner'), transcript.value('note'));
      for (const [method, path, body] of [
        ['post', '/notes', { body: 'x' }],
        ['get', `/notes/${created.id}`, undefined],
      ] as const) {
        const response = await demo.call(method, path, { ...call, body });
        expect(response.status).toBe(401);
        expect(response.body).toEqual({ code: 'UNAUTHORIZED', message: expect.any(String) });
      }
    });

    it("POST /notes stores the note under the token's caller, never another owner", async () => {
      const owner = uniqueName('owner');
      const created = await createNote(owner, transcript.value('note'));
      expect(created.ownerId).toBe(owner);
      expect((await storedRow(created.id)).owner_id).toBe(owner);
    });

    it("GET /notes/:id answers another caller's note 404, as a missing one", async () => {
      const created = await createNote(uniqueName('owner-a'), transcript.value('note'));
      const response = await readNote(created.id, uniqueName('owner-b'));
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('NOTE_NOT_FOUND');
      expect(response.text).not.toContain(created.receipt);
    });

    it("POST /decrypt does not open another caller's note body, nor the owner's own", async () => {
      const owner = uniqueName('owner-a');
      const body = transcript.value('note');
      const created = await createNote(owner, body);
      const envelope = (await storedRow(created.id)).body;
      for (const caller of [owner, uniqueName('owner-b')]) {
        const response = await demo.call('post', '/decrypt', {
          token: await callers.token(caller),
          body: { envelope },
          reveals: true,
        });
        expect(response.status).toBe(422);
        expect(response.text).not.toContain(body);
      }
    });
  });
});
