import { IsInt } from 'class-validator';
import {
  DataKeyNotFoundError,
  InvalidExportError,
  MasterKeyMismatchError,
  quotedInput,
} from '@nest-kms/kms';
import { SealedExports } from '@nest-kms/kms/extension';
import { InvalidBackupError } from '@nest-kms/secrets';
import { FromEnv, UnknownConfigKeyError } from '@nest-kms/config';
import { caught } from './support/caught.js';
import { startConfigApp, type ConfigApp } from './support/config-fixture.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';

/*
 * Error messages that name what a caller passed show it quoted: bounded, one line, control and
 * non-ASCII characters escaped. Logs and terminals that print them stay intact, whatever the
 * input was.
 */

const HOSTILE: Record<string, string> = {
  NUL: 'dk-\u0000-after-nul',
  'a newline': 'dk-1\n{"event":"kms_initialized","forged":true}',
  'ANSI escapes': '\u001b[2J\u001b[31mdk-red\u001b[0m\u0007',
  '10 KB': `dk-${'x'.repeat(10_240)}`,
};

function expectQuoted(error: Error, input: string): void {
  const message = error.message;
  expect(message).toContain(quotedInput(input));
  expect(message.replace(/…/g, '')).toMatch(/^[\x20-\x7e]*$/);
  // A fixed text plus at most 64 escaped characters (6 each) of the input.
  expect(message.length).toBeLessThan(800);
}

class HostileConfig {
  @FromEnv('PORT') @IsInt() port = 3000;
}

describe.each(ENGINES)('error messages quote hostile input on %s', (engine) => {
  let db: TestDatabase;
  let app: ConfigApp<HostileConfig>;

  beforeAll(async () => {
    db = await createTestDatabase(engine);
    app = await startConfigApp(db, { masterKey: newMasterKey(), schema: HostileConfig });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  describe.each(Object.entries(HOSTILE))('%s', (_, input) => {
    it('KmsService.destroyDataKey: DataKeyNotFoundError', async () => {
      const error = await caught(() => app.kms.destroyDataKey(input));
      expect(error).toBeInstanceOf(DataKeyNotFoundError);
      expectQuoted(error, input);
    });

    it('KmsService.importKeyring: MasterKeyMismatchError', async () => {
      const error = await caught(() =>
        app.kms.importKeyring({ masterKeyFingerprint: input, dataKeys: [] }),
      );
      expect(error).toBeInstanceOf(MasterKeyMismatchError);
      expectQuoted(error, input);
    });

    it('SealedExports.open: InvalidExportError', async () => {
      const exports = app.app.get(SealedExports);
      const sealed = await exports.seal(Buffer.from('{}'), 'secrets-backup');
      const error = await caught(() =>
        exports.open({ ...sealed, masterKeyFingerprint: input }, 'secrets-backup'),
      );
      expect(error).toBeInstanceOf(InvalidExportError);
      expectQuoted(error, input);
    });

    it('KmsConfigService.get: UnknownConfigKeyError', async () => {
      const error = await caught(async () => app.loader.get(input));
      expect(error).toBeInstanceOf(UnknownConfigKeyError);
      expectQuoted(error, input);
    });

    it('SecretsService.restoreSecrets: InvalidBackupError, a few unknown fields and a count', async () => {
      // Sealed with this master key, so it reaches the field checks.
      const payload: Record<string, unknown> = { format: 0, v: 0, createdAt: 0, keyring: 0 };
      payload.secrets = 0;
      for (let i = 0; i < 50; i++) payload[`${input}${i}`] = i;
      const artifact = await app.app
        .get(SealedExports)
        .seal(Buffer.from(JSON.stringify(payload)), 'secrets-backup');
      const error = await caught(() => app.secrets.restoreSecrets(artifact));
      expect(error).toBeInstanceOf(InvalidBackupError);
      expectQuoted(error, `${input}0`);
      expect(error.message).toContain('and 47 more');
    });
  });
});
