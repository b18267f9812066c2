import { KmsDataKeyEntity } from '@nest-kms/kms';
import { ENGINES } from './support/databases.js';
import { kmsAppsPerTest, newMasterKey, type KmsApp } from './support/kms-fixture.js';
import { openKmsTables } from './support/kms-tables.js';
import { expectOneRotationChain } from './support/rotation-chain.js';

/** rotateDataKey() tells each caller which key its own rotation retired, however many run at once. */
describe.each(ENGINES)('rotateDataKey() results on %s', (engine) => {
  const perTest = kmsAppsPerTest(engine);
  const start = (masterKey: string): Promise<KmsApp> => perTest.start(masterKey);

  async function storedStatuses(): Promise<Map<string, string>> {
    const tables = await openKmsTables(perTest.db());
    try {
      const rows = await tables.getRepository(KmsDataKeyEntity).find();
      return new Map(rows.map((row) => [row.id, row.status]));
    } finally {
      await tables.destroy();
    }
  }

  it('30 concurrent rotations each return the key they made and the one they retired', async () => {
    const { kms } = await start(newMasterKey());
    const first = kms.getStatus().activeKeyId!;
    const rotations = await Promise.all(Array.from({ length: 30 }, () => kms.rotateDataKey()));

    const chain = expectOneRotationChain(first, rotations);
    expect(kms.getStatus().activeKeyId).toBe(chain.at(-1));
    const stored = await storedStatuses();
    expect([...stored.keys()].sort()).toEqual([...chain].sort());
    for (const rotation of rotations) expect(stored.get(rotation.previousKeyId!)).toBe('retired');
  });

  // Several processes on one SQLite file are not supported (SQLite is one process).
  if (engine === 'postgres') {
    it('rotations from two replicas at once still form one line of retired keys', async () => {
      const masterKey = newMasterKey();
      const replicas = [await start(masterKey), await start(masterKey)];
      const first = replicas[0].kms.getStatus().activeKeyId!;
      const rotations = await Promise.all(
        Array.from({ length: 20 }, (_, i) => replicas[i % 2].kms.rotateDataKey()),
      );

      const chain = expectOneRotationChain(first, rotations);
      const stored = await storedStatuses();
      expect(stored.get(chain.at(-1)!)).toBe('active');
      expect([...stored.values()].filter((status) => status === 'active')).toHaveLength(1);
    });
  }
});
