import { InvalidSecretInputError } from '../errors/invalid-secret-input.error.js';
import { storedName, UNTENANTED, type SecretScope } from '../secret-scope.js';
import { checkName } from '../secrets.validation.js';
import type { SecretRotator, SecretRotatorOptions } from './secret-rotator.interface.js';

export interface RegisteredRotator {
  readonly rotator: SecretRotator;
  /** Where the secret's name lives: the untenanted names, or a tenant's (forTenant). */
  readonly scope: SecretScope;
  readonly everyDays: number | undefined;
  /** The lifecycle job said this secret has no schedule; it says so again only after it had one. */
  unscheduledReported: boolean;
}

/** Longest rotation period accepted: the longest TTL a secret can have. */
const MAX_EVERY_DAYS = 36_500;

/** The rotators registered on this instance, by stored name (a tenant's `~<tenant>/<name>`). */
export class SecretRotators {
  private readonly byName = new Map<string, RegisteredRotator>();

  /**
   * Adds a rotator for the caller's `name` in `scope`; the returned function removes it. One
   * rotator per secret.
   */
  register(
    given: string,
    rotator: SecretRotator,
    options: SecretRotatorOptions = {},
    scope: SecretScope = UNTENANTED,
  ): () => void {
    checkName(given);
    const name = storedName(scope, given);
    if (typeof rotator?.create !== 'function') {
      throw new InvalidSecretInputError('rotator', 'must be an object with a create() method');
    }
    for (const step of ['test', 'finish'] as const) {
      if (rotator[step] !== undefined && typeof rotator[step] !== 'function') {
        throw new InvalidSecretInputError('rotator', `${step} must be a method when given`);
      }
    }
    const { everyDays } = options;
    if (
      everyDays !== undefined &&
      (typeof everyDays !== 'number' ||
        !Number.isFinite(everyDays) ||
        everyDays <= 0 ||
        everyDays > MAX_EVERY_DAYS)
    ) {
      throw new InvalidSecretInputError(
        'everyDays',
        `must be a number of days above 0 and at most ${MAX_EVERY_DAYS}`,
      );
    }
    if (this.byName.has(name)) {
      throw new InvalidSecretInputError(
        'rotator',
        `${name} has one already; call the function registerRotator() returned to remove it first`,
      );
    }
    const entry: RegisteredRotator = { rotator, scope, everyDays, unscheduledReported: false };
    this.byName.set(name, entry);
    return () => {
      if (this.byName.get(name) === entry) this.byName.delete(name);
    };
  }

  /** The rotator of a secret by its stored name. */
  get(name: string): RegisteredRotator | undefined {
    return this.byName.get(name);
  }

  get size(): number {
    return this.byName.size;
  }
}
