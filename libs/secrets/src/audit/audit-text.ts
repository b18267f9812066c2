/** The audit table's text columns (secret_name, actor) hold at most this many characters. */
export const AUDIT_TEXT_MAX_CHARS = 128;

/** Text stored as it is: printable ASCII without the two characters JSON escapes (`"` and `\`). */
const STORED_AS_IS = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** One character, or one escape, of the stored form: cutting never splits an escape. */
const STORED_UNITS = /\\u[0-9a-f]{4}|\\.|[\x20-\x7e]/g;

/**
 * Caller input (a secret name, an actor) as the audit trail stores it: printable ASCII only,
 * identical on every engine. Backslash, quote and control characters are escaped as in JSON
 * (`\\`, `\"`, `\n`, `\u0000`), other non-ASCII as `\u00e9` (lone surrogates too), so NUL, which
 * Postgres text refuses, and terminal escapes never reach the table or a report read from it.
 * Text longer than the column is cut at a whole escape and ends with `… (N chars)`, N the
 * input's length; valid secret names and actors of plain ASCII are stored unchanged.
 */
export function auditText(input: string): string {
  // Every valid secret name and most actors: no escaping to do, on every cached read.
  if (input.length <= AUDIT_TEXT_MAX_CHARS && STORED_AS_IS.test(input)) return input;
  const escaped = JSON.stringify(input)
    .slice(1, -1)
    .replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped.length <= AUDIT_TEXT_MAX_CHARS) return escaped;
  const marker = `… (${input.length} chars)`;
  let kept = '';
  for (const [unit] of escaped.matchAll(STORED_UNITS)) {
    if (kept.length + unit.length + marker.length > AUDIT_TEXT_MAX_CHARS) break;
    kept += unit;
  }
  return kept + marker;
}
