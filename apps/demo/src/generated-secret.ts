import { randomBytes } from 'node:crypto';
import { RegionReadOnlyError } from '@nest-kms/kms';
import { SecretNotFoundError, type SecretRef, type SecretsService } from '@nest-kms/secrets';
import { ReplicaNotSeededError } from './replica-not-seeded.error.js';

export interface GeneratedSecret {
  /** The secret, as injected with @InjectSecret. */
  ref: SecretRef;
  name: string;
  description: string;
  /** Recorded in the audit trail. */
  actor: string;
}

/**
 * A key nobody needs to know (an HMAC key): read it, or on the first start store 32 random
 * bytes (base64). Two replicas starting together on an empty database each store a version;
 * either works, and every reader follows the current one. In a replica region the primary's
 * demo stores it and replication brings it: until then this start is refused.
 */
export async function ensureGeneratedSecret(
  secrets: SecretsService,
  { ref, name, description, actor }: GeneratedSecret,
): Promise<void> {
  try {
    await ref.value({ actor });
  } catch (error) {
    if (!(error instanceof SecretNotFoundError && error.code === 'SECRET_NOT_FOUND')) throw error;
    try {
      await secrets.setSecret(name, randomBytes(32).toString('base64'), { actor, description });
    } catch (refused) {
      if (refused instanceof RegionReadOnlyError) {
        throw new ReplicaNotSeededError(name, refused.primary ?? undefined);
      }
      throw refused;
    }
  }
}
