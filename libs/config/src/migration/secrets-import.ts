import { Logger } from '@nestjs/common';
import { NestKmsError } from '@nest-kms/kms';
import { SecretExpiredError, SecretNotFoundError, type SecretsService } from '@nest-kms/secrets';
import { createHash, timingSafeEqual } from 'node:crypto';
import { CONFIG_EVENTS } from '../config.messages.js';
import type {
  SecretImportEntry,
  SecretsImportOptions,
  SecretsImportReport,
} from '../interfaces/secrets-import.interface.js';

export interface ImportSources {
  /** Reads an environment variable; undefined when unset. @default process.env */
  env?: (name: string) => unknown;
  /** Refuses a value before it is written (the config schema's check); returns an error code. */
  check?: (secret: string, value: string) => Promise<string | undefined>;
}

const logger = new Logger('KmsConfigService');

/**
 * Copies environment variables into the secrets store in one call (the design document's
 * migration steps 4-7), idempotently: a secret the store lacks is created; one that already
 * holds the same value is left alone (no new version); one that holds a different value is
 * reported as a conflict and not written unless `overwrite` is set. Names, never values, are
 * reported and logged. A variable that is a string `NAME` is read and stored under that name.
 */
export async function importSecretsFromEnv(
  secrets: SecretsService,
  variables: readonly (string | SecretImportEntry)[],
  options: SecretsImportOptions & ImportSources = {},
): Promise<SecretsImportReport> {
  const read = options.env ?? ((name: string) => process.env[name]);
  const actor = options.actor ?? 'nest-kms-config:import';
  const report: SecretsImportReport = {
    created: [],
    updated: [],
    unchanged: [],
    conflicts: [],
    missing: [],
    failed: [],
  };
  // One at a time: two entries for one secret must not race for its next version.
  for (const variable of variables) {
    const { secret, env } =
      typeof variable === 'string' ? { secret: variable, env: variable } : variable;
    try {
      const raw = read(env);
      if (raw === undefined || raw === null || raw === '') {
        report.missing.push(secret);
        continue;
      }
      const value = typeof raw === 'string' ? raw : String(raw);
      const refused = await options.check?.(secret, value);
      if (refused !== undefined) {
        report.failed.push({ name: secret, code: refused });
        continue;
      }
      const stored = await current(secrets, secret, actor, options.overwrite === true);
      if (stored === undefined) {
        await secrets.setSecret(secret, value, {
          actor,
          description: `Imported from the environment variable ${env} by @nest-kms/config`,
        });
        report.created.push(secret);
      } else if (stored !== null && sameValue(stored, value)) {
        report.unchanged.push(secret);
      } else if (options.overwrite === true) {
        await secrets.setSecret(secret, value, { actor });
        report.updated.push(secret);
      } else {
        report.conflicts.push(secret);
      }
    } catch (error) {
      report.failed.push({
        name: secret,
        code: error instanceof NestKmsError ? error.code : 'UNEXPECTED',
      });
    }
  }
  logger.log({ event: CONFIG_EVENTS.secretsImported, ...report });
  return report;
}

/**
 * The stored value; undefined when there is no such secret; null when there is one whose value
 * cannot be compared (expired) and `overwrite` allows replacing it. Anything else throws.
 */
async function current(
  secrets: SecretsService,
  name: string,
  actor: string,
  overwrite: boolean,
): Promise<string | null | undefined> {
  try {
    return await secrets.getSecret(name, { actor });
  } catch (error) {
    if (error instanceof SecretNotFoundError && error.code === 'SECRET_NOT_FOUND') return undefined;
    if (overwrite && error instanceof SecretExpiredError) return null;
    throw error;
  }
}

/** Constant time, whatever the lengths. */
function sameValue(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
