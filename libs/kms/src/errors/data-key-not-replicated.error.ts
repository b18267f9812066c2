import { KMS_MESSAGES } from '../kms.messages.js';
import { KmsError } from './kms.error.js';
import { quotedInput } from './quoted-input.js';

/**
 * In a replica region (KmsModule option `region.role: 'replica'`): the envelope names a data key
 * this region's database does not hold yet. The primary region most likely made it after the
 * last row replication brought here (replication lag). Transient: the same call succeeds once
 * the key's row arrives, with no restart. A key the primary destroyed is DataKeyNotFoundError
 * once this region has heard of it; one destroyed before this process started cannot be told
 * from a key still on its way, so bound the retries.
 */
export class DataKeyNotReplicatedError extends KmsError {
  readonly code = 'KMS_DATA_KEY_NOT_REPLICATED';
  readonly retryable = true;
  constructor(readonly keyId: string) {
    super(
      `${KMS_MESSAGES.dataKeyNotFound}: ${quotedInput(keyId)} has not reached this replica region yet (the primary region made it after the rows replicated so far); retry: it opens as soon as its row arrives. If it never does, it was destroyed in the primary region or belongs to another keyring`,
    );
  }
}
