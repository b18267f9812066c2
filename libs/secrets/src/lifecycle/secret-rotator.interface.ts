/** What a rotator is told about the secret it rotates. Its value is the only one it sees. */
export interface SecretRotationContext {
  /** The secret's name as it was registered: a tenant's as the tenant names it. */
  readonly name: string;
  /**
   * The tenant whose secret it is (a rotator registered through `forTenant(tenant)`); absent for
   * an untenanted secret. One rotator registered for many tenants tells them apart by it.
   */
  readonly tenant?: string;
  /** The current version: the new value becomes version + 1. */
  readonly version: number;
  /** The current value, e.g. to log in with and change the credential it names. */
  readonly currentValue: string;
}

/** What `finish()` is told: the new value is current now. */
export interface SecretRotationFinishContext extends SecretRotationContext {
  readonly newVersion: number;
}

/**
 * Makes and applies new values of one secret, in the steps of an AWS Secrets Manager rotation
 * function. Throwing in any step leaves the current value in place (when `finish` throws, the new
 * value is already current); the failure is logged by name, step and error code, never with the
 * error's message, and the rotation is retried when its lease ends.
 */
export interface SecretRotator {
  /** Makes a new value and applies it where it is used (e.g. ALTER USER … PASSWORD), then returns it. */
  create(context: SecretRotationContext): Promise<string> | string;
  /** Throws when the new value does not work (e.g. logging in with it fails). */
  test?(newValue: string, context: SecretRotationContext): Promise<void> | void;
  /** Runs once the new value is the secret's current version (e.g. revokes the old credential). */
  finish?(context: SecretRotationFinishContext): Promise<void> | void;
}

export interface SecretRotatorOptions {
  /**
   * Days between rotations, counted from the secret's last change (`updatedAt`); fractions allowed.
   * @default 90% of the secret's ttlDays (a secret with neither is not rotated: the lifecycle job logs SecretRotationUnscheduledError)
   */
  everyDays?: number;
}

/** What one run of the lifecycle job did on this instance. */
export interface SecretsLifecycleReport {
  /** Secrets this instance reported expired (secret_expired); another replica reports the rest. */
  expired: string[];
  /** Secrets this instance rotated automatically. */
  rotated: string[];
  /** Secrets whose rotation failed or could not be scheduled (secret_rotation_failed). */
  failed: string[];
}
