import { randomBytes } from 'node:crypto';
import { ActorBlockedError } from '@nest-kms/kms';
import { SecretsAuditTrail, type AuditTrailVerification } from '@nest-kms/secrets';
import {
  ThreatDetectionModule,
  ThreatsService,
  type ActorBlock,
  type ThreatDetection,
} from '@nest-kms/threat-detection';
import { caught } from './support/caught.js';
import {
  CLI_SUITE_OPTIONS,
  cliOn,
  describeLeakScan,
  errorLineOf,
  jsonOf,
  runCli,
  SecretValues,
} from './support/cli-runner.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { openKmsTables, sqlQuery } from './support/kms-tables.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';

/*
 * `nest-kms audit verify` and `nest-kms threats ...` on SQLite and Postgres, beside an
 * application on the same database that writes, seals the audit trail and runs the detector.
 */

/** Every secret value and master key of this file: no run may print one. */
const secretValues = new SecretValues();

interface DetectingApp extends SecretsApp {
  trail: SecretsAuditTrail;
  threats: ThreatsService;
  /** Seals the trail and runs one detector pass, as the application's timers do. */
  detect(): Promise<readonly ThreatDetection[]>;
}

async function startApplication(db: TestDatabase, masterKey: string): Promise<DetectingApp> {
  const app = await startSecretsApp(db, {
    masterKey,
    secrets: { audit: { sealIntervalMs: 0, failClosed: true } },
    imports: [ThreatDetectionModule.forRoot({ intervalMs: 0, verifyIntervalMs: 0 })],
  });
  const trail = app.app.get(SecretsAuditTrail);
  const threats = app.app.get(ThreatsService);
  return {
    ...app,
    trail,
    threats,
    detect: async () => {
      await trail.seal();
      return (await threats.runDetection()).detections;
    },
  };
}

describe.each(ENGINES)('nest-kms audit and threats on %s', CLI_SUITE_OPTIONS, (engine) => {
  let db: TestDatabase;
  let app: DetectingApp;
  let cli: ReturnType<typeof cliOn>;

  beforeEach(async () => {
    db = await createTestDatabase(engine);
    const masterKey = secretValues.add(randomBytes(32).toString('base64'));
    cli = cliOn(db, masterKey);
    app = await startApplication(db, masterKey);
    await app.secrets.setSecret('db-password', secretValues.make('db-password'), {
      actor: 'operator',
    });
  });

  afterEach(async () => {
    await app.close();
    await db.drop();
  });

  it('audit verify reports an intact chain, then a deleted record with exit 7 and its position', async () => {
    for (let i = 0; i < 5; i++) await app.secrets.getSecret('db-password', { actor: 'billing' });
    await app.trail.seal();
    // Written, not sealed: counted, not verified.
    await app.secrets.getSecret('db-password', { actor: 'billing' });

    const intact = jsonOf<AuditTrailVerification>(await cli(['audit', 'verify', '--json']));
    expect(intact).toMatchObject({
      intact: true,
      verifiedRecords: 6,
      lastSeq: 6,
      problemCount: 0,
      problems: [],
      unsealedRecords: 1,
      oldestUnsealedAt: expect.any(Number),
    });
    // The CLI, as every process running SecretsModule, sealed what it found when it exited.
    const human = await cli(['audit', 'verify']);
    expect(human).toMatchObject({ exitCode: 0, stderr: '' });
    expect(human.stdout).toMatch(/^audit trail\s+intact$/m);
    expect(human.stdout).toMatch(/^verified\s+7 records \(last position 7\)$/m);
    expect(human.stdout).toMatch(/^problems\s+0$/m);
    expect(human.stdout).toMatch(/^unsealed\s+0 records$/m);

    const tables = await openKmsTables(db);
    try {
      await sqlQuery(tables, 'DELETE FROM kms_secret_audit WHERE chain_seq = 3');
    } finally {
      await tables.destroy();
    }

    const broken = await cli(['audit', 'verify']);
    expect(broken.exitCode).toBe(7);
    expect(broken.stdout).toMatch(/^audit trail\s+BROKEN$/m);
    expect(broken.stdout).toMatch(/^PROBLEM\s+FROM\s+TO$/m);
    expect(broken.stdout).toMatch(/^missing\s+3\s+3$/m);
    expect(errorLineOf(broken)).toEqual({
      code: 'AUDIT_TRAIL_BROKEN',
      message: expect.stringContaining('1 problem (missing at 3)'),
    });

    const json = await cli(['audit', 'verify', '--json']);
    expect(json.exitCode).toBe(7);
    expect(JSON.parse(json.stdout)).toMatchObject({
      intact: false,
      problemCount: 1,
      problems: [{ kind: 'missing', fromSeq: 3, toSeq: 3 }],
    });
    expect(errorLineOf(json).code).toBe('AUDIT_TRAIL_BROKEN');
  });

  it('threats list shows what the detector recorded, newest first, filtered by --since and --limit', async () => {
    expect(await cli(['threats', 'list'])).toMatchObject({
      exitCode: 0,
      stdout: '',
      stderr: 'nest-kms: no detections\n',
    });
    for (let i = 0; i < 12; i++) {
      await caught(() => app.secrets.getSecret(`guess-${i}`, { actor: 'intruder' }));
    }
    const [probing] = await app.detect();
    for (let i = 0; i < 12; i++) {
      await caught(() => app.secrets.getSecret(`other-${i}`, { actor: 'second-intruder' }));
    }
    const [second] = await app.detect();

    const listed = jsonOf<ThreatDetection[]>(await cli(['threats', 'list', '--json']));
    expect(listed).toEqual([second, probing].sort((a, b) => b.recordedAt - a.recordedAt));
    expect(listed.map((d) => [d.rule, d.severity, d.actor])).toEqual(
      expect.arrayContaining([
        ['not-found-probing', 'medium', 'intruder'],
        ['not-found-probing', 'medium', 'second-intruder'],
      ]),
    );
    expect(
      jsonOf<ThreatDetection[]>(await cli(['threats', 'list', '--limit', '1', '--json'])),
    ).toHaveLength(1);

    const table = await cli(['threats', 'list']);
    expect(table).toMatchObject({ exitCode: 0, stderr: '' });
    expect(table.stdout).toMatch(/^DETECTED\s+RULE\s+SEVERITY\s+ACTOR\s+SUBJECT\s+COUNTS$/m);
    const counts = Object.entries(probing.counts)
      .map(([name, count]) => `${name}=${count}`)
      .join(',');
    expect(table.stdout).toContain(
      `${new Date(probing.detectedAt).toISOString()}  not-found-probing  medium    intruder`,
    );
    expect(table.stdout).toMatch(new RegExp(`\\s${counts}$`, 'm'));

    const later = new Date(Math.max(probing.recordedAt, second.recordedAt) + 60_000);
    expect(await cli(['threats', 'list', '--since', later.toISOString()])).toMatchObject({
      exitCode: 0,
      stdout: '',
      stderr: 'nest-kms: no detections\n',
    });
    const since = new Date(probing.recordedAt).toISOString();
    expect(
      jsonOf<ThreatDetection[]>(await cli(['threats', 'list', '--since', since, '--json'])),
    ).toHaveLength(2);

    for (const argv of [
      ['--since', 'yesterday'],
      ['--since', '2026-13-45T99:99:99Z'],
      ['--limit', '0'],
      ['--limit', '1001'],
    ]) {
      const refused = await cli(['threats', 'list', ...argv]);
      expect(refused.exitCode).toBe(2);
      expect(errorLineOf(refused).code).toBe('USAGE');
    }
  });

  it('threats block refuses an actor in the application until threats unblock lifts it; both recorded', async () => {
    expect(await cli(['threats', 'blocks'])).toMatchObject({
      exitCode: 0,
      stdout: '',
      stderr: 'nest-kms: no actors blocked\n',
    });
    const block = jsonOf<ActorBlock>(
      await cli(['threats', 'block', 'mallory', '--minutes', '30', '--json']),
    );
    expect(block).toMatchObject({ actor: 'mallory', reason: 'operator', detectionId: null });
    expect(block.until - block.createdAt).toBe(30 * 60_000);

    const blocks = await cli(['threats', 'blocks']);
    expect(blocks.stdout).toMatch(/^ACTOR\s+UNTIL\s+REASON\s+SINCE$/m);
    expect(blocks.stdout).toMatch(
      new RegExp(`^mallory\\s+${new Date(block.until).toISOString()}\\s+operator\\s`, 'm'),
    );
    expect(jsonOf<ActorBlock[]>(await cli(['threats', 'blocks', '--json']))).toEqual([block]);

    // The application learns of it at its next pass, as every replica does.
    await app.detect();
    expect(
      await caught(() => app.secrets.getSecret('db-password', { actor: 'mallory' })),
    ).toBeInstanceOf(ActorBlockedError);

    const unblocked = await cli(['threats', 'unblock', 'mallory']);
    expect(unblocked).toMatchObject({ exitCode: 0, stdout: 'unblocked mallory\n', stderr: '' });
    await app.detect();
    await app.secrets.getSecret('db-password', { actor: 'mallory' });

    // Lifting a block that is not there changes nothing and is not a failure.
    expect(await cli(['threats', 'unblock', 'mallory'])).toMatchObject({
      exitCode: 0,
      stdout: '',
      stderr: 'nest-kms: mallory was not blocked; nothing to lift\n',
    });
    expect(
      jsonOf<{ actor: string; unblocked: boolean }>(
        await cli(['threats', 'unblock', 'nobody', '--json']),
      ),
    ).toEqual({ actor: 'nobody', unblocked: false });

    await app.trail.seal();
    const responses = (await app.trail.read(0)).filter((record) =>
      ['block', 'unblock'].includes(record.action),
    );
    expect(responses.map((r) => [r.action, r.actor, r.errorCode])).toEqual([
      ['block', 'mallory', 'operator'],
      ['unblock', 'mallory', 'operator'],
    ]);
  });

  it('threats block refuses a bad actor or duration, and works in a replica region, whose blocks are its own', async () => {
    for (const argv of [
      ['threats', 'block', 'x'.repeat(129)],
      ['threats', 'block', 'mallory', '--minutes', '0'],
      ['threats', 'block'],
    ]) {
      const refused = await cli(argv);
      expect(refused.exitCode).toBe(2);
      expect(['USAGE', 'KMS_INVALID_INPUT']).toContain(errorLineOf(refused).code);
    }
    const replica = await cli(['threats', 'block', 'mallory'], {
      env: { KMS_REGION_ROLE: 'replica', KMS_REGION_PRIMARY: 'eu-west-1' },
    });
    // The threat tables are each region's own (not replicated): an operator blocks there too.
    expect(replica.exitCode).toBe(0);
    expect((await app.threats.listBlocks()).map((block) => block.actor)).toEqual(['mallory']);
  });
});

describe('nest-kms help for audit and threats', CLI_SUITE_OPTIONS, () => {
  it('lists the commands and exit code 7', async () => {
    const help = await runCli(['--help']);
    expect(help).toMatchObject({ exitCode: 0, stderr: '' });
    for (const command of [
      'audit verify',
      'threats list',
      'threats blocks',
      'threats block ACTOR',
      'threats unblock ACTOR',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\s`, 'm'));
    }
    expect(help.stdout).toMatch(/^ {2}7 {2}audit trail broken/m);
  });
});

describeLeakScan('prints no secret value, master key or stack trace', secretValues, 20);
