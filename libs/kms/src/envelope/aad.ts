import { timingSafeEqual } from 'node:crypto';
import { InvalidInputError } from '../errors/invalid-input.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import { MAX_AAD_BYTES } from './envelope.constants.js';
import type { AadInput } from './envelope.interface.js';

const STRING_AAD = 0x01;
const MAP_AAD = 0x02;

function wellFormed(field: string, value: string): void {
  // A lone surrogate would be replaced in UTF-8, so two different strings would bind alike.
  if (!value.isWellFormed()) throw new InvalidInputError(field, 'contains a lone UTF-16 surrogate');
}

/**
 * Canonical bytes of a caller's AAD. A type byte keeps the string "x" apart from any map;
 * map entries are sorted by key (UTF-16 code unit order) and length-prefixed, so the same
 * map always encodes alike whatever its key order.
 *
 * A decrypt that names its AAD runs this every time, and callers name the same few AADs again
 * and again: recent encodings are kept by content (never by object, which the caller may change
 * between calls), so the bytes returned may be returned again and must not be modified.
 */
export function encodeAad(aad: AadInput): Buffer {
  if (typeof aad === 'string') {
    let bytes = recentStrings.get(aad);
    if (bytes === undefined) {
      bytes = encodeStringAad(aad);
      if (bytes.length <= RECENT_BYTES_MAX) {
        if (recentStrings.size >= RECENT_MAX) recentStrings.clear();
        recentStrings.set(aad, bytes);
      }
    }
    return bytes;
  }
  const entries = plainEntries(aad);
  // Walked key, value, key, value... in the caller's order: the strings are compared whole, so
  // no two different maps meet at the same node (as concatenating them could make them).
  let node: RecentMap | undefined = recentMaps;
  for (const [key, value] of entries) node = node?.next.get(key)?.get(value);
  if (node?.bytes !== undefined) return node.bytes;
  const bytes = encodeMapAad(entries);
  if (bytes.length <= RECENT_BYTES_MAX) rememberMap(entries, bytes);
  return bytes;
}

/** Recent encodings: a string AAD by itself, a map by its entries (see RecentMap). */
const recentStrings = new Map<string, Buffer>();
interface RecentMap {
  readonly next: Map<string, Map<string, RecentMap>>;
  bytes?: Buffer;
}
let recentMaps: RecentMap = { next: new Map() };
let recentMapCount = 0;
/** An application names few AADs often; past this many, each cache starts again. */
const RECENT_MAX = 256;
/** Larger AADs are encoded every time, so the caches stay small. */
const RECENT_BYTES_MAX = 512;

function rememberMap(entries: [string, string][], bytes: Buffer): void {
  if (recentMapCount >= RECENT_MAX) {
    recentMaps = { next: new Map() };
    recentMapCount = 0;
  }
  let node = recentMaps;
  for (const [key, value] of entries) {
    let byValue = node.next.get(key);
    if (byValue === undefined) {
      byValue = new Map();
      node.next.set(key, byValue);
    }
    let next = byValue.get(value);
    if (next === undefined) {
      next = { next: new Map() };
      byValue.set(value, next);
    }
    node = next;
  }
  node.bytes = bytes;
  recentMapCount++;
}

function encodeStringAad(aad: string): Buffer {
  wellFormed('aad', aad);
  const length = 1 + Buffer.byteLength(aad, 'utf8');
  checkSize(length);
  const bytes = Buffer.allocUnsafe(length);
  bytes[0] = STRING_AAD;
  bytes.write(aad, 1, 'utf8');
  return bytes;
}

function encodeMapAad(given: [string, string][]): Buffer {
  // A sorted copy: the caller's order is the cache's path to these bytes.
  const entries = given.length > 1 ? given.toSorted((a, b) => (a[0] < b[0] ? -1 : 1)) : given;
  let length = 1;
  for (const [key, value] of entries) {
    wellFormed('aad', key);
    wellFormed('aad', value);
    length += 8 + Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  checkSize(length);
  // One buffer, sized first.
  const bytes = Buffer.allocUnsafe(length);
  bytes[0] = MAP_AAD;
  let at = 1;
  for (const [key, value] of entries) {
    at = writeLengthPrefixed(bytes, at, key);
    at = writeLengthPrefixed(bytes, at, value);
  }
  return bytes;
}

/**
 * encodeAad for maps whose entries are fixed but one value (e.g. a row id): the fixed parts are
 * encoded once, and each call writes only the variable value between them. Returns exactly
 * what encodeAad({ ...fixed, [variableKey]: value }) returns.
 */
export function aadTemplate(
  fixed: Readonly<Record<string, string>>,
  variableKey: string,
): (value: string) => Buffer {
  if (variableKey in fixed) throw new InvalidInputError('aad', `"${variableKey}" is given twice`);
  const keys = [...Object.keys(fixed), variableKey].sort();
  const at = keys.indexOf(variableKey);
  const entries = (from: number, to: number) =>
    keys.slice(from, to).flatMap((key) => [lengthPrefixed(key), lengthPrefixed(fixed[key])]);
  keys.forEach((key) => wellFormed('aad', key));
  Object.values(fixed).forEach((value) => wellFormed('aad', value));
  const before = Buffer.concat([
    Buffer.of(MAP_AAD),
    ...entries(0, at),
    lengthPrefixed(variableKey),
  ]);
  const after = Buffer.concat(entries(at + 1, keys.length));
  return (value) => {
    wellFormed('aad', value);
    const length = Buffer.byteLength(value, 'utf8');
    const bytes = Buffer.allocUnsafe(before.length + 4 + length + after.length);
    before.copy(bytes, 0);
    bytes.writeUInt32BE(length, before.length);
    bytes.write(value, before.length + 4, 'utf8');
    after.copy(bytes, before.length + 4 + length);
    checkSize(bytes.length);
    return bytes;
  };
}

/**
 * The entries of a map AAD, refusing what would bind differently from what the caller sees: a
 * Date, a class instance or an object inheriting fields (Object.keys of a Date is empty, so it
 * would bind as `{}`), symbol keys, getters and hidden (non-enumerable) fields.
 */
function plainEntries(aad: unknown): [string, string][] {
  const prototype =
    aad !== null && typeof aad === 'object' ? (Object.getPrototypeOf(aad) as unknown) : undefined;
  if (prototype !== Object.prototype && prototype !== null) {
    throw new InvalidInputError('aad', 'must be a string or a plain object of strings');
  }
  const entries: [string, string][] = [];
  // Reflect.ownKeys' order (string keys, then symbols) in two calls that cost half as much.
  for (const key of Object.getOwnPropertyNames(aad)) {
    const property = Object.getOwnPropertyDescriptor(aad, key)!;
    if (!property.enumerable || !('value' in property)) {
      throw new InvalidInputError('aad', `${quotedInput(key)} must be an ordinary field`);
    }
    if (typeof property.value !== 'string') {
      throw new InvalidInputError('aad', `value of ${quotedInput(key)} must be a string`);
    }
    entries.push([key, property.value]);
  }
  if (Object.getOwnPropertySymbols(aad).length > 0) {
    throw new InvalidInputError('aad', 'has a symbol-keyed property');
  }
  return entries;
}

/** Writes `text` as u32 byte length + UTF-8 at `at` (room already counted); returns the end. */
function writeLengthPrefixed(out: Buffer, at: number, text: string): number {
  const written = out.write(text, at + 4, 'utf8');
  out.writeUInt32BE(written, at);
  return at + 4 + written;
}

function lengthPrefixed(text: string): Buffer {
  const out = Buffer.allocUnsafe(4 + Buffer.byteLength(text, 'utf8'));
  writeLengthPrefixed(out, 0, text);
  return out;
}

function checkSize(length: number): void {
  if (length > MAX_AAD_BYTES) {
    throw new InvalidInputError('aad', `encodes to more than ${MAX_AAD_BYTES} bytes`);
  }
}

/** Constant-time equality of an envelope's AAD and the caller's expected AAD. */
export function aadEquals(stored: Buffer | undefined, expected: Buffer): boolean {
  if (stored === undefined || stored.length !== expected.length) return false;
  return timingSafeEqual(stored, expected);
}
