import { plainToInstance } from 'class-transformer';
import type { ValueType } from './value-type.js';

export type Conversion = { ok: true; value: unknown } | { ok: false; reason: string };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
const EPOCH_MILLIS = /^-?\d+$/;

/**
 * Converts a raw value (text from the environment or the store; a typed value from a
 * ConfigService `load` factory) to the field's type. Reasons never repeat the value.
 */
export function convertValue(raw: unknown, { type, target, shape }: ValueType): Conversion {
  switch (type) {
    case 'string':
      return typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean'
        ? ok(String(raw))
        : fail('is not text');
    case 'number':
      return toNumber(raw);
    case 'boolean':
      return toBoolean(raw);
    case 'date':
      return toDate(raw);
    case 'json':
      return toJson(raw, target, shape);
  }
}

function toNumber(raw: unknown): Conversion {
  if (typeof raw === 'number')
    return Number.isFinite(raw) ? ok(raw) : fail('is not a finite number');
  if (typeof raw !== 'string' || !NUMBER.test(raw.trim())) return fail('is not a number');
  const value = Number(raw.trim());
  return Number.isFinite(value) ? ok(value) : fail('is not a finite number');
}

function toBoolean(raw: unknown): Conversion {
  if (typeof raw === 'boolean') return ok(raw);
  if (typeof raw === 'string') {
    const text = raw.trim().toLowerCase();
    if (TRUE.has(text)) return ok(true);
    if (FALSE.has(text)) return ok(false);
  }
  return fail('is not a boolean (true/false, 1/0, yes/no, on/off)');
}

function toDate(raw: unknown): Conversion {
  let date: Date | undefined;
  if (raw instanceof Date) date = new Date(raw.getTime());
  else if (typeof raw === 'number') date = new Date(raw);
  else if (typeof raw === 'string') {
    const text = raw.trim();
    date = EPOCH_MILLIS.test(text) ? new Date(Number(text)) : new Date(text);
  }
  return date !== undefined && !Number.isNaN(date.getTime())
    ? ok(date)
    : fail('is not a date (ISO 8601 or epoch milliseconds)');
}

function toJson(raw: unknown, target: Function | undefined, shape: ValueType['shape']): Conversion {
  let parsed: unknown = raw;
  if (typeof raw === 'string') {
    try {
      parsed = JSON.parse(raw);
    } catch {
      return fail('is not valid JSON');
    }
  }
  if (parsed === null || typeof parsed !== 'object') return fail('is not a JSON object or array');
  if (shape === 'array' && !Array.isArray(parsed)) return fail('is not a JSON array');
  if (target === undefined) {
    return shape === 'object' && Array.isArray(parsed) ? fail('is not a JSON object') : ok(parsed);
  }
  if (Array.isArray(parsed)) return fail('is not a JSON object');
  return ok(plainToInstance(target as new () => object, parsed));
}

const ok = (value: unknown): Conversion => ({ ok: true, value });
const fail = (reason: string): Conversion => ({ ok: false, reason });
