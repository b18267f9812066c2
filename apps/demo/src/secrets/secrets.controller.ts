import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SecretsService, type SecretMetadata, type SecretsPage } from '@nest-kms/secrets';
import { AdminTokenGuard } from '../auth/admin-token.guard.js';
import {
  BatchGetSecretsRequest,
  BatchGetSecretsResponse,
  DEFAULT_SECRETS_PAGE_SIZE,
  GetSecretQuery,
  ListSecretsQuery,
  PutSecretRequest,
  RotateSecretRequest,
  SecretPath,
  SecretMetadataResponse,
  SecretsPageResponse,
  SecretValueResponse,
} from './secrets.dto.js';

/** Recorded as the actor in the secrets audit trail. */
const ADMIN_ACTOR = 'demo-admin';

/**
 * The secrets store over HTTP, for an administrator. Names travel in the path: one with a `/`
 * is sent as `%2F`.
 */
@ApiTags('secrets')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller('secrets')
export class SecretsController {
  constructor(private readonly secrets: SecretsService) {}

  @Get()
  @ApiOperation({
    summary: 'A page of metadata of live secrets in name order, by tag and prefix; never values',
  })
  @ApiOkResponse({ type: SecretsPageResponse })
  list(@Query() query: ListSecretsQuery): Promise<SecretsPage> {
    const { tag, prefix, after, limit = DEFAULT_SECRETS_PAGE_SIZE } = query;
    return this.secrets.listSecrets({ tag, prefix, after, limit, actor: ADMIN_ACTOR });
  }

  @Post('batch-get')
  @HttpCode(200)
  @ApiOperation({ summary: 'Current values of several secrets, each with its own result' })
  @ApiOkResponse({ type: BatchGetSecretsResponse })
  async batchGet(@Body() request: BatchGetSecretsRequest): Promise<BatchGetSecretsResponse> {
    const results = await this.secrets.getSecrets(request.names, { actor: ADMIN_ACTOR });
    return {
      results: results.map((result) =>
        result.ok
          ? result
          : {
              name: result.name,
              ok: false,
              // Library messages carry names, never values.
              error: { code: result.error.code, message: result.error.message },
            },
      ),
    };
  }

  @Put(':name')
  @ApiOperation({ summary: 'Store a new version (the first creates the secret)' })
  @ApiOkResponse({ type: SecretMetadataResponse })
  put(@Param() { name }: SecretPath, @Body() request: PutSecretRequest): Promise<SecretMetadata> {
    const { value, ...options } = request;
    return this.secrets.setSecret(name, value, { ...options, actor: ADMIN_ACTOR });
  }

  @Get(':name')
  @ApiOperation({ summary: 'The current value, or an older version' })
  @ApiOkResponse({ type: SecretValueResponse })
  async get(
    @Param() { name }: SecretPath,
    @Query() query: GetSecretQuery,
  ): Promise<SecretValueResponse> {
    const value = await this.secrets.getSecret(name, {
      version: query.version,
      actor: ADMIN_ACTOR,
    });
    return { name, version: query.version ?? null, value };
  }

  @Post(':name/rotate')
  @HttpCode(200)
  @ApiOperation({ summary: 'A new current value for an existing secret' })
  @ApiOkResponse({ type: SecretMetadataResponse })
  rotate(
    @Param() { name }: SecretPath,
    @Body() request: RotateSecretRequest,
  ): Promise<SecretMetadata> {
    return this.secrets.rotateSecret(name, request.value, { actor: ADMIN_ACTOR });
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Soft delete (recoverable for 30 days by the library)' })
  @ApiOkResponse({ type: SecretMetadataResponse })
  delete(@Param() { name }: SecretPath): Promise<SecretMetadata> {
    return this.secrets.deleteSecret(name, { actor: ADMIN_ACTOR });
  }
}
