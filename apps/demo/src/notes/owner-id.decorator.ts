import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from '../http/api-error.js';

/** The header naming who asks; in a real service it comes from authentication. */
export const OWNER_HEADER = 'x-owner-id';
const OWNER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The X-Owner-Id header, checked: 1-64 letters, digits, _ or -. */
export const OwnerId = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const value = context.switchToHttp().getRequest<Request>().headers[OWNER_HEADER];
  if (typeof value !== 'string' || !OWNER_ID_PATTERN.test(value)) {
    throw new ApiError(
      400,
      'INVALID_OWNER',
      'The X-Owner-Id header must be 1-64 characters: letters, digits, _ or -',
    );
  }
  return value;
});
