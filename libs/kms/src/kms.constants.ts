/** Injection token of the resolved (defaults merged) module options. */
export const KMS_RESOLVED_OPTIONS = Symbol('nest-kms:resolved-options');
/**
 * Injection token of the SchedulerRegistry nest-kms registers its lifecycle jobs in: the app's
 * (ScheduleModule.forRoot()) when it has one, else a private one.
 */
export const KMS_SCHEDULER_REGISTRY = Symbol('nest-kms:scheduler-registry');
/** Injection token of the keyring's storage port (a KeyringStore; TypeORM's by default). */
export const KMS_KEYRING_STORE = Symbol('nest-kms:keyring-store');
/** One day of the options' clock, in milliseconds: what `rotationDays` counts. */
export const DAY_MS = 86_400_000;
