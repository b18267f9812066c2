import { type DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ThreatDetectionModule } from '@nest-kms/threat-detection';
import type { DemoEnvironment } from '../demo-environment.js';
import { demoThreatDetection } from './demo-threat-detection.js';
import { ThreatPager } from './threat-pager.js';
import { ThreatsController } from './threats.controller.js';

/**
 * Threat detection over the demo's audit trail, as the README tells users to wire it: the
 * detector (settings from the environment), detections published as Nest events (ThreatPager
 * listens), and the admin's `/threats` view.
 */
@Module({})
export class DemoThreatsModule {
  static forRoot(env: DemoEnvironment): DynamicModule {
    return {
      module: DemoThreatsModule,
      imports: [
        EventEmitterModule.forRoot(),
        ThreatDetectionModule.forRoot(demoThreatDetection(env)),
      ],
      controllers: [ThreatsController],
      providers: [ThreatPager],
    };
  }
}
