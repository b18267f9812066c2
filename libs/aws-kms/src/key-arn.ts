/** A KMS key as DescribeKey resolved it. */
export interface ResolvedKey {
  /** The key ARN in the client's region: what every later call names. */
  readonly arn: string;
  /** Multi-Region keys are the same key in every region they are replicated to. */
  readonly multiRegion: boolean;
  /** The key's identity across regions: its ARN, with the region as `*` for a multi-Region key. */
  readonly identity: string;
}

// arn:<partition>:kms:<region>:<account>:key/<key id>
const KEY_ARN = /^arn:([a-z0-9-]+):kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/;

/** The parts of a key ARN, or undefined when `arn` is no key ARN. */
function parseKeyArn(arn: string): { region: string; keyId: string } | undefined {
  const match = KEY_ARN.exec(arn);
  return match === null ? undefined : { region: match[2], keyId: match[4] };
}

/**
 * The ResolvedKey for a key ARN, or undefined when `arn` is no key ARN. A multi-Region key
 * (`mrk-` id) is named without its region, so its replicas share one identity.
 */
export function resolvedKeyOf(arn: string, multiRegion: boolean): ResolvedKey | undefined {
  const parts = parseKeyArn(arn);
  if (parts === undefined) return undefined;
  const isMultiRegion = multiRegion || parts.keyId.startsWith('mrk-');
  const identity = isMultiRegion ? arn.replace(`:kms:${parts.region}:`, ':kms:*:') : arn;
  return { arn, multiRegion: isMultiRegion, identity };
}

/**
 * Whether a KeyId in a KMS response names `key`: the same ARN, or for a multi-Region key the
 * same key in any region (a replica answers with its own region's ARN).
 */
export function answersFor(key: ResolvedKey, responseKeyId: string | undefined): boolean {
  if (responseKeyId === undefined) return false;
  if (responseKeyId === key.arn) return true;
  return key.multiRegion && resolvedKeyOf(responseKeyId, true)?.identity === key.identity;
}
