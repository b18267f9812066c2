/** How much of a caller's value an error message shows. */
export const QUOTED_INPUT_MAX_CHARS = 64;

const PRIMITIVES = new Set(['number', 'boolean', 'bigint', 'undefined']);

/**
 * A caller's value as an error message may show it: at most QUOTED_INPUT_MAX_CHARS characters,
 * JSON-quoted, with control and non-ASCII characters escaped (`\u001b`, `\u00e9`), and `…` plus
 * the full length where it was cut. Whatever the input holds (a newline, NUL, terminal escapes,
 * megabytes), the message stays one short printable line that logs and terminals show as is.
 * Values that are not strings show as their type, never their content.
 */
export function quotedInput(value: unknown): string {
  if (typeof value !== 'string') {
    if (value === null || PRIMITIVES.has(typeof value)) return String(value);
    return `(${Array.isArray(value) ? 'array' : typeof value})`;
  }
  const shown = value.slice(0, QUOTED_INPUT_MAX_CHARS);
  const quoted = JSON.stringify(shown).replace(
    /[^\x20-\x7e]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return shown.length < value.length ? `${quoted}… (${value.length} chars)` : quoted;
}
