import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * On Postgres, a secrets store that receives its rows by logical replication (a second
 * region's subscriber) hears of each change as if a replica of its own had made it, so its
 * cached values and watchers follow the other region: this trigger fires only for rows the
 * replication apply writes (ENABLE REPLICA), never for the application's own writes, which
 * notify from their transaction. Only a new current version, a deletion, a recovery, a new or a
 * destroyed secret notify: re-encryption's rewrites of the same value do not. SQLite has no
 * logical replication: nothing to do.
 */
export class NotifyReplicatedSecretChanges1768003200001 implements MigrationInterface {
  name = 'NotifyReplicatedSecretChanges1768003200001';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(`
      CREATE FUNCTION nest_kms_replicated_secret() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        reason text;
      BEGIN
        IF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('nest_kms', json_build_object('topic', 'secret_changed',
            'name', OLD.name, 'version', NULL, 'reason', 'destroyed')::text);
          RETURN OLD;
        END IF;
        IF TG_OP = 'INSERT' THEN
          reason := 'created';
        ELSIF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
          reason := 'deleted';
        ELSIF NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN
          reason := 'recovered';
        ELSE
          reason := 'updated';
        END IF;
        PERFORM pg_notify('nest_kms', json_build_object('topic', 'secret_changed',
          'name', NEW.name,
          'version', CASE WHEN NEW.deleted_at IS NULL THEN NEW.current_version END,
          'reason', reason)::text);
        RETURN NEW;
      END $$`);
    await queryRunner.query(
      'CREATE TRIGGER nest_kms_replicated_secret_written AFTER INSERT OR DELETE ON kms_secrets FOR EACH ROW EXECUTE FUNCTION nest_kms_replicated_secret()',
    );
    await queryRunner.query(
      'CREATE TRIGGER nest_kms_replicated_secret_changed AFTER UPDATE ON kms_secrets FOR EACH ROW WHEN (OLD.current_version IS DISTINCT FROM NEW.current_version OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at) EXECUTE FUNCTION nest_kms_replicated_secret()',
    );
    await queryRunner.query(
      'ALTER TABLE kms_secrets ENABLE REPLICA TRIGGER nest_kms_replicated_secret_written',
    );
    await queryRunner.query(
      'ALTER TABLE kms_secrets ENABLE REPLICA TRIGGER nest_kms_replicated_secret_changed',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query('DROP TRIGGER nest_kms_replicated_secret_changed ON kms_secrets');
    await queryRunner.query('DROP TRIGGER nest_kms_replicated_secret_written ON kms_secrets');
    await queryRunner.query('DROP FUNCTION nest_kms_replicated_secret()');
  }
}
