import { quotedInput } from '@nest-kms/kms';

const PLAIN_NAME = /^[A-Za-z0-9_.$-]{1,64}$/;

/**
 * A field name from the request: as it is when plain, else quoted the way the libraries quote
 * their callers' input (bounded, escaped), so an error message stays one short printable line.
 */
export const fieldName = (name: string): string =>
  PLAIN_NAME.test(name) ? name : quotedInput(name);
