import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { KmsHealthIndicator } from '@nest-kms/kms';
import { HealthCheckLog } from './health-check.log.js';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly kms: KmsHealthIndicator,
    private readonly log: HealthCheckLog,
  ) {}

  /** 200 when the database answers and the KMS is ready, else 503 with the failing part. */
  @Get()
  @HealthCheck()
  async check() {
    try {
      const result = await this.health.check([
        () => this.kms.isDatabaseUp('database', { timeoutMs: 1500 }),
        () => this.kms.isReady('kms'),
      ]);
      this.log.passed();
      return result;
    } catch (error) {
      if (error instanceof ServiceUnavailableException) this.log.failed(downParts(error));
      throw error;
    }
  }
}

/** The names of the indicators a failed check reports down. */
function downParts(error: ServiceUnavailableException): string[] {
  const report = error.getResponse() as { error?: Record<string, unknown> };
  return Object.keys(report.error ?? {});
}
