import { Controller, HttpCode, Logger, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { AdminTokenGuard } from './admin-token.guard.js';
import { CALLER_ID_PATTERN, CALLER_ID_RULE, CallerTokens } from './caller-tokens.js';

export class CallerPath {
  @Matches(CALLER_ID_PATTERN, { message: CALLER_ID_RULE })
  caller: string;
}

export class CallerTokenResponse {
  @ApiProperty() caller: string;
  @ApiProperty({
    description: 'Send as Authorization: Bearer <token> to /encrypt, /decrypt, /notes',
  })
  token: string;
}

/** The admin hands out caller tokens; the same caller always gets the same token. */
@ApiTags('callers')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller('callers')
export class CallersController {
  private readonly logger = new Logger(CallersController.name);

  constructor(private readonly tokens: CallerTokens) {}

  @Post(':caller/token')
  @HttpCode(200)
  @ApiOperation({ summary: "A caller's token (rotate DEMO_CALLER_TOKEN_KEY to revoke them all)" })
  @ApiOkResponse({ type: CallerTokenResponse })
  async issue(@Param() { caller }: CallerPath): Promise<CallerTokenResponse> {
    const token = await this.tokens.issue(caller);
    this.logger.log({ event: 'demo_caller_token_issued', caller });
    return { caller, token };
  }
}
