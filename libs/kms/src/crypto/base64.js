export function decodeCanonical(text, encoding) {
  const bytes = Buffer.from(text, encoding);
  return bytes.toString(encoding) === text ? bytes : undefined;
}
//# sourceMappingURL=base64.js.map
