import type { AadInput } from '@nest-kms/kms';
import { ApiError } from '../http/api-error.js';

/** AAD keys the demo binds under; a caller's own AAD may not use this prefix. */
export const RESERVED_AAD_PREFIX = 'demo.';

/**
 * The AAD of a transit envelope (POST /encrypt, POST /decrypt), Vault transit's model: every
 * envelope is bound to the transit endpoint and to its caller, with the caller's own context
 * beside them. The caller can neither omit nor forge the reserved entries, so /decrypt opens
 * only what /encrypt sealed for the same caller: never a note, a secret, or an envelope the
 * application made for any other purpose, all of which are bound to something else.
 */
export function transitAad(caller: string, aad: AadInput | undefined): Record<string, string> {
  const own = typeof aad === 'string' ? [['demo.aad', aad]] : Object.entries(aad ?? {});
  if (typeof aad !== 'string' && own.some(([key]) => key.startsWith(RESERVED_AAD_PREFIX))) {
    throw new ApiError(
      400,
      'AAD_RESERVED_KEY',
      `aad keys starting with "${RESERVED_AAD_PREFIX}" are reserved: the demo binds every envelope to /encrypt and its caller under them`,
    );
  }
  // fromEntries defines every key as data, so a caller's "__proto__" stays a key like any other.
  return Object.fromEntries([...own, ['demo.transit', 'v1'], ['demo.caller', caller]]);
}
