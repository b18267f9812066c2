import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { filter, type Subscription } from 'rxjs';
import { InjectConfigService, KmsConfigService } from '@nest-kms/config';
import { ReportingConfig } from './reporting.config.js';
import { ReportingNotConfiguredError } from './reporting-not-configured.error.js';

/** Postgres refused the credentials: invalid_password (28P01), invalid_authorization_specification (28000). */
const AUTH_FAILURES = new Set(['28P01', '28000']);

export function isPostgresAuthFailure(error: unknown): boolean {
  const code = (error as { code?: unknown; driverError?: { code?: unknown } } | null) ?? {};
  return AUTH_FAILURES.has(String(code.code ?? code.driverError?.code));
}

/**
 * A connection pool whose password is a secret, and the pattern for any client that must
 * reconnect when its secret rotates:
 * - it follows the configuration's changes and, when the password changes, opens a pool with
 *   the new one, swaps it in and closes the old one (queries under way finish on the old);
 * - every query runs through withFreshValueOnAuthFailure: a pool refused by Postgres (its
 *   password rotated by someone the app did not hear from) reads the secret afresh once,
 *   reconnects with the newer password and runs the query again, instead of failing until a
 *   redeploy.
 */
@Injectable()
export class ReportingDatabase implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ReportingDatabase.name);
  private current: { password: string; pool: Promise<DataSource> } | undefined;
  private subscription: Subscription | undefined;

  constructor(
    @InjectConfigService(ReportingConfig)
    private readonly config: KmsConfigService<ReportingConfig>,
  ) {}

  onModuleInit(): void {
    this.subscription = this.config.changes
      .pipe(filter((change) => change.field === 'password' || change.field === 'url'))
      .subscribe(() => {
        const { password } = this.config.config;
        // Reconnect now rather than on the next query; a failure shows on that query.
        if (password !== undefined && this.current !== undefined)
          this.pool(password).catch(() => undefined);
      });
  }

  /** Runs `sql` on the reporting database, reconnecting once with a fresh password if refused. */
  query<R = Record<string, unknown>>(sql: string, parameters: unknown[] = []): Promise<R[]> {
    if (this.config.config.url === undefined) throw new ReportingNotConfiguredError();
    return this.config.withFreshValueOnAuthFailure(
      'password',
      async (password) => {
        if (password === undefined) throw new ReportingNotConfiguredError();
        const pool = await this.pool(password);
        return pool.query<R[]>(sql, parameters);
      },
      isPostgresAuthFailure,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    const closing = this.current?.pool;
    this.current = undefined;
    await closing?.then((pool) => pool.destroy()).catch(() => undefined);
  }

  /** The pool opened with `password`: the current one, or a new one replacing it. */
  private pool(password: string): Promise<DataSource> {
    if (this.current?.password === password) return this.current.pool;
    const previous = this.current?.pool;
    const pool = this.open(password);
    this.current = { password, pool };
    // A pool that could not open is forgotten, so the next query tries again.
    pool.catch(() => {
      if (this.current?.pool === pool) this.current = undefined;
    });
    void previous?.then((old) => old.destroy()).catch(() => undefined);
    return pool;
  }

  private async open(password: string): Promise<DataSource> {
    // The URL names server, role and database; the password comes only from the secret.
    const url = new URL(String(this.config.config.url));
    const pool = new DataSource({
      type: 'postgres',
      host: url.hostname,
      port: url.port === '' ? 5432 : Number(url.port),
      username: decodeURIComponent(url.username),
      database: decodeURIComponent(url.pathname.slice(1)) || undefined,
      password,
      extra: { max: 4, connectionTimeoutMillis: 5_000 },
    });
    try {
      await pool.initialize();
    } catch (error) {
      // The driver's pool exists even when the first login failed: close it.
      await pool.driver.disconnect().catch(() => undefined);
      throw error;
    }
    this.logger.log({ event: 'reporting_database_connected' });
    return pool;
  }
}
