import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import { KEYRING_ID, KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import type { EnvelopeColumn } from './envelope-column.js';
import { EnvelopeColumnSql } from './envelope-column-sql.js';

@Entity({ name: 'spec_originals' })
class Original {
  @PrimaryColumn({ type: 'varchar' }) name: string;
  @PrimaryColumn({ type: 'integer' }) version: number;
  @Column({ type: 'text' }) envelope: string;
  @Column({ name: 'key_id', type: 'varchar' }) keyId: string;
}

@Entity({ name: 'spec_copies' })
class Copy {
  @PrimaryColumn({ type: 'varchar' }) name: string;
  @Column({ name: 'current_version', type: 'integer' }) currentVersion: number;
  @Column({ name: 'current_envelope', type: 'text' }) currentEnvelope: string;
  @Column({ name: 'current_key_id', type: 'varchar' }) currentKeyId: string;
}

const ORIGINALS: EnvelopeColumn = {
  entity: Original,
  envelope: 'envelope',
  keyId: 'keyId',
  purpose: 'secret',
};
const COPIES: EnvelopeColumn = {
  entity: Copy,
  envelope: 'currentEnvelope',
  keyId: 'currentKeyId',
  purpose: 'secret',
  copyOf: {
    entity: Original,
    envelope: 'envelope',
    join: { name: 'name', currentVersion: 'version' },
  },
};

/** A stand-in for a store's envelope: the SQL looks at the prefix and the key id column only. */
const sealed = (keyId: string, tag: string) => `kms2.secret.${keyId}.1.iv.${tag}.ct`;

describe('EnvelopeColumnSql.copy (SQLite)', () => {
  let dataSource: DataSource;

  beforeEach(async () => {
    dataSource = new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: [Original, Copy, KmsDataKeyEntity, KmsKeyringEntity],
      synchronize: true,
    });
    await dataSource.initialize();
  });

  afterEach(async () => {
    await dataSource.destroy();
  });

  const put = async (
    name: string,
    current: { version: number; envelope: string; keyId: string },
    originals: { version: number; envelope: string; keyId: string }[],
  ) => {
    for (const original of originals)
      await dataSource.getRepository(Original).insert({ name, ...original });
    await dataSource.getRepository(Copy).insert({
      name,
      currentVersion: current.version,
      currentEnvelope: current.envelope,
      currentKeyId: current.keyId,
    });
  };
  const copies = async () =>
    Object.fromEntries(
      (await dataSource.getRepository(Copy).find()).map((row) => [row.name, row.currentEnvelope]),
    );
  const run = async ([sql, parameters]: [string, unknown[]]) => {
    const runner = dataSource.createQueryRunner();
    try {
      return (await runner.query(sql, parameters, true)).affected;
    } finally {
      await runner.release();
    }
  };

  it('sets the rows to move from their current original where it is under the active key, and no other', async () => {
    // a: the current original moved; b: its original still under the old key; c: already
    // moved (written meanwhile); d: the original of another version moved, not the current one;
    // e: past the batch's last key.
    await put('a', { version: 2, envelope: sealed('old', 'a2'), keyId: 'old' }, [
      { version: 1, envelope: sealed('old', 'a1'), keyId: 'old' },
      { version: 2, envelope: sealed('new', 'a2'), keyId: 'new' },
    ]);
    await put('b', { version: 1, envelope: sealed('old', 'b1'), keyId: 'old' }, [
      { version: 1, envelope: sealed('old', 'b1'), keyId: 'old' },
    ]);
    await put('c', { version: 1, envelope: sealed('new', 'c-written'), keyId: 'new' }, [
      { version: 1, envelope: sealed('new', 'c1'), keyId: 'new' },
    ]);
    await put('d', { version: 2, envelope: sealed('old', 'd2'), keyId: 'old' }, [
      { version: 1, envelope: sealed('new', 'd1'), keyId: 'new' },
      { version: 2, envelope: sealed('old', 'd2'), keyId: 'old' },
    ]);
    await put('e', { version: 1, envelope: sealed('old', 'e1'), keyId: 'old' }, [
      { version: 1, envelope: sealed('new', 'e1'), keyId: 'new' },
    ]);
    const column = EnvelopeColumnSql.of(dataSource, COPIES, [ORIGINALS, COPIES]);

    expect(await run(column.copy('new', undefined, ['d']))).toBe(1);

    expect(await copies()).toEqual({
      a: sealed('new', 'a2'),
      b: sealed('old', 'b1'),
      c: sealed('new', 'c-written'),
      d: sealed('old', 'd2'),
      e: sealed('old', 'e1'),
    });
    // The next batch starts after the last key: e is copied there.
    expect(await run(column.copy('new', ['d'], ['e']))).toBe(1);
    expect((await copies()).e).toBe(sealed('new', 'e1'));
    const [current] = await dataSource.query(
      `SELECT current_key_id AS keyId FROM spec_copies WHERE name = 'e'`,
    );
    expect(current.keyId).toBe('new');
  });

  it("copies no format-v1 original and no envelope of another store's format", async () => {
    await put('v1', { version: 1, envelope: sealed('old', 'x'), keyId: 'old' }, [
      { version: 1, envelope: 'kms1.new.1.iv.tag.ct', keyId: 'new' },
    ]);
    await put('column', { version: 1, envelope: sealed('old', 'y'), keyId: 'old' }, [
      { version: 1, envelope: 'kms2.column.new.1.iv.tag.ct', keyId: 'new' },
    ]);
    const column = EnvelopeColumnSql.of(dataSource, COPIES, [ORIGINALS, COPIES]);
    expect(await run(column.copy('new', undefined, ['zzz'], true))).toBe(0);
  });

  it("sets a tenant's row from an original under its own tenant's active key, and no other tenant's", async () => {
    // Tenant key ids: tk-<22-character tag>-<22 characters>.
    const keyOf = (tag: string, n: string) => `tk-${tag.repeat(22)}-${n.repeat(22)}`;
    const [retired, active, otherActive] = [keyOf('A', '1'), keyOf('A', '2'), keyOf('B', '3')];
    await dataSource.getRepository(KmsKeyringEntity).insert({
      id: KEYRING_ID,
      masterKeyFingerprint: 'local:k',
      createdAt: 1,
      updatedAt: 1,
    });
    const keyRow = (id: string, tenant: string, status: 'active' | 'retired') => ({
      id,
      tenant,
      status,
      wrappedKey: 'w',
      masterKeyFingerprint: 'local:k',
      createdAt: 1,
      retiredAt: null,
    });
    await dataSource
      .getRepository(KmsDataKeyEntity)
      .insert([
        keyRow(retired, 'A'.repeat(22), 'retired'),
        keyRow(active, 'A'.repeat(22), 'active'),
        keyRow(otherActive, 'B'.repeat(22), 'active'),
      ]);
    // a: its original moved to the tenant's active key; b: its original swapped for another
    // tenant's envelope; c: its original still under the retired key.
    await put('a', { version: 1, envelope: sealed(retired, 'a'), keyId: retired }, [
      { version: 1, envelope: sealed(active, 'a'), keyId: active },
    ]);
    await put('b', { version: 1, envelope: sealed(retired, 'b'), keyId: retired }, [
      { version: 1, envelope: sealed(otherActive, 'b'), keyId: otherActive },
    ]);
    await put('c', { version: 1, envelope: sealed(retired, 'c'), keyId: retired }, [
      { version: 1, envelope: sealed(retired, 'c'), keyId: retired },
    ]);
    const column = EnvelopeColumnSql.of(dataSource, COPIES, [ORIGINALS, COPIES]);

    expect(await run(column.copy('dk-new', undefined, ['zzz']))).toBe(1);
    expect(await copies()).toEqual({
      a: sealed(active, 'a'),
      b: sealed(retired, 'b'),
      c: sealed(retired, 'c'),
    });
    const [copied] = await dataSource.query(
      `SELECT current_key_id AS keyId FROM spec_copies WHERE name = 'a'`,
    );
    expect(copied.keyId).toBe(active);
  });

  it('refuses a copy whose source is not a registered column of the same purpose', () => {
    expect(() => EnvelopeColumnSql.of(dataSource, COPIES, [COPIES])).toThrow(KmsConfigurationError);
    expect(() =>
      EnvelopeColumnSql.of(dataSource, COPIES, [{ ...ORIGINALS, purpose: 'column' }, COPIES]),
    ).toThrow(KmsConfigurationError);
  });
});
