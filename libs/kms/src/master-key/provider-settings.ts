import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { MasterKeyEnvironment } from './provider-packages.js';

/**
 * What master-key provider packages share when they read their settings from the environment
 * (`masterKeyFromEnvironment`) and classify their failures.
 */

/** A variable's value, trimmed; undefined when unset or blank. */
export function environmentSetting(env: MasterKeyEnvironment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A positive whole number (decimal, or 0x-hexadecimal as PKCS#11 vendors write theirs). */
export function environmentWholeNumber(
  env: MasterKeyEnvironment,
  name: string,
): number | undefined {
  const text = environmentSetting(env, name);
  if (text === undefined) return undefined;
  const value = /^(0x[0-9a-f]+|[0-9]+)$/i.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new KmsConfigurationError(
      `${name} must be a positive whole number, got ${quotedInput(text)}`,
    );
  }
  return value;
}

/**
 * Node's error codes for a connection that failed, dropped or timed out: a later attempt can get
 * past them, so a provider reports them as MasterKeyUnavailableError.
 */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
