import { InvalidSecretInputError } from '../errors/invalid-secret-input.error.js';
import type {
  ListSecretsOptions,
  ListSecretsPageOptions,
  SecretsFilter,
} from '../interfaces/secret-operations.interface.js';
import { checkActor, SECRET_NAME_PATTERN } from '../secrets.validation.js';

/** The most secrets one listSecrets({ limit }) page holds. */
export const SECRETS_LIST_MAX_LIMIT = 1000;
/** The most names one getSecrets() call reads. */
export const SECRETS_BATCH_MAX_NAMES = 100;
/** A tag filter's longest form: a 128-character key, `=`, a 256-character value. */
const MAX_TAG_FILTER_LENGTH = 385;

export function checkFilter(filter: SecretsFilter & { actor?: string }): void {
  checkActor(filter.actor);
  const { tag, prefix } = filter;
  if (tag !== undefined && (typeof tag !== 'string' || !/^[^=]+(=|$)/.test(tag))) {
    throw new InvalidSecretInputError('tag', 'must be `key` or `key=value`');
  }
  if (tag !== undefined && tag.length > MAX_TAG_FILTER_LENGTH) {
    throw new InvalidSecretInputError('tag', `must be at most ${MAX_TAG_FILTER_LENGTH} characters`);
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || !SECRET_NAME_PATTERN.test(prefix))) {
    throw new InvalidSecretInputError('prefix', 'must be the beginning of a valid secret name');
  }
}

export function checkListOptions(options: ListSecretsOptions | ListSecretsPageOptions): void {
  checkFilter(options);
  const { after, limit } = options;
  if (after !== undefined && (typeof after !== 'string' || !SECRET_NAME_PATTERN.test(after))) {
    throw new InvalidSecretInputError(
      'after',
      'must be a secret name: the nextCursor of the page before',
    );
  }
  if (
    limit !== undefined &&
    (!Number.isSafeInteger(limit) || limit < 1 || limit > SECRETS_LIST_MAX_LIMIT)
  ) {
    throw new InvalidSecretInputError(
      'limit',
      `must be an integer from 1 to ${SECRETS_LIST_MAX_LIMIT}`,
    );
  }
}

/** The names of one getSecrets() call: an array of strings, at most SECRETS_BATCH_MAX_NAMES. */
export function checkBatchNames(names: unknown): asserts names is readonly string[] {
  if (!Array.isArray(names) || names.some((name) => typeof name !== 'string')) {
    throw new InvalidSecretInputError('names', 'must be an array of secret names');
  }
  if (names.length > SECRETS_BATCH_MAX_NAMES) {
    throw new InvalidSecretInputError('names', `at most ${SECRETS_BATCH_MAX_NAMES} per call`);
  }
}
