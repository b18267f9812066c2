import { MASK } from '../config.messages.js';

/**
 * Replaces every occurrence of `values` in `text` with the mask. For a sensitive value every
 * occurrence goes, even inside a word; for another value only whole tokens, so that a port of
 * `3` does not mangle "must not be less than 3000".
 */
export function redact(text: string, values: readonly string[], sensitive: boolean): string {
  let result = text;
  for (const value of [...values].sort((a, b) => b.length - a.length)) {
    if (value.length === 0) continue;
    if (sensitive) {
      result = result.split(value).join(MASK);
    } else {
      const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])${escape(value)}(?![\\p{L}\\p{N}_])`, 'gu');
      result = result.replace(pattern, MASK);
    }
  }
  return result;
}

/** The texts a value may appear as in a message: itself, and its String() and JSON forms. */
export function textForms(...values: unknown[]): string[] {
  const forms = new Set<string>();
  for (const value of values) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') forms.add(value);
    else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      forms.add(String(value));
    } else if (value instanceof Date) {
      if (!Number.isNaN(value.getTime())) forms.add(value.toISOString());
      forms.add(String(value));
    } else if (typeof value === 'object') {
      forms.add(json(value));
      forms.add(String(value));
    }
  }
  forms.delete('[object Object]');
  return [...forms];
}

function json(value: object): string {
  try {
    return JSON.stringify(value);
  } catch {
    return '';
  }
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
