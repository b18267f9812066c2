import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import type { DemoRequest } from '../http/demo-request.js';
import { bearerToken, refuseBearer } from './bearer-token.js';
import { setCaller } from './caller.decorator.js';
import { CallerTokens } from './caller-tokens.js';

/**
 * Routes a caller uses on its own behalf (transit encryption, notes) need `Authorization:
 * Bearer <caller token>`; the handler gets the caller id with @Caller(). The admin token is not
 * a caller token. Nothing about the presented token is logged.
 */
@Injectable()
export class CallerTokenGuard implements CanActivate {
  private readonly logger = new Logger(CallerTokenGuard.name);

  constructor(private readonly tokens: CallerTokens) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<DemoRequest>();
    const presented = bearerToken(request.headers.authorization);
    const caller = presented === undefined ? undefined : await this.tokens.verify(presented);
    if (caller !== undefined) {
      setCaller(request, caller);
      return true;
    }
    throw refuseBearer(http, this.logger, {
      event: 'caller_auth_refused',
      reason: presented === undefined ? 'missing' : 'invalid',
      message:
        'A valid caller token is required: Authorization: Bearer <token from POST /callers/:caller/token>',
    });
  }
}
