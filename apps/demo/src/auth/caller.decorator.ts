import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

const CALLER = Symbol('nest-kms-demo:caller');

type CallerRequest = { [CALLER]?: string };

/** Records who CallerTokenGuard authenticated. */
export function setCaller(request: object, caller: string): void {
  (request as CallerRequest)[CALLER] = caller;
}

/** The authenticated caller's id; only on routes behind CallerTokenGuard. */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const caller = context.switchToHttp().getRequest<CallerRequest>()[CALLER];
  if (caller === undefined)
    throw new Error('@Caller() is used on a route without CallerTokenGuard');
  return caller;
});
