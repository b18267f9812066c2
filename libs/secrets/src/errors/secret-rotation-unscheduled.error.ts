import { SecretsError } from './secrets.error.js';

/**
 * A rotator is registered for an 'auto' secret that has no schedule: neither the rotator's
 * `everyDays` nor the secret's `ttlDays`. The lifecycle job logs it and does not rotate.
 */
export class SecretRotationUnscheduledError extends SecretsError {
  readonly code = 'SECRET_ROTATION_UNSCHEDULED';
  constructor(readonly secretName: string) {
    super(
      `Secret ${secretName} has a rotator but no rotation schedule: pass { everyDays } to registerRotator() or give the secret a ttlDays`,
    );
  }
}
