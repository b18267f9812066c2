import { InvalidSecretInputError } from './errors/invalid-secret-input.error.js';
import type { SetSecretOptions } from './interfaces/secret-operations.interface.js';

/** Names: 1-128 characters, starting with a letter or digit; then letters, digits and _ . - / */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$/;
export const SECRET_NAME_MAX_LENGTH = 128;
/** Values: non-empty strings of at most 64 KiB of UTF-8. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
const TAG_KEY_PATTERN = /^[A-Za-z0-9_.:/+@-]{1,128}$/;
const MAX_TAGS = 50;
const MAX_TAG_VALUE_LENGTH = 256;
const MAX_DESCRIPTION_LENGTH = 1024;
const MAX_TTL_DAYS = 36_500;
const MAX_ACTOR_LENGTH = 128;

export function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !SECRET_NAME_PATTERN.test(name)) {
    throw new InvalidSecretInputError(
      'name',
      'must be 1-128 characters: a letter or digit, then letters, digits, _ . - /',
    );
  }
}

export function checkValue(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidSecretInputError('value', 'must be a non-empty string');
  }
  if (!value.isWellFormed())
    throw new InvalidSecretInputError('value', 'contains a lone UTF-16 surrogate');
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_VALUE_BYTES) {
    throw new InvalidSecretInputError(
      'value',
      `must be at most ${MAX_SECRET_VALUE_BYTES} bytes of UTF-8`,
    );
  }
}

export function checkVersion(version: unknown): asserts version is number {
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw new InvalidSecretInputError('version', 'must be a positive integer');
  }
}

export function checkExpectedVersion(expectedVersion: unknown): void {
  if (expectedVersion !== undefined) {
    if (!Number.isSafeInteger(expectedVersion) || (expectedVersion as number) < 1) {
      throw new InvalidSecretInputError('expectedVersion', 'must be a positive integer');
    }
  }
}

export function checkActor(actor: unknown): void {
  if (actor !== undefined && (typeof actor !== 'string' || actor.length > MAX_ACTOR_LENGTH)) {
    throw new InvalidSecretInputError(
      'actor',
      `must be a string of at most ${MAX_ACTOR_LENGTH} characters`,
    );
  }
}

export function checkSetOptions(options: SetSecretOptions): void {
  const { rotationPolicy, ttlDays, tags, description } = options;
  if (rotationPolicy !== undefined && rotationPolicy !== 'manual' && rotationPolicy !== 'auto') {
    throw new InvalidSecretInputError('rotationPolicy', "must be 'manual' or 'auto'");
  }
  if (ttlDays !== undefined && ttlDays !== null) {
    if (!Number.isSafeInteger(ttlDays) || ttlDays < 1 || ttlDays > MAX_TTL_DAYS) {
      throw new InvalidSecretInputError(
        'ttlDays',
        `must be an integer from 1 to ${MAX_TTL_DAYS}, or null`,
      );
    }
  }
  if (tags !== undefined) checkTags(tags);
  if (description !== undefined && description !== null) {
    if (typeof description !== 'string' || description.length > MAX_DESCRIPTION_LENGTH) {
      throw new InvalidSecretInputError(
        'description',
        `must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`,
      );
    }
  }
  checkActor(options.actor);
}

function checkTags(tags: unknown): void {
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) {
    throw new InvalidSecretInputError('tags', 'must be a flat object of strings');
  }
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS)
    throw new InvalidSecretInputError('tags', `at most ${MAX_TAGS} tags`);
  for (const [key, value] of entries) {
    if (!TAG_KEY_PATTERN.test(key)) {
      throw new InvalidSecretInputError(
        'tags',
        'keys must be 1-128 characters of A-Z a-z 0-9 _ . : / + @ -',
      );
    }
    if (typeof value !== 'string' || value.length > MAX_TAG_VALUE_LENGTH) {
      throw new InvalidSecretInputError(
        'tags',
        `values must be strings of at most ${MAX_TAG_VALUE_LENGTH} characters`,
      );
    }
  }
}
