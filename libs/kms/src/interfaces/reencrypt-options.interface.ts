import type { ReencryptionProgress } from '../reencryption/reencryption.job.js';

/** Options of `KmsService.reencrypt()`. */
export interface ReencryptOptions {
  /**
   * Envelopes moved per batch (one transaction each).
   * @default the module's `reencryption.batchSize` (500)
   */
  batchSize?: number;
  /**
   * Called after each batch with the run's progress so far.
   * @default none
   */
  onProgress?: (progress: ReencryptionProgress) => void;
  /**
   * Only these entities' registered columns.
   * @default every registered column
   */
  entities?: readonly Function[];
}
