import type { Logger as TypeOrmLogger } from 'typeorm';
import type { KmsConnectionOptions } from '@nest-kms/kms';

/** A TypeORM logger that records every SQL statement with its parameters. */
export class SqlRecorder implements TypeOrmLogger {
  readonly statements: { query: string; parameters: unknown[] }[] = [];
  /** While set, statements are not recorded (a test's own seeding of plaintext rows). */
  muted = false;

  logQuery(query: string, parameters?: unknown[]): void {
    if (!this.muted) this.statements.push({ query, parameters: parameters ?? [] });
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}

  /** Statements recorded from now on. */
  mark(): () => { query: string; parameters: unknown[] }[] {
    const from = this.statements.length;
    return () => this.statements.slice(from);
  }

  /** Every recorded statement and its parameters, as one text to scan. */
  text(): string {
    return this.statements
      .map((statement) => `${statement.query} ${JSON.stringify(statement.parameters)}`)
      .join('\n');
  }

  /** The connection options with this recorder attached. */
  attach(connection: KmsConnectionOptions): KmsConnectionOptions {
    return { ...connection, logging: ['query'], logger: this } as KmsConnectionOptions;
  }
}
