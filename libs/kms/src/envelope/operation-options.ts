import { InvalidInputError } from '../errors/invalid-input.error.js';
import { quotedInput } from '../errors/quoted-input.js';
import type { EncryptManyOptions } from '../interfaces/kms-batch.interface.js';
import type {
  DecryptOptions,
  EncryptOptions,
} from '../interfaces/kms-operation-options.interface.js';
import { checkTenant } from './tenant-id.js';

const ENCRYPT_OPTIONS = new Set(['aad', 'tenant']);
const ENCRYPT_MANY_OPTIONS = new Set(['aad', 'form', 'tenant']);
const DECRYPT_OPTIONS = new Set(['aad', 'as', 'actor', 'tenant']);
/** As long as an audit record's actor column. */
const MAX_ACTOR_LENGTH = 128;

/**
 * Options of encryptData/encryptToString. An unknown name is refused rather than ignored: a
 * misspelt `aad` would otherwise seal an envelope bound to nothing.
 */
export function checkEncryptOptions(options: EncryptOptions): EncryptOptions {
  checkNames(options, ENCRYPT_OPTIONS);
  if (options.tenant !== undefined) checkTenant(options.tenant);
  return options;
}

/** Options of encryptMany: encryptData's, and `form` 'object' or 'compact'. */
export function checkEncryptManyOptions(options: EncryptManyOptions): EncryptManyOptions {
  checkNames(options, ENCRYPT_MANY_OPTIONS);
  if (options.tenant !== undefined) checkTenant(options.tenant);
  if (options.form !== undefined && options.form !== 'object' && options.form !== 'compact') {
    throw new InvalidInputError(
      'form',
      `must be 'object' or 'compact', not ${quotedInput(options.form)}`,
    );
  }
  return options;
}

/**
 * Options of decryptData: as encryptData's, `as` is 'string' or 'buffer', nothing else, and
 * `actor` a non-empty string of at most 128 characters.
 */
export function checkDecryptOptions(options: DecryptOptions): DecryptOptions {
  checkNames(options, DECRYPT_OPTIONS);
  if (options.tenant !== undefined) checkTenant(options.tenant);
  if (options.as !== undefined && options.as !== 'string' && options.as !== 'buffer') {
    throw new InvalidInputError(
      'as',
      `must be 'string' or 'buffer', not ${quotedInput(options.as)}`,
    );
  }
  const actor = options.actor;
  if (
    actor !== undefined &&
    (typeof actor !== 'string' || actor.length === 0 || actor.length > MAX_ACTOR_LENGTH)
  ) {
    throw new InvalidInputError(
      'actor',
      `must be a non-empty string of at most ${MAX_ACTOR_LENGTH} characters`,
    );
  }
  return options;
}

/**
 * An object's own names, each one of `known` (the options of a call, the fields of a batch item
 * named `field`): a misspelt name is refused rather than ignored.
 */
export function checkNames<T extends object>(
  options: T,
  known: ReadonlySet<string>,
  field = 'options',
): T {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidInputError(field, 'must be an object');
  }
  // Reflect.ownKeys' order (string keys, then symbols) in two calls that cost half as much.
  for (const name of Object.getOwnPropertyNames(options)) {
    if (!known.has(name)) unknownName(field, quotedInput(name), known);
  }
  if (Object.getOwnPropertySymbols(options).length > 0) unknownName(field, 'a symbol', known);
  return options;
}

function unknownName(field: string, shown: string, known: ReadonlySet<string>): never {
  throw new InvalidInputError(
    field,
    `has an unknown ${field === 'options' ? 'option' : 'field'} ${shown} (known: ${[...known].join(', ')})`,
  );
}
