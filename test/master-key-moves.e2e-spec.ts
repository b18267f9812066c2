import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePkcs11MasterKey } from '@nest-kms/pkcs11';
import {
  CLI_SUITE_OPTIONS,
  describeLeakScan,
  errorLineOf,
  jsonOf,
  runCli,
  SecretValues,
  startKeyringIn,
  type CliRunOptions,
} from './support/cli-runner.js';
import { databaseEnv, ENGINES, type TestDatabase } from './support/databases.js';
import { FakeAwsKms } from './support/fake-aws-kms.js';
import { createMigratedTestDatabase } from './support/migrated-databases.js';
import { createSoftHsmToken, softHsmAvailable, type SoftHsmToken } from './support/softhsm.js';

/*
 * Moving a keyring between master-key providers with the operator's CLI, as the migration
 * runbook in docs/master-keys.md describes: local -> AWS KMS -> PKCS#11 -> local, each step one
 * `keys rotate-master` whose target is named in the environment (never on the command line),
 * then every replica restarted with the new provider's settings. AWS KMS is the local double of
 * its JSON protocol; PKCS#11 is a real SoftHSM2 token.
 */

const secretValues = new SecretValues();
const secretAccessKey = randomBytes(30).toString('base64');
secretValues.add(secretAccessKey);

type Env = Record<string, string | undefined>;

describe.skipIf(!softHsmAvailable)('moving between master-key providers', CLI_SUITE_OPTIONS, () => {
  let aws: FakeAwsKms;
  let token: SoftHsmToken;
  const keyLabel = 'nest-kms-master';

  beforeAll(async () => {
    token = createSoftHsmToken();
    secretValues.add(token.pin);
    aws = await FakeAwsKms.start();
    await generatePkcs11MasterKey({
      module: token.module,
      tokenLabel: token.tokenLabel,
      keyLabel,
      pin: token.pin,
    });
  });

  afterAll(async () => {
    await aws?.close();
    token?.cleanup();
  });

  /** The settings of each master key, as a replica's environment holds them. */
  const local = (key: string): Env => ({ KMS_MASTER_KEY: key, KMS_MASTER_KEY_PROVIDER: undefined });
  const awsKms = (prefix = 'KMS_'): Env => ({
    [`${prefix}AWS_KMS_KEY_ID`]: aws.keyArn,
    [`${prefix}AWS_KMS_REGION`]: FakeAwsKms.PRIMARY_REGION,
    [`${prefix}AWS_KMS_ENDPOINT`]: aws.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIATEST',
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
  });
  const pkcs11 = (prefix = 'KMS_'): Env => ({
    [`${prefix}PKCS11_MODULE`]: token.module,
    [`${prefix}PKCS11_TOKEN_LABEL`]: token.tokenLabel,
    [`${prefix}PKCS11_KEY_LABEL`]: keyLabel,
    [`${prefix}PKCS11_PIN`]: token.pin,
    SOFTHSM2_CONF: process.env.SOFTHSM2_CONF,
  });
  const provider = (name: string, settings: Env): Env => ({
    KMS_MASTER_KEY: undefined,
    KMS_MASTER_KEY_PROVIDER: name,
    ...settings,
  });

  describe.each(ENGINES)('on %s', (engine) => {
    let db: TestDatabase;
    let dir: string;

    beforeEach(async () => {
      db = await createMigratedTestDatabase(engine);
      dir = mkdtempSync(join(tmpdir(), 'nest-kms-moves-'));
    });

    afterEach(async () => {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    const cli = (target: TestDatabase, env: Env, args: string[], options: CliRunOptions = {}) =>
      runCli(args, { ...options, env: { ...databaseEnv(target), ...env, ...options.env } });

    const fingerprint = async (target: TestDatabase, env: Env) =>
      jsonOf<{ masterKeyFingerprint: string }>(await cli(target, env, ['status', '--json']))
        .masterKeyFingerprint;

    it('local -> AWS KMS -> PKCS#11 -> local: each step re-wraps the keyring, the old key is refused after it, and every secret opens', async () => {
      const first = randomBytes(32).toString('base64');
      const last = randomBytes(32).toString('base64');
      secretValues.add(first);
      secretValues.add(last);
      await startKeyringIn(db, first);
      const value = secretValues.make('moved');
      expect(
        (await cli(db, local(first), ['secrets', 'set', 'MOVED'], { stdin: value })).exitCode,
      ).toBe(0);

      const steps: { from: Env; to: Env; target: Env; provider: string }[] = [
        {
          from: local(first),
          target: { KMS_NEW_MASTER_KEY_PROVIDER: 'aws-kms', ...awsKms('KMS_NEW_') },
          to: provider('aws-kms', awsKms()),
          provider: 'aws-kms',
        },
        {
          from: provider('aws-kms', awsKms()),
          target: { KMS_NEW_MASTER_KEY_PROVIDER: 'pkcs11', ...pkcs11('KMS_NEW_') },
          to: provider('pkcs11', pkcs11()),
          provider: 'pkcs11',
        },
        {
          from: provider('pkcs11', pkcs11()),
          target: { KMS_NEW_MASTER_KEY: last },
          to: local(last),
          provider: 'local',
        },
      ];
      for (const step of steps) {
        const rotated = jsonOf<{ from: string; to: string; rewrapped: number }>(
          await cli(db, step.from, ['keys', 'rotate-master', '--json'], { env: step.target }),
        );
        expect(rotated.to.startsWith(`${step.provider}:`)).toBe(true);
        expect(rotated.rewrapped).toBe(1);
        expect(await fingerprint(db, step.to)).toBe(rotated.to);
        const got = await cli(db, step.to, ['secrets', 'get', 'MOVED'], { printsSecret: true });
        expect(got.stdout).toBe(value);
        const refused = await cli(db, step.from, ['status']);
        expect(errorLineOf(refused).code).toBe('KMS_MASTER_KEY_MISMATCH');
      }
    });

    it('a backup made under the old master key restores while that key is configured as the previous one', async () => {
      const first = randomBytes(32).toString('base64');
      secretValues.add(first);
      await startKeyringIn(db, first);
      const value = secretValues.make('backed-up');
      await cli(db, local(first), ['secrets', 'set', 'BACKED_UP'], { stdin: value });
      const file = join(dir, 'backup.json');
      expect((await cli(db, local(first), ['backup', 'export', '--out', file])).exitCode).toBe(0);
      const moved = await cli(db, local(first), ['keys', 'rotate-master'], {
        env: { KMS_NEW_MASTER_KEY_PROVIDER: 'aws-kms', ...awsKms('KMS_NEW_') },
      });
      expect(moved.exitCode).toBe(0);

      const fresh = await createMigratedTestDatabase(engine);
      try {
        const underAws = provider('aws-kms', awsKms());
        const refused = await cli(fresh, underAws, ['backup', 'import', file]);
        expect(refused.exitCode).not.toBe(0);
        const withPrevious = { ...underAws, KMS_MASTER_KEY_PREVIOUS: first };
        expect((await cli(fresh, withPrevious, ['backup', 'import', file])).exitCode).toBe(0);
        const got = await cli(fresh, underAws, ['secrets', 'get', 'BACKED_UP'], {
          printsSecret: true,
        });
        expect(got.stdout).toBe(value);
      } finally {
        await fresh.drop();
      }
    });

    it('a provider that refuses (a wrong HSM PIN) stops the command with exit 5, the PIN shown nowhere', async () => {
      const first = randomBytes(32).toString('base64');
      secretValues.add(first);
      await startKeyringIn(db, first);
      const wrongPin = `${token.pin}0`;
      secretValues.add(wrongPin);
      const run = await cli(db, local(first), ['keys', 'rotate-master'], {
        env: {
          KMS_NEW_MASTER_KEY_PROVIDER: 'pkcs11',
          ...pkcs11('KMS_NEW_'),
          KMS_NEW_PKCS11_PIN: wrongPin,
        },
      });
      expect(run.exitCode).toBe(5);
      expect(errorLineOf(run).code).toBe('KMS_MASTER_KEY_PROVIDER_ERROR');
      expect(`${run.stdout}${run.stderr}`).not.toContain(wrongPin);
      expect(await fingerprint(db, local(first))).toMatch(/^local:/);
    });

    it('lists the master keys and removes an additional one, by fingerprint', async () => {
      const first = randomBytes(32).toString('base64');
      const breakGlass = randomBytes(32).toString('base64');
      secretValues.add(first);
      secretValues.add(breakGlass);
      await startKeyringIn(db, first);
      const withBreakGlass = { ...local(first), KMS_ADDITIONAL_MASTER_KEY: breakGlass };
      const listed = jsonOf<{ fingerprint: string; role: string; keysWithoutWrap: number }[]>(
        await cli(db, withBreakGlass, ['keys', 'masters', '--json']),
      );
      expect(listed.map((key) => [key.role, key.keysWithoutWrap])).toEqual([
        ['primary', 0],
        ['additional', 0],
      ]);

      const removed = await cli(db, local(first), ['keys', 'remove-master', listed[1].fingerprint]);
      expect(removed.stdout).toMatch(/^removed: master key local:\S+ \(2 wraps deleted\)$/m);
      const after = jsonOf<unknown[]>(await cli(db, local(first), ['keys', 'masters', '--json']));
      expect(after).toHaveLength(1);
      const unknown = await cli(db, local(first), ['keys', 'remove-master', 'local:0000']);
      expect(unknown.exitCode).not.toBe(0);
    });
  });

  describeLeakScan('shows no master key, PIN, credential or secret value', secretValues, 10);
});
