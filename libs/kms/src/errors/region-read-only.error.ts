import { KmsError } from './kms.error.js';

/**
 * This application runs in a replica region (KmsModule option `region.role: 'replica'`): its
 * keyring and secrets arrive by replication from the primary region, and a write here would
 * make the two diverge. Reads, encryption and decryption work; send this call to the primary.
 */
export class RegionReadOnlyError extends KmsError {
  readonly code = 'KMS_REGION_READ_ONLY';
  constructor(
    /** What was refused: `rotateDataKey`, `setSecret`, … */
    readonly operation: string,
    /** Where writes go, as configured (`region.primary`); null when not configured. */
    readonly primary: string | null,
  ) {
    super(
      `This region is a replica: ${operation} is refused here; send it to the primary region${primary ? ` (${primary})` : ''}`,
    );
  }
}
