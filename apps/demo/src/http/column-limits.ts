import { ValidateBy, buildMessage } from 'class-validator';

/** The largest `integer` both engines store (Postgres int4); a larger number is an SQL error. */
export const MAX_INT4 = 2_147_483_647;

/**
 * Text a varchar column holds as sent: no NUL (Postgres refuses it in text) and no lone UTF-16
 * surrogate (the driver would store U+FFFD instead).
 */
export const IsStorableText = (): PropertyDecorator =>
  ValidateBy({
    name: 'isStorableText',
    validator: {
      validate: (value: unknown) =>
        typeof value !== 'string' || (!value.includes('\u0000') && value.isWellFormed()),
      defaultMessage: buildMessage(
        (each) => `${each}$property must not contain NUL or a lone UTF-16 surrogate`,
      ),
    },
  });
