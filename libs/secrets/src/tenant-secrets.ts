import { KmsRegion } from '@nest-kms/kms/extension';
import { filter, map, type Observable } from 'rxjs';
import type {
  ActorOptions,
  CountSecretsOptions,
  GetSecretOptions,
  ListSecretsOptions,
  ListSecretsPageOptions,
  RotateSecretOptions,
  SecretChange,
  SecretMetadata,
  SecretReadResult,
  SecretsPage,
  SecretVersionMetadata,
  SetSecretOptions,
} from './interfaces/secret-operations.interface.js';
import type { SecretRotator, SecretRotatorOptions } from './lifecycle/secret-rotator.interface.js';
import type { SecretRotators } from './lifecycle/secret-rotators.js';
import type { SecretListing } from './listing/secret-listing.js';
import type { SecretChangeFeed } from './secret-change-feed.js';
import type { SecretReader } from './secret-reader.js';
import { nameInScope, type SecretScope } from './secret-scope.js';
import type { SecretWriter } from './secret-writer.js';

/** What a tenant's view shares with SecretsService. */
export interface TenantSecretsContext {
  readonly writer: SecretWriter;
  readonly reader: SecretReader;
  readonly listing: SecretListing;
  readonly changes: SecretChangeFeed;
  readonly rotators: SecretRotators;
  readonly region: KmsRegion;
  /** SecretsNotInitializedError until the service has started. */
  readonly ready: () => void;
}

/**
 * One tenant's secrets (SecretsService.forTenant): the service's methods, with names of the
 * tenant's own, values sealed under the tenant's data keys and bound to the tenant. Two tenants
 * may use the same name; neither sees the other's secrets nor the untenanted ones. Once the
 * tenant is destroyed (KmsService.destroyTenant), its values no longer open: DataKeyNotFoundError.
 */
export class TenantSecrets {
  constructor(
    private readonly scope: SecretScope,
    private readonly context: TenantSecretsContext,
  ) {}

  /** The tenant's id. */
  get tenant(): string {
    return this.scope.tenant as string;
  }

  /** As SecretsService.setSecret, for this tenant. */
  async setSecret(
    name: string,
    value: string,
    options?: SetSecretOptions,
  ): Promise<SecretMetadata> {
    this.writable('setSecret');
    return this.context.writer.setSecret(name, value, options, this.scope);
  }

  /** As SecretsService.rotateSecret, for this tenant. */
  async rotateSecret(
    name: string,
    newValue: string,
    options: RotateSecretOptions = {},
  ): Promise<SecretMetadata> {
    this.writable('rotateSecret');
    const { actor, expectedVersion } = options;
    return this.context.writer.rotateSecret(name, newValue, { actor, expectedVersion }, this.scope);
  }

  /** As SecretsService.deleteSecret, for this tenant. */
  async deleteSecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    this.writable('deleteSecret');
    return this.context.writer.deleteSecret(name, options, this.scope);
  }

  /** As SecretsService.recoverSecret, for this tenant. */
  async recoverSecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    this.writable('recoverSecret');
    return this.context.writer.recoverSecret(name, options, this.scope);
  }

  /** As SecretsService.destroySecret, for this tenant. */
  async destroySecret(name: string, options?: ActorOptions): Promise<SecretMetadata> {
    this.writable('destroySecret');
    return this.context.writer.destroySecret(name, options, this.scope);
  }

  /** As SecretsService.getSecret, for this tenant. */
  getSecret(name: string, options?: GetSecretOptions): Promise<string> {
    try {
      this.context.ready();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.context.reader.getSecret(name, options, this.scope);
  }

  /** As SecretsService.getSecrets, for this tenant. */
  async getSecrets(names: readonly string[], options?: ActorOptions): Promise<SecretReadResult[]> {
    this.context.ready();
    return this.context.reader.getSecrets(names, options, this.scope);
  }

  /** As SecretsService.listSecrets, for this tenant: its names only. */
  listSecrets(options: ListSecretsPageOptions): Promise<SecretsPage>;
  /** Without `limit`: every live secret of this tenant that matches, in name order. */
  listSecrets(options?: ListSecretsOptions): Promise<SecretMetadata[]>;
  async listSecrets(
    options: ListSecretsOptions | ListSecretsPageOptions = {},
  ): Promise<SecretMetadata[] | SecretsPage> {
    this.context.ready();
    const { listing } = this.context;
    return options.limit === undefined
      ? listing.list(options, this.scope)
      : listing.page(options, this.scope);
  }

  /** As SecretsService.countSecrets, for this tenant. */
  async countSecrets(options: CountSecretsOptions = {}): Promise<number> {
    this.context.ready();
    return this.context.listing.count(options, this.scope);
  }

  /** As SecretsService.listSecretVersions, for this tenant. */
  async listSecretVersions(name: string): Promise<SecretVersionMetadata[]> {
    this.context.ready();
    return this.context.listing.listVersions(name, this.scope);
  }

  /**
   * As SecretsService.registerRotator, for this tenant's secret `name`: the lifecycle job rotates
   * it when due, the rotator told the name as the tenant names it and `tenant`, the new value
   * sealed under the tenant's keys. Once the tenant is destroyed its rotation fails (its value
   * no longer opens: DataKeyNotFoundError) without running the rotator, and other rotations go on.
   */
  registerRotator(
    name: string,
    rotator: SecretRotator,
    options?: SecretRotatorOptions,
  ): () => void {
    return this.context.rotators.register(name, rotator, options, this.scope);
  }

  /** Changes of this tenant's secrets (or one of them), named as the tenant names them. */
  watch(name?: string): Observable<SecretChange> {
    const { prefix } = this.scope;
    return this.context.changes.changes.pipe(
      filter((change) => change.name.startsWith(prefix)),
      map((change) => ({ ...change, name: nameInScope(this.scope, change.name) })),
      filter((change) => name === undefined || change.name === name),
    );
  }

  private writable(operation: string): void {
    this.context.ready();
    this.context.region.assertWritable(operation);
  }
}
