import 'reflect-metadata';
import { Allow } from 'class-validator';

/** What a JSON-data field must be, checked on the value exactly as the client sent it. */
export interface JsonDataRule {
  /** The rule as a problem names it, after the field name: `must be …`. */
  readonly rule: string;
  accepts(value: unknown): boolean;
}

export interface JsonDataField extends JsonDataRule {
  readonly key: string;
  readonly optional: boolean;
}

const JSON_DATA_FIELDS = Symbol('nest-kms-demo:json-data-fields');

/**
 * A DTO field whose value is handed on exactly as JSON.parse made it: RequestValidationPipe
 * keeps it away from class-transformer (and from Nest's removal of `__proto__`/`constructor`
 * keys), checks `rule` on it, and puts it back untouched. For values a library validates
 * itself (an envelope, an AAD, tags), which must see what the client sent.
 */
export const JsonData =
  (rule: JsonDataRule, options: { optional?: boolean } = {}): PropertyDecorator =>
  (target, key) => {
    Allow()(target, key);
    const fields = jsonDataFields(target.constructor);
    const field = { ...rule, key: String(key), optional: options.optional === true };
    Reflect.defineMetadata(JSON_DATA_FIELDS, [...fields, field], target.constructor);
  };

export const jsonDataFields = (type: unknown): readonly JsonDataField[] =>
  typeof type === 'function'
    ? ((Reflect.getMetadata(JSON_DATA_FIELDS, type) as JsonDataField[] | undefined) ?? [])
    : [];

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isFlatStringMap = (value: unknown): boolean =>
  isPlainObject(value) && Object.values(value).every((item) => typeof item === 'string');

/** A KMS AAD: a string or a flat object of strings (the KMS checks sizes). */
export const AAD: JsonDataRule = {
  rule: 'must be a string or a flat object of strings',
  accepts: (value) => typeof value === 'string' || isFlatStringMap(value),
};

/** An envelope object or its compact string; the KMS validates it field by field. */
export const ENVELOPE: JsonDataRule = {
  rule: 'must be an envelope object or its compact string (kms1.…)',
  accepts: (value) => typeof value === 'string' || isPlainObject(value),
};

/** A flat object of strings (secret tags; the secrets library checks their rules). */
export const STRING_MAP: JsonDataRule = {
  rule: 'must be a flat object of strings',
  accepts: isFlatStringMap,
};
