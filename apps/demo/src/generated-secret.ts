import { randomBytes } from 'node:crypto';
import { SecretNotFoundError, type SecretRef, type SecretsService } from '@nest-kms/secrets';

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
 * either works, and every reader follows the current one.
 */
export async function ensureGeneratedSecret(
  secrets: SecretsService,
  { ref, name, description, actor }: GeneratedSecret,
): Promise<void> {
  try {
    await ref.value({ actor });
  } catch (error) {
    if (!(error instanceof SecretNotFoundError && error.code === 'SECRET_NOT_FOUND')) throw error;
    await secrets.setSecret(name, randomBytes(32).toString('base64'), { actor, description });
  }
}
