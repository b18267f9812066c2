import { randomBytes } from 'node:crypto';
import type { KmsModuleOptions } from '../interfaces/kms-module-options.interface.js';

/**
 * KmsModule options for a test: an in-memory SQLite database (migrated at start, gone when the
 * app closes) and a random master key made for this call, so nothing is read from the
 * environment or left on disk. `overrides` win (e.g. `{ clock }` or `{ rotation }`).
 * Never use it outside tests: the key dies with the process, and with it every envelope.
 */
export function kmsTestingOptions(overrides: KmsModuleOptions = {}): KmsModuleOptions {
  return {
    masterKey: randomBytes(32),
    connection: { type: 'better-sqlite3', database: ':memory:' },
    ...overrides,
  };
}
