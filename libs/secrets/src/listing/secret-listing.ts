import type { SecretsAudit } from '../audit/secrets-audit.js';
import { SecretNotFoundError } from '../errors/secret-not-found.error.js';
import type {
  CountSecretsOptions,
  ListSecretsOptions,
  ListSecretsPageOptions,
  SecretMetadata,
  SecretsPage,
  SecretVersionMetadata,
} from '../interfaces/secret-operations.interface.js';
import { toVersionMetadata } from '../secret.mapping.js';
import { UNTENANTED } from '../secret-scope.js';
import type { SecretsStore } from '../secrets.store.js';
import { checkName } from '../secrets.validation.js';
import { checkFilter, checkListOptions } from './listing.validation.js';

/**
 * Metadata of many secrets, never a value and never an envelope: pages in name order, filters on
 * a name prefix and a tag in SQL, counts. Each listing or count leaves a `list` audit record.
 */
export class SecretListing {
  constructor(
    private readonly store: SecretsStore,
    private readonly audit: SecretsAudit,
  ) {}

  /** Every live secret that matches (listSecrets without `limit`). */
  async list(options: ListSecretsOptions, scope = UNTENANTED): Promise<SecretMetadata[]> {
    checkListOptions(options);
    const { tag, prefix, after } = options;
    const secrets = await this.store.listMetadata({ tag, prefix, after, scope });
    await this.audit.record({ action: 'list', actor: options.actor, outcome: 'success' });
    return secrets;
  }

  /** One page: `limit` secrets after `after`, and the cursor to the next page if any remain. */
  async page(options: ListSecretsPageOptions, scope = UNTENANTED): Promise<SecretsPage> {
    checkListOptions(options);
    const { tag, prefix, after, limit } = options;
    // One row more than asked says whether another page exists, without a count.
    const secrets = await this.store.listMetadata({ tag, prefix, after, scope }, limit + 1);
    const more = secrets.length > limit;
    if (more) secrets.pop();
    await this.audit.record({ action: 'list', actor: options.actor, outcome: 'success' });
    return { secrets, nextCursor: more ? secrets[secrets.length - 1].name : null };
  }

  async count(options: CountSecretsOptions, scope = UNTENANTED): Promise<number> {
    checkFilter(options);
    const { tag, prefix } = options;
    const count = await this.store.countLive({ tag, prefix, scope });
    await this.audit.record({ action: 'list', actor: options.actor, outcome: 'success' });
    return count;
  }

  /** A secret's versions, newest first, metadata only. */
  async listVersions(given: string, scope = UNTENANTED): Promise<SecretVersionMetadata[]> {
    checkName(given);
    const name = scope.prefix + given;
    const secret = await this.store.find(name);
    if (!secret) throw new SecretNotFoundError(name);
    const versions = await this.store.listVersions(name);
    return versions.map((version) => toVersionMetadata(version, secret.currentVersion));
  }
}
