import { inspect } from 'node:util';
import type { Observable } from 'rxjs';
import type { GetSecretOptions, SecretChange } from './interfaces/secret-operations.interface.js';
import type { SecretsService } from './secrets.service.js';

/**
 * A handle to one secret: its current value is one call away (a rotation is seen at once),
 * and `changes` tells a provider that built a client from it when to rebuild. The handle
 * never holds the value, so logging it is safe.
 */
export class SecretRef {
  /** Every change to this secret (version and reason, never the value). */
  readonly changes: Observable<SecretChange>;

  constructor(
    readonly name: string,
    private readonly secrets: SecretsService,
  ) {
    this.changes = secrets.watch(name);
  }

  /** The current value (cached, so usually no database call). */
  value(options?: Pick<GetSecretOptions, 'actor'>): Promise<string> {
    return this.secrets.getSecret(this.name, options);
  }

  toJSON(): { secret: string } {
    return { secret: this.name };
  }

  toString(): string {
    return `SecretRef(${this.name})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
