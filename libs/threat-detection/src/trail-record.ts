/** One record of the shared audit trail, as the detector reads it (never a value). */
export interface TrailRecord {
  /** Position in the tamper-evident chain: strictly increasing in delivery order. */
  readonly seq: number;
  /** When the operation happened (epoch ms, the writing replica's clock). Records from several
   *  replicas are buffered and flushed separately, so `at` is only roughly increasing with seq
   *  (seconds out of order; after a database outage, minutes). */
  readonly at: number;
  readonly action: TrailAction;
  readonly secretName: string | null;
  readonly version: number | null;
  /** Who asked (a service name, a user id); null when the caller did not say. */
  readonly actor: string | null;
  readonly outcome: 'success' | 'failure';
  /** The error's stable code on a failure (SECRET_NOT_FOUND, KMS_DECRYPTION_FAILED, ...). */
  readonly errorCode: string | null;
  /** The data key (decrypt, destroy-key) or master-key fingerprint (rotate-master,
   *  remove-master, open-keyring) the record is about. */
  readonly keyId: string | null;
}
export type TrailAction =
  | 'read'
  | 'write'
  | 'rotate'
  | 'delete'
  | 'recover'
  | 'destroy'
  | 'list'
  | 'backup'
  | 'restore'
  // written by the secrets store for the KMS's security events:
  | 'decrypt' // a failed decryption (only failures are recorded): errorCode, keyId, actor
  | 'destroy-key' // destroyDataKey: success, or failure KMS_DATA_KEY_IN_USE
  | 'destroy-tenant' // destroyTenant (success): keyId is the tenant id
  | 'rotate-master' // master-key rotation (success)
  | 'remove-master' // an additional master key removed (success)
  | 'open-keyring' // failure KMS_MASTER_KEY_MISMATCH: a start with the wrong master key
  | 'block'
  | 'unblock'; // an actor blocked / unblocked (actor = the blocked actor)
