import { ApiProperty } from '@nestjs/swagger';
import { Length } from 'class-validator';
import {
  THREAT_SEVERITIES,
  type ActorBlock,
  type ThreatDetection,
  type ThreatDetectionRule,
  type ThreatSeverity,
} from '@nest-kms/threat-detection';

/** The `:actor` of a threats route, as the audit trail keeps actors. */
export class ActorPath {
  @Length(1, 128, { message: 'actor must be 1-128 characters' })
  actor: string;
}

const EPOCH_MS = { type: 'integer', description: 'Epoch milliseconds' } as const;

export class ThreatDetectionResponse implements ThreatDetection {
  @ApiProperty({ description: 'The same detection always has the same id' }) id: string;
  @ApiProperty({ example: 'decryption-failures' }) rule: ThreatDetectionRule;
  @ApiProperty({ enum: THREAT_SEVERITIES }) severity: ThreatSeverity;
  @ApiProperty({ nullable: true, type: String }) actor: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'key:dk-…' }) subject: string | null;
  @ApiProperty(EPOCH_MS) firstAt: number;
  @ApiProperty(EPOCH_MS) detectedAt: number;
  @ApiProperty({ type: 'integer', description: 'Position in the audit trail' }) seq: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' } })
  counts: Record<string, number>;
  @ApiProperty(EPOCH_MS) recordedAt: number;
}

export class ActorBlockResponse implements ActorBlock {
  @ApiProperty() actor: string;
  @ApiProperty(EPOCH_MS) until: number;
  @ApiProperty({ description: 'The rule that flagged the actor, or `operator`' }) reason: string;
  @ApiProperty({ nullable: true, type: String }) detectionId: string | null;
  @ApiProperty(EPOCH_MS) createdAt: number;
}

export class ThreatsOverview {
  @ApiProperty({ type: [ThreatDetectionResponse], description: 'The last 100, newest first' })
  detections: ThreatDetection[];
  @ApiProperty({ type: [ActorBlockResponse] }) blocks: ActorBlock[];
}

export class AuditTrailProblemResponse {
  @ApiProperty({ enum: ['missing', 'altered', 'truncated', 'head'] }) kind: string;
  @ApiProperty({ type: 'integer' }) fromSeq: number;
  @ApiProperty({ type: 'integer' }) toSeq: number;
}

export class AuditVerificationResponse {
  @ApiProperty() intact: boolean;
  @ApiProperty({ type: 'integer' }) verifiedRecords: number;
  @ApiProperty({ type: 'integer' }) lastSeq: number;
  @ApiProperty({ type: 'integer' }) problemCount: number;
  @ApiProperty({ type: [AuditTrailProblemResponse], description: 'The first 100' })
  problems: AuditTrailProblemResponse[];
  @ApiProperty({ type: 'integer' }) unsealedRecords: number;
  @ApiProperty({ ...EPOCH_MS, nullable: true }) oldestUnsealedAt: number | null;
}

export class UnblockResponse {
  @ApiProperty() actor: string;
  @ApiProperty({ description: 'False when the actor was not blocked' }) unblocked: boolean;
}
