import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { DemoRequest } from '../http/demo-request.js';
import { DemoConfig } from '../demo.config.js';
import { bearerToken, refuseBearer } from './bearer-token.js';

/**
 * The secret and key endpoints need `Authorization: Bearer <admin token>`. The token is
 * DemoConfig.adminToken, read per request, so rotating the ADMIN_TOKEN secret takes effect
 * without a restart. Nothing about the presented token is logged.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly logger = new Logger(AdminTokenGuard.name);

  constructor(private readonly config: DemoConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<DemoRequest>();
    const presented = bearerToken(request.headers.authorization);
    const expected = this.config.adminToken;
    if (presented !== undefined && expected !== undefined && sameToken(presented, expected)) {
      return true;
    }
    throw refuseBearer(http, this.logger, {
      event: 'admin_auth_refused',
      reason: presented === undefined ? 'missing' : 'mismatch',
      message: 'A valid admin token is required: Authorization: Bearer <token>',
    });
  }
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
function sameToken(presented: string, expected: string): boolean {
  const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
