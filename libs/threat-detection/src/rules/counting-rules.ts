import type { TrailRecord } from '../trail-record.js';
import type { CountingRuleSpec } from './counting-rule.js';

/**
 * The codes of a decryption that failed on the envelope or its key, not on availability: a key
 * a replica region has not received yet (KMS_DATA_KEY_NOT_REPLICATED) is lag, not tampering.
 */
const DECRYPTION_CODES: ReadonlySet<string> = new Set([
  'KMS_DECRYPTION_FAILED',
  'KMS_AAD_MISMATCH',
  'KMS_ENVELOPE_PURPOSE_MISMATCH',
  'KMS_DATA_KEY_NOT_FOUND',
]);

/** A read of a secret (or version) that was deleted, destroyed or has expired. */
const GONE_CODES: ReadonlySet<string> = new Set([
  'SECRET_DELETED',
  'SECRET_EXPIRED',
  'SECRET_VERSION_NOT_FOUND',
]);

const failedRead = (record: TrailRecord): boolean =>
  record.action === 'read' && record.outcome === 'failure' && record.errorCode !== null;

/** decryption-failures: tampered envelopes, a wrong key, probing; by key and by actor. */
export const DECRYPTION_FAILURES: CountingRuleSpec = {
  id: 'decryption-failures',
  counted: 'failures',
  matches: (record) =>
    record.outcome === 'failure' &&
    (record.action === 'decrypt' || record.action === 'read') &&
    record.errorCode !== null &&
    DECRYPTION_CODES.has(record.errorCode),
  byActor: true,
  subjectOf: (record) => (record.keyId === null ? null : `key:${record.keyId}`),
  subjectActor: 'none',
};

/** not-found-probing: guessing names. */
export const NOT_FOUND_PROBING: CountingRuleSpec = {
  id: 'not-found-probing',
  counted: 'notFound',
  matches: (record) => failedRead(record) && record.errorCode === 'SECRET_NOT_FOUND',
  byActor: true,
};

/** deleted-secret-read: someone still reaching for what was taken away. */
export const DELETED_SECRET_READ: CountingRuleSpec = {
  id: 'deleted-secret-read',
  counted: 'goneReads',
  matches: (record) => failedRead(record) && GONE_CODES.has(record.errorCode!),
  byActor: true,
};

/** key-destruction-refused: an attempt to destroy a data key that still opens envelopes. */
export const KEY_DESTRUCTION_REFUSED: CountingRuleSpec = {
  id: 'key-destruction-refused',
  counted: 'refusals',
  matches: (record) =>
    record.action === 'destroy-key' &&
    record.outcome === 'failure' &&
    record.errorCode === 'KMS_DATA_KEY_IN_USE',
  byActor: false,
  subjectOf: (record) => `key:${record.keyId ?? 'unknown'}`,
  subjectActor: 'record',
};

/** master-key-mismatch: a start with a master key that does not open the keyring. */
export const MASTER_KEY_MISMATCH: CountingRuleSpec = {
  id: 'master-key-mismatch',
  counted: 'mismatches',
  matches: (record) => record.action === 'open-keyring' && record.outcome === 'failure',
  byActor: false,
  subjectOf: (record) => `master-key:${record.keyId ?? 'unknown'}`,
  subjectActor: 'record',
};
