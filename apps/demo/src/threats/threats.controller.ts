import { Controller, Delete, Get, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SecretsAuditTrail, type AuditTrailVerification } from '@nest-kms/secrets';
import { ThreatsService } from '@nest-kms/threat-detection';
import { AdminTokenGuard } from '../auth/admin-token.guard.js';
import {
  ActorPath,
  AuditVerificationResponse,
  ThreatsOverview,
  UnblockResponse,
} from './threats.dto.js';

/** How many recent detections GET /threats shows. */
const RECENT_DETECTIONS = 100;

/** What threat detection found, for an administrator: detections, blocks, the trail's chain. */
@ApiTags('threats')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller('threats')
export class ThreatsController {
  constructor(
    private readonly threats: ThreatsService,
    private readonly trail: SecretsAuditTrail,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Recent detections (newest first) and the actors blocked now' })
  @ApiOkResponse({ type: ThreatsOverview })
  async overview(): Promise<ThreatsOverview> {
    const [detections, blocks] = await Promise.all([
      this.threats.listDetections({ limit: RECENT_DETECTIONS }),
      this.threats.listBlocks(),
    ]);
    return { detections, blocks };
  }

  @Get('verify')
  @ApiOperation({ summary: "The audit trail's hash chain, recomputed: intact, or where not" })
  @ApiOkResponse({ type: AuditVerificationResponse })
  verify(): Promise<AuditTrailVerification> {
    return this.trail.verify();
  }

  @Delete('blocks/:actor')
  @ApiOperation({ summary: "Lift an actor's block on every replica (unblocked: false if none)" })
  @ApiOkResponse({ type: UnblockResponse })
  async unblock(@Param() { actor }: ActorPath): Promise<UnblockResponse> {
    return { actor, unblocked: await this.threats.unblockActor(actor) };
  }
}
