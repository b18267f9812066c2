import { SecretsAuditTrail } from '@nest-kms/secrets';
import { ThreatsService, type ActorBlock, type ThreatDetection } from '@nest-kms/threat-detection';
import { CapturedLogger, loggedEvents } from './support/captured-logger.js';
import { ENGINES } from './support/databases.js';
import { demoForSuite, query } from './support/demo-app.js';
import { DemoCallers } from './support/demo-callers.js';
import { DemoTranscript } from './support/demo-transcript.js';
import { tampered } from './support/tampered-envelope.js';

/**
 * Threat detection in the demo: callers named in their decryptions, detections and blocks in
 * the admin's /threats view, the audit trail's verification, and a block lifted over HTTP.
 */
describe.each(ENGINES)('demo: threats on %s', (engine) => {
  const transcript = new DemoTranscript();
  // Passes on demand (no timer), blocking at high severity, as the environment says.
  const demo = demoForSuite(engine, transcript, {
    THREAT_DETECTION_INTERVAL_MS: '0',
    THREAT_BLOCK_SEVERITY: 'high',
  });
  const callers = new DemoCallers(demo, transcript);

  /** Seals the audit trail and runs one detector pass, as the timers do in production. */
  const detect = async () => {
    await demo.app.get(SecretsAuditTrail).seal();
    return (await demo.app.get(ThreatsService).runDetection()).detections;
  };

  it('is for the admin only', async () => {
    const callerToken = await callers.token('caller-a');
    for (const [method, path] of [
      ['get', '/threats'],
      ['get', '/threats/verify'],
      ['delete', '/threats/blocks/someone'],
    ] as const) {
      for (const token of [null, callerToken, 'not-a-token']) {
        const response = await demo.call(method, path, { token });
        expect(response.status).toBe(401);
        expect(response.body.code).toBe('UNAUTHORIZED');
      }
    }
  });

  it('shows a burst of tampered envelopes by one caller after a pass, blocks it, and lifts the block', async () => {
    const plaintext = transcript.value('plaintext');
    const envelope = await callers.encrypt(plaintext, undefined, 'prober');
    const before = await demo.call('get', '/threats');
    expect(before.status).toBe(200);
    expect(before.body).toEqual({ detections: [], blocks: [] });

    const logMark = CapturedLogger.everything.length;
    for (let i = 0; i < 10; i++) {
      const response = await callers.decrypt({ envelope: tampered(envelope) }, 'prober');
      expect(response.status).toBe(422);
      expect(response.body.code).toBe('KMS_DECRYPTION_FAILED');
    }
    const found = await detect();
    expect(found.map((d) => `${d.rule}/${d.subject ?? d.actor}`).sort()).toEqual(
      [`decryption-failures/key:${envelope.keyId}`, 'decryption-failures/prober'].sort(),
    );

    const view = await demo.call('get', '/threats');
    expect(view.status).toBe(200);
    const detections = view.body.detections as ThreatDetection[];
    expect(detections.map((d) => d.id).sort()).toEqual(found.map((d) => d.id).sort());
    expect(detections.find((d) => d.subject === null)).toMatchObject({
      rule: 'decryption-failures',
      severity: 'high',
      actor: 'prober',
      counts: expect.any(Object),
    });
    expect((view.body.blocks as ActorBlock[]).map((b) => [b.actor, b.reason])).toEqual([
      ['prober', 'decryption-failures'],
    ]);
    // The demo pages on the Nest event: one line per detection, naming the caller.
    const paged = loggedEvents('threat_paged', logMark);
    expect(paged.map((event) => event.detectionId).sort()).toEqual(found.map((d) => d.id).sort());
    expect(paged.map((event) => [event.actor, event.subject])).toEqual(
      expect.arrayContaining([
        ['prober', null],
        [null, `key:${envelope.keyId}`],
      ]),
    );

    // Blocked: even a sound envelope is refused to this caller, not to another.
    const refused = await callers.decrypt({ envelope }, 'prober');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('KMS_ACTOR_BLOCKED');
    const other = await callers.encrypt(plaintext, undefined, 'caller-b');
    expect((await callers.decrypt({ envelope: other }, 'caller-b')).body).toEqual({ plaintext });

    const lifted = await demo.call('delete', '/threats/blocks/prober');
    expect(lifted.status).toBe(200);
    expect(lifted.body).toEqual({ actor: 'prober', unblocked: true });
    expect((await callers.decrypt({ envelope }, 'prober')).body).toEqual({ plaintext });
    expect((await demo.call('get', '/threats')).body.blocks).toEqual([]);
    expect((await demo.call('delete', '/threats/blocks/prober')).body).toEqual({
      actor: 'prober',
      unblocked: false,
    });
    const tooLong = await demo.call('delete', `/threats/blocks/${'x'.repeat(129)}`);
    expect(tooLong.status).toBe(400);
  });

  it('answers the audit trail verification, and a deleted record breaks it', async () => {
    await callers.encrypt(transcript.value('plaintext'));
    await detect();
    const intact = await demo.call('get', '/threats/verify');
    expect(intact.status).toBe(200);
    expect(intact.body).toMatchObject({ intact: true, problemCount: 0, problems: [] });
    expect(intact.body.lastSeq).toBeGreaterThan(2);

    await query(demo.dataSource, 'DELETE FROM kms_secret_audit WHERE chain_seq = ?', [2]);
    const broken = await demo.call('get', '/threats/verify');
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({
      intact: false,
      problemCount: 1,
      problems: [{ kind: 'missing', fromSeq: 2, toSeq: 2 }],
    });
  });
});
