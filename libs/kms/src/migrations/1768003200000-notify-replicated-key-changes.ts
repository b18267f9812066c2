import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * On Postgres, a keyring that receives its rows by logical replication (a second region's
 * subscriber) hears of them as if a replica of its own had written them: these triggers fire
 * only for rows the replication apply writes (ENABLE REPLICA: session_replication_role =
 * replica), never for the application's own writes, which notify from their transaction. They
 * send what a writing replica sends: a new active data key, a destroyed one, a new master key.
 * SQLite has no logical replication: nothing to do.
 */
export class NotifyReplicatedKeyChanges1768003200000 implements MigrationInterface {
  name = 'NotifyReplicatedKeyChanges1768003200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(`
      CREATE FUNCTION nest_kms_replicated_data_key() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('nest_kms',
            json_build_object('topic', 'data_key_destroyed', 'keyId', OLD.id)::text);
          RETURN OLD;
        END IF;
        IF NEW.status = 'active' THEN
          PERFORM pg_notify('nest_kms',
            json_build_object('topic', 'data_key_rotated', 'keyId', NEW.id)::text);
        END IF;
        RETURN NEW;
      END $$`);
    await queryRunner.query(
      'CREATE TRIGGER nest_kms_replicated_data_key AFTER INSERT OR DELETE ON kms_data_keys FOR EACH ROW EXECUTE FUNCTION nest_kms_replicated_data_key()',
    );
    await queryRunner.query(
      'ALTER TABLE kms_data_keys ENABLE REPLICA TRIGGER nest_kms_replicated_data_key',
    );
    await queryRunner.query(`
      CREATE FUNCTION nest_kms_replicated_keyring() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('nest_kms', json_build_object(
          'topic', 'master_key_rotated', 'fingerprint', NEW.master_key_fingerprint)::text);
        RETURN NEW;
      END $$`);
    await queryRunner.query(
      'CREATE TRIGGER nest_kms_replicated_keyring AFTER UPDATE ON kms_keyring FOR EACH ROW WHEN (OLD.master_key_fingerprint IS DISTINCT FROM NEW.master_key_fingerprint) EXECUTE FUNCTION nest_kms_replicated_keyring()',
    );
    await queryRunner.query(
      'ALTER TABLE kms_keyring ENABLE REPLICA TRIGGER nest_kms_replicated_keyring',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query('DROP TRIGGER nest_kms_replicated_keyring ON kms_keyring');
    await queryRunner.query('DROP FUNCTION nest_kms_replicated_keyring()');
    await queryRunner.query('DROP TRIGGER nest_kms_replicated_data_key ON kms_data_keys');
    await queryRunner.query('DROP FUNCTION nest_kms_replicated_data_key()');
  }
}
