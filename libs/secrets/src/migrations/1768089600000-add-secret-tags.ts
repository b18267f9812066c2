import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What listing many secrets needs, on an index, never a scan:
 *
 * - kms_secret_tags (secret_name, tag), one row per tag `key` and one per `key=value`, indexed
 *   by (tag, secret_name): a tag filter reads its own rows in name order, a page at a time. A
 *   table rather than an indexed JSON column because neither engine indexes the members of a
 *   JSON object in a way an equality on one member can use in name order (SQLite indexes
 *   expressions, not sets; Postgres' GIN on jsonb answers containment but returns rows
 *   unordered, so a page would sort every match). Its primary key lets Postgres logical
 *   replication carry it to another region like kms_secrets.
 * - Live secrets' names in byte order: a page continues after a name and a prefix is a range
 *   of names, which only byte order makes contiguous. On Postgres the index is COLLATE "C" (the
 *   primary key's follows the database's collation, which may be a language's); SQLite compares
 *   by bytes already (BINARY). Partial, so deleted secrets take no room in a page's walk.
 *
 * The tags of existing secrets are copied from their JSON `tags` column in SQL.
 */
export class AddSecretTags1768089600000 implements MigrationInterface {
  name = 'AddSecretTags1768089600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.query(
      'CREATE TABLE "kms_secret_tags" ("secret_name" varchar(128) NOT NULL, "tag" varchar(385) NOT NULL, CONSTRAINT "PK_kms_secret_tags" PRIMARY KEY ("secret_name", "tag"))',
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_kms_secret_tags_tag_name" ON "kms_secret_tags" ("tag", "secret_name"${postgres ? ' COLLATE "C"' : ''})`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_kms_secrets_live_name" ON "kms_secrets" ("name"${postgres ? ' COLLATE "C"' : ''}) WHERE "deleted_at" IS NULL`,
    );
    const members = postgres
      ? 'kms_secrets s CROSS JOIN LATERAL jsonb_each_text(s.tags::jsonb) t'
      : 'kms_secrets s, json_each(s.tags) t';
    await queryRunner.query(
      `INSERT INTO kms_secret_tags (secret_name, tag)
       SELECT s.name, t.key FROM ${members}
       UNION ALL SELECT s.name, t.key || '=' || t.value FROM ${members}`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "IDX_kms_secrets_live_name"');
    await queryRunner.query('DROP TABLE "kms_secret_tags"');
  }
}
