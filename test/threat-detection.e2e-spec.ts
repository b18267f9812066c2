import { Injectable } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { ActorBlockedError } from '@nest-kms/kms';
import { KmsMetrics } from '@nest-kms/kms';
import { SecretsAuditTrail } from '@nest-kms/secrets';
import {
  THREAT_DETECTED_EVENT,
  ThreatDetectionModule,
  ThreatsService,
  type ThreatDetection,
  type ThreatDetectionModuleOptions,
} from '@nest-kms/threat-detection';
import { caught } from './support/caught.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { openKmsTables, sqlQuery } from './support/kms-tables.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';
import { tampered } from './support/tampered-envelope.js';

/** What an application listening with @OnEvent receives. */
@Injectable()
class DetectionPager {
  readonly received: ThreatDetection[] = [];
  @OnEvent(THREAT_DETECTED_EVENT)
  page(detection: ThreatDetection): void {
    this.received.push(detection);
  }
}

interface DetectingApp extends SecretsApp {
  threats: ThreatsService;
  trail: SecretsAuditTrail;
  pager: DetectionPager;
  /** Seals the trail and runs one pass of the detector: what the timers do on their own. */
  detect(): ReturnType<ThreatsService['runDetection']>;
}

async function startDetecting(
  db: TestDatabase,
  masterKey: string,
  threats: ThreatDetectionModuleOptions = {},
  kms: Parameters<typeof startSecretsApp>[1]['kms'] = {},
): Promise<DetectingApp> {
  const app = await startSecretsApp(db, {
    masterKey,
    kms,
    secrets: { audit: { sealIntervalMs: 0, failClosed: true } },
    imports: [
      EventEmitterModule.forRoot(),
      // Timers off: each test runs the passes itself.
      ThreatDetectionModule.forRoot({ intervalMs: 0, verifyIntervalMs: 0, ...threats }),
    ],
    providers: [DetectionPager],
  });
  const trail = app.app.get(SecretsAuditTrail);
  const service = app.app.get(ThreatsService);
  return {
    ...app,
    threats: service,
    trail,
    pager: app.app.get(DetectionPager),
    detect: async () => {
      await trail.seal();
      return service.runDetection();
    },
  };
}

describe.each(ENGINES)('threat detection on %s', (engine) => {
  let db: TestDatabase;
  const apps: DetectingApp[] = [];
  const masterKey = newMasterKey();
  const start = async (
    ...args: Parameters<typeof startDetecting> extends [unknown, unknown, ...infer R] ? R : never
  ) => {
    const app = await startDetecting(db, masterKey, ...args);
    apps.push(app);
    return app;
  };

  beforeEach(async () => {
    db = await createTestDatabase(engine);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it('detects probing for secret names once: recorded, logged, counted and published', async () => {
    const app = await start();
    await app.secrets.setSecret('payments/api-key', 'sk_live_never_logged', { actor: 'operator' });
    for (let i = 0; i < 12; i++) {
      await caught(() => app.secrets.getSecret(`guess-${i}`, { actor: 'intruder' }));
    }
    const pass = await app.detect();
    expect(pass.leading).toBe(true);
    expect(pass.detections.map((d) => [d.rule, d.severity, d.actor])).toEqual([
      ['not-found-probing', 'medium', 'intruder'],
    ]);
    expect(app.pager.received.map((d) => d.id)).toEqual([pass.detections[0].id]);
    expect(await app.threats.listDetections()).toEqual(pass.detections);
    const metrics = await app.app.get(KmsMetrics).registry.metrics();
    expect(metrics).toContain(
      'kms_threats_detected_total{rule="not-found-probing",severity="medium"} 1',
    );
    const logged = app.logger.lines.filter((line) => line.includes('threat_detected'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('intruder');
    expect(app.logger.lines.join('\n')).not.toContain('sk_live_never_logged');

    // Nothing new: nothing announced again.
    expect((await app.detect()).detections).toEqual([]);
    expect(app.pager.received).toHaveLength(1);
  });

  it('detects a burst of tampered envelopes and blocks the actor, on decrypt and on secrets, until an operator lifts it', async () => {
    const app = await start({ response: { blockAtSeverity: 'high', blockDurationMs: 600_000 } });
    await app.secrets.setSecret('db-password', 'hunter2', { actor: 'operator' });
    const envelope = await app.kms.encryptData('x');
    for (let i = 0; i < 10; i++) {
      await caught(() => app.kms.decryptData(tampered(envelope), { actor: 'prober' }));
    }
    const rules = async () =>
      (await app.detect()).detections.map((d) => `${d.rule}/${d.subject ?? d.actor}`);
    expect((await rules()).sort()).toEqual(
      [`decryption-failures/key:${envelope.keyId}`, 'decryption-failures/prober'].sort(),
    );
    expect((await app.threats.listBlocks()).map((block) => [block.actor, block.reason])).toEqual([
      ['prober', 'decryption-failures'],
    ]);
    expect(
      await caught(() => app.secrets.getSecret('db-password', { actor: 'prober' })),
    ).toBeInstanceOf(ActorBlockedError);
    expect(await caught(() => app.kms.decryptData(envelope, { actor: 'prober' }))).toBeInstanceOf(
      ActorBlockedError,
    );
    expect(await app.secrets.getSecret('db-password', { actor: 'billing' })).toBe('hunter2');

    expect(await app.threats.unblockActor('prober')).toBe(true);
    expect(await app.secrets.getSecret('db-password', { actor: 'prober' })).toBe('hunter2');
    await app.trail.seal();
    const responses = (await app.trail.read(0)).filter((record) =>
      ['block', 'unblock'].includes(record.action),
    );
    expect(responses.map((r) => [r.action, r.actor, r.errorCode])).toEqual([
      ['block', 'prober', 'decryption-failures'],
      ['unblock', 'prober', 'operator'],
    ]);
  });

  it('reports a deleted or altered audit record as a critical detection, once', async () => {
    const app = await start({ verifyIntervalMs: 1 });
    await app.secrets.setSecret('a', '1', { actor: 'operator' });
    for (let i = 0; i < 5; i++) await app.secrets.getSecret('a', { actor: 'billing' });
    await app.detect();
    const tables = await openKmsTables(db);
    try {
      await sqlQuery(tables, 'DELETE FROM kms_secret_audit WHERE chain_seq = 3');
    } finally {
      await tables.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
    const broken = (await app.detect()).detections;
    expect(broken.map((d) => [d.rule, d.severity, d.subject, d.counts.missing])).toEqual([
      ['audit-chain-broken', 'critical', 'audit-trail', 1],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 2));
    expect((await app.detect()).detections).toEqual([]);
  });

  it('starts afresh, loudly, from a saved state it cannot use, and goes on detecting', async () => {
    const first = await start();
    await first.detect();
    await first.close();
    apps.splice(apps.indexOf(first), 1);
    const tables = await openKmsTables(db);
    try {
      await sqlQuery(tables, 'UPDATE kms_threat_detector SET snapshot = \'{"version":999}\'');
    } finally {
      await tables.destroy();
    }
    const app = await start();
    for (let i = 0; i < 10; i++) {
      await caught(() => app.secrets.getSecret(`guess-${i}`, { actor: 'intruder' }));
    }
    const pass = await app.detect();
    expect(pass.detections.map((d) => d.rule)).toEqual(['not-found-probing']);
    expect(app.logger.lines.join('\n')).toContain('threat_detector_state_refused');
  });

  it('refuses operators bad input with a typed error', async () => {
    const app = await start();
    for (const actor of ['', 'x'.repeat(129), 7]) {
      expect(await caught(() => app.threats.blockActor(actor as string))).toMatchObject({
        code: 'KMS_INVALID_INPUT',
      });
    }
    expect(await caught(() => app.threats.blockActor('someone', -1))).toMatchObject({
      code: 'KMS_INVALID_INPUT',
    });
    expect(await app.threats.listBlocks()).toEqual([]);
  });

  it("runs in a replica region on that region's own audit trail", async () => {
    await start();
    const replica = await start({}, { region: { role: 'replica', primary: 'eu-west-1' } });
    for (let i = 0; i < 10; i++) {
      await caught(() => replica.secrets.getSecret(`guess-${i}`, { actor: 'intruder' }));
    }
    const pass = await replica.detect();
    expect(pass.detections.map((d) => [d.rule, d.actor])).toEqual([
      ['not-found-probing', 'intruder'],
    ]);
  });
});

describe.each(ENGINES.filter((engine) => engine === 'postgres'))(
  'threat detection across replicas on %s',
  (engine) => {
    let db: TestDatabase;
    const apps: DetectingApp[] = [];

    beforeEach(async () => {
      db = await createTestDatabase(engine);
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await db.drop();
    });

    it('sees probing spread over three replicas, announces it once, and goes on from where a stopped detector left off', async () => {
      const masterKey = newMasterKey();
      const replicas: DetectingApp[] = [];
      for (let i = 0; i < 3; i++) {
        const app = await startDetecting(db, masterKey);
        apps.push(app);
        replicas.push(app);
      }
      // Three guesses per replica: no replica alone sees ten.
      for (let i = 0; i < 12; i++) {
        await caught(() => replicas[i % 3].secrets.getSecret(`guess-${i}`, { actor: 'spreader' }));
      }
      const passes = await Promise.all(replicas.map((replica) => replica.detect()));
      const leading = passes.filter((pass) => pass.leading);
      expect(leading).toHaveLength(1);
      expect(passes.flatMap((pass) => pass.detections.map((d) => [d.rule, d.actor]))).toEqual([
        ['not-found-probing', 'spreader'],
      ]);
      expect(replicas.flatMap((replica) => replica.pager.received)).toHaveLength(1);

      // The leader stops (saves its state, releases the lease); another takes over from there.
      const leader = replicas[passes.indexOf(leading[0])];
      await leader.close();
      apps.splice(apps.indexOf(leader), 1);
      const others = replicas.filter((replica) => replica !== leader);
      for (let i = 12; i < 24; i++) {
        await caught(() => others[i % 2].secrets.getSecret(`guess-${i}`, { actor: 'second' }));
      }
      const next = await Promise.all(others.map((replica) => replica.detect()));
      expect(next.filter((pass) => pass.leading)).toHaveLength(1);
      expect(next.flatMap((pass) => pass.detections.map((d) => [d.rule, d.actor]))).toEqual([
        ['not-found-probing', 'second'],
      ]);
      expect(await others[0].threats.listDetections()).toHaveLength(2);
    });
  },
);
