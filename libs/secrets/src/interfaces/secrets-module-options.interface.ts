export interface SecretsAuditOptions {
  /**
   * Refuse an operation whose audit record cannot be written. Writes always record their audit
   * row in their own transaction; this makes reads, lists and backups wait for theirs too.
   * @default false (read records are buffered and written in batches, off the hot path)
   */
  failClosed?: boolean;
  /**
   * How often buffered audit records are written.
   * @default 1000
   */
  flushIntervalMs?: number;
  /**
   * After a failed write of buffered records (the database down or not answering), how long
   * until the next try. Records stay buffered until written, however long the outage lasts;
   * each failed try logs `secret_audit_flush_failed` and counts in
   * `secret_audit_flush_failures_total`, and the write that succeeds logs
   * `secret_audit_flush_recovered`.
   * @default 5000
   */
  retryIntervalMs?: number;
  /**
   * Most records held unwritten. When the buffer is full (it logs `secret_audit_buffer_full`
   * once and counts every such record in `secret_audit_buffer_full_total`), a read, list or
   * backup waits for its own record to be written, as under failClosed, and is refused with
   * AuditWriteFailedError when it cannot be: back-pressure, never a record dropped. About 200
   * bytes of memory per record.
   * @default 100000
   */
  maxBufferedRecords?: number;
  /**
   * How often new audit records are sealed into the trail's hash chain (SecretsAuditTrail):
   * until sealed, a record can be deleted without a trace, so this bounds that window. 0 leaves
   * the timer off (SecretsAuditTrail.seal() and shutdown still seal).
   * @default 5000
   */
  sealIntervalMs?: number;
}

export interface SecretsLifecycleOptions {
  /**
   * How often the lifecycle job (expiry sweep, due automatic rotations) runs, in milliseconds.
   * 0 leaves the timer off; SecretsService.runLifecycle() still runs the job on demand.
   * @default 60000
   */
  checkIntervalMs?: number;
  /**
   * How long a replica holds a secret while its rotator runs: no other replica rotates it
   * meanwhile, and a failed rotation is retried once it ends. Make it longer than a rotator takes.
   * @default 900000 (15 minutes)
   */
  rotationLeaseMs?: number;
}

export interface SecretsModuleOptions {
  /**
   * How long a decrypted value stays in memory. 0 disables the cache.
   * @default 300000 (5 minutes)
   */
  cacheTtlMs?: number;
  /**
   * Most values held at once; the least recently used go first.
   * @default 1000
   */
  cacheMaxEntries?: number;
  /**
   * Most bytes of memory the cached values take, each counted as its UTF-8 bytes plus 160 for
   * the entry around it (measured: ~150 bytes of heap beside the value's characters); the
   * least recently used go first, whichever of this and cacheMaxEntries is reached. A value
   * larger than the whole budget is not cached: every read of it goes to the database. 0
   * disables the cache.
   * @default 16777216 (16 MiB: the default 1000 entries of values up to ~16 KiB)
   */
  cacheMaxBytes?: number;
  /**
   * Days a deleted secret can be recovered with recoverSecret().
   * @default 30
   */
  recoveryWindowDays?: number;
  /** @default { failClosed: false, flushIntervalMs: 1000, retryIntervalMs: 5000, maxBufferedRecords: 100000, sealIntervalMs: 5000 } */
  audit?: SecretsAuditOptions;
  /** @default { checkIntervalMs: 60000, rotationLeaseMs: 900000 } */
  lifecycle?: SecretsLifecycleOptions;
  /**
   * The clock (epoch milliseconds). For tests of expiry and TTLs.
   * @default Date.now
   */
  clock?: () => number;
}

/** For `SecretsModule.forRootAsync({ useClass })`. */
export interface SecretsOptionsFactory {
  createSecretsOptions(): Promise<SecretsModuleOptions> | SecretsModuleOptions;
}
