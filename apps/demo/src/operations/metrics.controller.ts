import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { KmsMetrics } from '@nest-kms/kms';
import { DemoMetrics } from './demo-metrics.js';

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly kms: KmsMetrics,
    private readonly demo: DemoMetrics,
  ) {}

  /** nest-kms's registry (KMS and secrets metrics) merged with the demo's request counts. */
  @Get()
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'Prometheus metrics' })
  metrics(): Promise<string> {
    return Registry.merge([this.kms.registry, this.demo.registry]).metrics();
  }
}
