/**
 * Strict base64 decoding. Node's decoder skips characters it does not know and ignores
 * padding bits, so two different strings can decode to the same bytes; an envelope field that
 * can be altered without changing its bytes would be a mutation that goes unnoticed. Only the
 * canonical encoding of the decoded bytes is accepted.
 */
export function decodeCanonical(
  text: string,
  encoding: 'base64' | 'base64url',
): Buffer | undefined {
  const bytes = Buffer.from(text, encoding);
  return bytes.toString(encoding) === text ? bytes : undefined;
}
