import { readFileSync } from 'node:fs';
import { Test } from '@nestjs/testing';
import { AadMismatchError, KmsService } from '@nest-kms/kms';
import { CapturedLogger } from './support/captured-logger.js';
import { ENGINES, createTestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';

const example = readFileSync(new URL('./fixtures/readme-example.ts', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

it('the README shows the tested example verbatim', () => {
  expect(readme).toContain(example.trim());
});

describe.each(ENGINES.filter((engine) => engine === 'postgres'))(
  'the README example on %s',
  (engine) => {
    it('works as written: seal, open, rotate, still open', async () => {
      const db = await createTestDatabase(engine);
      const saved = {
        DATABASE_URL: process.env.DATABASE_URL,
        KMS_MASTER_KEY: process.env.KMS_MASTER_KEY,
      };
      process.env.DATABASE_URL = (db.connection as { url: string }).url;
      process.env.KMS_MASTER_KEY = newMasterKey();
      try {
        const { WalletModule, WalletVault } = await import('./fixtures/readme-example.js');
        const app = await Test.createTestingModule({ imports: [WalletModule] })
          .setLogger(new CapturedLogger())
          .compile();
        await app.init();
        const vault = app.get(WalletVault);
        const stored = await vault.seal('user-1', 'abandon ability able about');
        expect(stored.startsWith('kms1.')).toBe(true);
        expect(await vault.open('user-1', stored)).toBe('abandon ability able about');
        await expect(vault.open('user-2', stored)).rejects.toBeInstanceOf(AadMismatchError);
        await app.get(KmsService).rotateDataKey();
        expect(await vault.open('user-1', stored)).toBe('abandon ability able about');
        await app.close();
      } finally {
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
        await db.drop();
      }
    });
  },
);
