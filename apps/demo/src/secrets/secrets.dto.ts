import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import {
  SECRET_NAME_PATTERN,
  SECRETS_BATCH_MAX_NAMES,
  SECRETS_LIST_MAX_LIMIT,
  type RotationPolicy,
} from '@nest-kms/secrets';
import { IsStorableText, MAX_INT4 } from '../http/column-limits.js';
import { JsonData, STRING_MAP } from '../http/json-data.js';

const VALUE_DESCRIPTION = 'A non-empty string of at most 64 KiB (UTF-8)';
const NAME_RULE = 'must be 1-128 characters: a letter or digit, then letters, digits, _ . - /';
/** GET /secrets answers this many secrets when the request says no `limit`. */
export const DEFAULT_SECRETS_PAGE_SIZE = 100;

/** The `:name` of a secrets route, checked before it reaches the store or its audit trail. */
export class SecretPath {
  @Matches(SECRET_NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name: string;
}

export class PutSecretRequest {
  @ApiProperty({ description: VALUE_DESCRIPTION, writeOnly: true })
  @IsString()
  value: string;

  @ApiPropertyOptional({ enum: ['manual', 'auto'], default: 'manual' })
  @IsOptional()
  @IsIn(['manual', 'auto'])
  rotationPolicy?: RotationPolicy;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 1,
    description: 'Days until each new version expires; null: never',
  })
  @IsOptional()
  @IsInt()
  ttlDays?: number | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @JsonData(STRING_MAP, { optional: true })
  tags?: Record<string, string>;

  @ApiPropertyOptional({ maxLength: 1024, description: 'Without NUL characters' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  @IsStorableText()
  description?: string;
}

export class RotateSecretRequest {
  @ApiProperty({ description: VALUE_DESCRIPTION, writeOnly: true })
  @IsString()
  value: string;
}

export class GetSecretQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_INT4,
    description: 'An older version',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_INT4)
  version?: number;
}

export class ListSecretsQuery {
  @ApiPropertyOptional({
    description: '`key` (has the tag) or `key=value`',
    example: 'service=api',
  })
  @IsOptional()
  @IsString()
  @MaxLength(400)
  tag?: string;

  @ApiPropertyOptional({ description: 'Only names starting with this', example: 'payments/' })
  @IsOptional()
  @Matches(SECRET_NAME_PATTERN, { message: `prefix ${NAME_RULE}` })
  prefix?: string;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the page before' })
  @IsOptional()
  @Matches(SECRET_NAME_PATTERN, { message: `after ${NAME_RULE}` })
  after?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: SECRETS_LIST_MAX_LIMIT,
    default: DEFAULT_SECRETS_PAGE_SIZE,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(SECRETS_LIST_MAX_LIMIT)
  limit?: number;
}

export class BatchGetSecretsRequest {
  @ApiProperty({
    type: [String],
    maxItems: SECRETS_BATCH_MAX_NAMES,
    description: `At most ${SECRETS_BATCH_MAX_NAMES} secret names`,
  })
  @IsArray()
  @ArrayMaxSize(SECRETS_BATCH_MAX_NAMES)
  @Matches(SECRET_NAME_PATTERN, { each: true, message: `each of names ${NAME_RULE}` })
  names: string[];
}

export class SecretValueResponse {
  @ApiProperty() name: string;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'The version asked for, or null: the current one',
  })
  version: number | null;
  @ApiProperty() value: string;
}

/** What the secrets endpoints answer: metadata, never a value. */
export class SecretMetadataResponse {
  @ApiProperty() name: string;
  @ApiProperty({ type: 'integer' }) currentVersion: number;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) expiresAt: Date | null;
  @ApiProperty({ description: 'Data key of the current version' }) keyId: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  tags: Record<string, string>;
  @ApiProperty({ enum: ['manual', 'auto'] }) rotationPolicy: RotationPolicy;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
}

export class SecretsPageResponse {
  @ApiProperty({ type: [SecretMetadataResponse] }) secrets: SecretMetadataResponse[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The `after` of the next page; null: no secret remains',
  })
  nextCursor: string | null;
}

export class BatchItemErrorResponse {
  @ApiProperty({ example: 'SECRET_NOT_FOUND' }) code: string;
  @ApiProperty() message: string;
}

/** One name's answer: its value, or the error GET /secrets/{name} would have answered. */
export class BatchItemResponse {
  @ApiProperty() name: string;
  @ApiProperty() ok: boolean;
  @ApiPropertyOptional() value?: string;
  @ApiPropertyOptional({ type: 'integer' }) version?: number;
  @ApiPropertyOptional({ type: BatchItemErrorResponse }) error?: BatchItemErrorResponse;
}

export class BatchGetSecretsResponse {
  @ApiProperty({ type: [BatchItemResponse], description: 'In the order of the names asked' })
  results: BatchItemResponse[];
}
