import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KmsService, LocalMasterKeyProvider } from '@nest-kms/kms';
import { SecretsAuditTrail, SecretsService } from '@nest-kms/secrets';
import { ThreatsService } from '@nest-kms/threat-detection';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { CliError, EXIT } from '../cli-errors.js';
import { CliModule } from './cli.module.js';
import type { DatabaseTarget } from './database-target.js';
import { requireExistingKeyring } from './existing-keyring.js';
import { StderrLogger } from './stderr.logger.js';

/** The opened libraries a command works with. */
export interface CliStore {
  readonly kms: KmsService;
  readonly secrets: SecretsService;
  /** The secrets audit trail's hash chain: reading and verifying it. */
  readonly auditTrail: SecretsAuditTrail;
  /** Detections and blocked actors; only for a command with `threatDetection` (null otherwise). */
  readonly threats: ThreatsService | null;
  readonly database: DatabaseTarget;
  /** Recorded in the secrets audit trail for everything this process does. */
  readonly actor: string;
  /** True when this run created the SQLite file (a mistyped path shows up at once). */
  readonly created: boolean;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  database: DatabaseTarget;
  env: NodeJS.ProcessEnv;
  verbose: boolean;
  /** Refuse a database without a keyring instead of starting one (every command but those storing secrets). */
  existingKeyringOnly: boolean;
  /** Open threat detection's tables too (the `threats` commands). */
  threatDetection: boolean;
}

/** Starts a Nest application context with KmsModule and SecretsModule on `database`. */
export async function openStore(options: OpenStoreOptions): Promise<CliStore> {
  const { database, env } = options;
  const external = env.KMS_MASTER_KEY_PROVIDER && env.KMS_MASTER_KEY_PROVIDER !== 'local';
  if (!env.KMS_MASTER_KEY && !external) {
    // Before anything is opened: a keyring must never be created under a key nobody kept.
    throw new CliError(
      'KMS_MASTER_KEY_MISSING',
      'KMS_MASTER_KEY is not set. Export the master key that wrapped this keyring (or name its ' +
        "provider in KMS_MASTER_KEY_PROVIDER with that provider's settings); for a new " +
        'installation generate one with "nest-kms keygen" and keep it in your secret store first',
      EXIT.masterKey,
    );
  }
  // A malformed key is refused before a database file is created for it.
  for (const name of ['KMS_MASTER_KEY', 'KMS_MASTER_KEY_PREVIOUS'] as const) {
    const key = env[name];
    if (key) LocalMasterKeyProvider.fromBase64(key, name).destroy();
  }
  if (options.existingKeyringOnly) await requireExistingKeyring(database);
  // KmsModule creates a missing SQLite file (0600, in a 0700 directory) as it opens it.
  const created = database.sqliteFile !== undefined && !existsSync(database.sqliteFile);
  const app: INestApplicationContext = await NestFactory.createApplicationContext(
    CliModule.forConnection(database.connection, { threatDetection: options.threatDetection }),
    { logger: options.verbose ? new StderrLogger() : false, abortOnError: false },
  );
  return {
    kms: app.get(KmsService),
    secrets: app.get(SecretsService),
    auditTrail: app.get(SecretsAuditTrail),
    threats: options.threatDetection ? app.get(ThreatsService) : null,
    database,
    actor: cliActor(env),
    created,
    close: () => app.close(),
  };
}

/** `nest-kms-cli:<login>`, so the audit trail tells operators' commands from applications'. */
function cliActor(env: NodeJS.ProcessEnv): string {
  let login: string | undefined;
  try {
    login = userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
    login = env.USER ?? env.LOGNAME;
  }
  return `nest-kms-cli:${login ?? 'unknown'}`.slice(0, 128);
}
