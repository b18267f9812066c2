/** How much of a client's text an error message shows. */
export const QUOTED_INPUT_MAX_CHARS = 64;

/**
 * A client's text as an error message may show it: at most QUOTED_INPUT_MAX_CHARS characters,
 * JSON-quoted, control and non-ASCII characters escaped (`\u0000`, `\u00e9`), and `…` plus the
 * full length where it was cut. Whatever the request held (NUL, a lone surrogate, megabytes),
 * the message stays one short printable line. The libraries quote their callers the same way.
 */
export function quotedInput(text: string): string {
  const shown = text.slice(0, QUOTED_INPUT_MAX_CHARS);
  const quoted = JSON.stringify(shown).replace(
    /[^\x20-\x7e]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return shown.length < text.length ? `${quoted}… (${text.length} chars)` : quoted;
}

const PLAIN_NAME = /^[A-Za-z0-9_.$-]{1,64}$/;

/** A field name from the request: as it is when plain, else quoted. */
export const fieldName = (name: string): string =>
  PLAIN_NAME.test(name) ? name : quotedInput(name);
