import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { SECRET_NAME_PATTERN, type RotationPolicy } from '@nest-kms/secrets';
import { IsStorableText, MAX_INT4 } from '../http/column-limits.js';
import { JsonData, STRING_MAP } from '../http/json-data.js';

const VALUE_DESCRIPTION = 'A non-empty string of at most 64 KiB (UTF-8)';

/** The `:name` of a secrets route, checked before it reaches the store or its audit trail. */
export class SecretPath {
  @Matches(SECRET_NAME_PATTERN, {
    message: 'name must be 1-128 characters: a letter or digit, then letters, digits, _ . - /',
  })
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
