import { Module } from '@nestjs/common';
import { SecretsModule } from '@nest-kms/secrets';
import { CallerTokenGuard } from './caller-token.guard.js';
import { CALLER_TOKEN_KEY, CallerTokens } from './caller-tokens.js';

/** Caller tokens, for every module whose routes a caller uses on its own behalf. */
@Module({
  imports: [SecretsModule.forFeature([CALLER_TOKEN_KEY])],
  providers: [CallerTokens, CallerTokenGuard],
  exports: [CallerTokens, CallerTokenGuard],
})
export class CallerAuthModule {}
