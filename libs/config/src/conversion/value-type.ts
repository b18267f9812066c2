import type { ConfigValueType } from '../interfaces/config-field-options.interface.js';

export interface ValueType {
  readonly type: ConfigValueType;
  /** For `json`: the class the parsed object becomes (class-transformer), else undefined. */
  readonly target?: Function;
  /** For `json`: what the parsed value must be; undefined accepts either. */
  readonly shape?: 'array' | 'object';
}

/**
 * The field's conversion: an explicit `type` wins; then the TypeScript type (design:type);
 * for `Object` (a union, `unknown`, or no annotation) the type of the class default. Undefined
 * when none of them says (the field must declare `type`).
 */
export function inferValueType(
  explicit: ConfigValueType | undefined,
  designType: unknown,
  defaultValue: unknown,
): ValueType | undefined {
  if (explicit !== undefined) {
    if (explicit !== 'json') return { type: explicit };
    if (isClass(designType)) return { type: 'json', target: designType };
    return designType === Array ? { type: 'json', shape: 'array' } : { type: 'json' };
  }
  if (designType === String) return { type: 'string' };
  if (designType === Number) return { type: 'number' };
  if (designType === Boolean) return { type: 'boolean' };
  if (designType === Date) return { type: 'date' };
  if (designType === Array) return { type: 'json', shape: 'array' };
  if (isClass(designType)) return { type: 'json', target: designType };
  return fromDefault(defaultValue);
}

function fromDefault(value: unknown): ValueType | undefined {
  switch (typeof value) {
    case 'string':
      return { type: 'string' };
    case 'number':
      return { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'object':
      if (value === null) return undefined;
      if (value instanceof Date) return { type: 'date' };
      return { type: 'json', shape: Array.isArray(value) ? 'array' : 'object' };
    default:
      return undefined;
  }
}

/** A user class (not Object, not a built-in the switch above handles). */
function isClass(type: unknown): type is Function {
  return (
    typeof type === 'function' &&
    type !== Object &&
    type !== Array &&
    type !== String &&
    type !== Number &&
    type !== Boolean &&
    type !== Date &&
    type !== Function &&
    type !== Symbol &&
    type !== BigInt &&
    type !== Promise
  );
}
