import { Inject, Injectable } from '@nestjs/common';
import { RegionReadOnlyError } from '../errors/region-read-only.error.js';
import { KMS_RESOLVED_OPTIONS } from '../kms.constants.js';
import type { ResolvedKmsOptions } from '../kms.options.js';

/**
 * The region this application runs in: the primary (the default) writes; a replica region
 * receives the keyring and secrets by replication and refuses every write, so the two never
 * diverge, and its scheduled jobs stand down.
 */
@Injectable()
export class KmsRegion {
  constructor(@Inject(KMS_RESOLVED_OPTIONS) private readonly options: ResolvedKmsOptions) {}

  get replica(): boolean {
    return this.options.region.role === 'replica';
  }

  /** RegionReadOnlyError in a replica region; nothing in the primary. */
  assertWritable(operation: string): void {
    if (this.replica) throw new RegionReadOnlyError(operation, this.options.region.primary);
  }
}
