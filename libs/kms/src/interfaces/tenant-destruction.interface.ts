/** Options of destroyTenant. */
export interface DestroyTenantOptions {
  /** The tenant's id once more: anything else refuses the call (TenantDestructionNotConfirmedError). */
  confirm: string;
}

/** What destroyTenant did. */
export interface TenantDestruction {
  /** The tenant destroyed. */
  readonly tenant: string;
  /** The tenant's data keys deleted (with their wraps under every master key). */
  readonly keysDestroyed: number;
  /**
   * Envelopes in registered columns under those keys, counted just before they were deleted:
   * unreadable from now on. Envelopes the application keeps elsewhere are not counted.
   */
  readonly envelopesUnreadable: number;
}
