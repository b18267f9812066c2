import { COMPACT_PREFIX, PURPOSE_COMPACT_PREFIX } from '../envelope/envelope.constants.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { TENANT_KEY_ID_CHARS, tagOfTenantKeyId } from '../keyring/tenant-ids.js';

/**
 * The tag of the tenant whose key a compact envelope of `purpose` names (`kms2.<purpose>.tk-…`,
 * or `kms1.tk-…`), read from its prefix without parsing it; undefined for any other envelope.
 * It only chooses which keys open the envelope: opening still checks the envelope whole.
 */
export function tenantTagOfEnvelope(
  compact: string,
  purpose: EnvelopePurpose | undefined,
): string | undefined {
  const v1 = `${COMPACT_PREFIX}.`;
  const v2 = purpose === undefined ? undefined : `${PURPOSE_COMPACT_PREFIX}.${purpose}.`;
  let start = -1;
  if (v2 !== undefined && compact.startsWith(v2)) start = v2.length;
  else if (compact.startsWith(v1)) start = v1.length;
  return start < 0
    ? undefined
    : tagOfTenantKeyId(compact.slice(start, start + TENANT_KEY_ID_CHARS));
}
