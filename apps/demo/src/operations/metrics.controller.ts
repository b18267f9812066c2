import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
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
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'Prometheus metrics' })
  metrics(@Res({ passthrough: true }) response: Response): Promise<string> {
    const registry = Registry.merge([this.kms.registry, this.demo.registry]);
    response.type(registry.contentType);
    return registry.metrics();
  }
}
