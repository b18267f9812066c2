import { InvalidInputError } from '../errors/invalid-input.error.js';
import { plaintextBytes } from '../envelope/plaintext-bytes.js';

/** What an encrypted column holds in the entity; each round-trips exactly. */
export type EncryptedValueType = 'string' | 'buffer' | 'number' | 'boolean' | 'date' | 'json';

/**
 * The type a property's TypeScript type (emitted as `design:type`) stands for. `Object` says
 * nothing (it is what `string | null` emits too), so objects need `type: 'json'` given.
 */
export function inferValueType(designType: unknown): EncryptedValueType | undefined {
  switch (designType) {
    case String:
      return 'string';
    case Buffer:
    case Uint8Array:
      return 'buffer';
    case Number:
      return 'number';
    case Boolean:
      return 'boolean';
    case Date:
      return 'date';
    case Array:
      return 'json';
    default:
      return undefined;
  }
}

/**
 * The bytes a value encrypts as, checked against the column's type. `field` (Entity.property)
 * names the column in the error; the value itself is never part of it.
 */
export function valueToBytes(type: EncryptedValueType, value: unknown, field: string): Buffer {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw wrongType(field, 'a string');
      return plaintextBytesOf(value, field);
    case 'buffer':
      if (!Buffer.isBuffer(value)) throw wrongType(field, 'a Buffer');
      return plaintextBytesOf(value, field);
    case 'number':
      if (typeof value !== 'number') throw wrongType(field, 'a number');
      // String() is the shortest text that reads back as the same double; it drops only -0's sign.
      return Buffer.from(Object.is(value, -0) ? '-0' : String(value), 'utf8');
    case 'boolean':
      if (typeof value !== 'boolean') throw wrongType(field, 'a boolean');
      return Buffer.from(value ? 'true' : 'false', 'utf8');
    case 'date':
      if (!(value instanceof Date)) throw wrongType(field, 'a Date');
      if (Number.isNaN(value.getTime())) throw new InvalidInputError(field, 'is an invalid Date');
      return Buffer.from(value.toISOString(), 'utf8');
    case 'json': {
      const text = value === undefined ? undefined : JSON.stringify(value);
      if (text === undefined) throw wrongType(field, 'a JSON value');
      return plaintextBytesOf(text, field);
    }
  }
}

/** Reverses valueToBytes. Zeroes `bytes` unless they become the value (a Buffer column). */
export function valueFromBytes(type: EncryptedValueType, bytes: Buffer): unknown {
  if (type === 'buffer') return bytes;
  const text = bytes.toString('utf8');
  bytes.fill(0);
  return valueFromText(type, text);
}

/**
 * A value stored before the column was encrypted (read while `allowPlaintext` is on): the text
 * form valueToBytes would have produced, a Buffer as base64. Undefined when it does not parse.
 */
export function legacyValue(type: EncryptedValueType, stored: unknown): unknown {
  if (type === 'string') return typeof stored === 'string' ? stored : undefined;
  if (type === 'number' && typeof stored === 'number') return stored;
  if (type === 'boolean' && (stored === 0 || stored === 1)) return stored === 1;
  if (type === 'buffer' && Buffer.isBuffer(stored)) return stored;
  if (typeof stored !== 'string') return undefined;
  if (type === 'buffer') return Buffer.from(stored, 'base64');
  if (type === 'boolean' && (stored === '1' || stored === '0')) return stored === '1';
  try {
    return valueFromText(type, stored);
  } catch {
    return undefined;
  }
}

function valueFromText(type: Exclude<EncryptedValueType, 'buffer'>, text: string): unknown {
  switch (type) {
    case 'string':
      return text;
    case 'number': {
      const number = Number(text);
      if (Number.isNaN(number) && text !== 'NaN') throw new SyntaxError('not a number');
      return number;
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new SyntaxError('not a boolean');
      return text === 'true';
    case 'date': {
      const date = new Date(text);
      if (Number.isNaN(date.getTime())) throw new SyntaxError('not a date');
      return date;
    }
    case 'json':
      return JSON.parse(text);
  }
}

function plaintextBytesOf(value: string | Buffer, field: string): Buffer {
  try {
    return plaintextBytes(value);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new InvalidInputError(field, error.problem);
    throw error;
  }
}

function wrongType(field: string, expected: string): InvalidInputError {
  return new InvalidInputError(field, `must be ${expected}`);
}
