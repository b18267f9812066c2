import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { SecretsService, type SecretsStatus } from '@nest-kms/secrets';

@ApiTags('operations')
@Controller('status')
export class StatusController {
  constructor(private readonly secrets: SecretsService) {}

  /** The design document's status: `{ cacheSize, kmsStatus: { initialized, masterKeyPresent, dataKeysCount, secretsCount, expiredSecretsCount } }`, plus counters. */
  @Get()
  @ApiOperation({ summary: 'Cache and KMS status (counts only, no names or values)' })
  status(): Promise<SecretsStatus> {
    return this.secrets.getStatus();
  }
}
