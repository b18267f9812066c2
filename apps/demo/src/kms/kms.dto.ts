import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import type { AadInput, EnvelopeV1 } from '@nest-kms/kms';
import { AAD, ENVELOPE, JsonData } from '../http/json-data.js';

const AAD_SCHEMA = {
  description:
    'Context the envelope is bound to (authenticated): a string such as a user id, or a flat object of strings',
  oneOf: [{ type: 'string' }, { type: 'object', additionalProperties: { type: 'string' } }],
};

/** The design document's envelope (format v1); binary fields are base64. */
export class EnvelopeDocument {
  @ApiProperty({ enum: [1] }) v: 1;
  @ApiProperty({ enum: ['aes-256-gcm'] }) alg: 'aes-256-gcm';
  @ApiProperty({ description: 'The data key that sealed it' }) keyId: string;
  @ApiProperty({ description: '12-byte IV' }) iv: string;
  @ApiProperty({ description: '16-byte GCM tag' }) tag: string;
  @ApiProperty() ciphertext: string;
  @ApiPropertyOptional({ description: 'The bound context, canonically encoded' }) aad?: string;
  @ApiProperty({ description: 'Milliseconds since the epoch' }) timestamp: number;
}

export class EncryptRequest {
  @ApiProperty({ description: 'Text to encrypt (UTF-8)', example: 'hello' })
  @IsString()
  plaintext: string;

  @ApiPropertyOptional({
    ...AAD_SCHEMA,
    description: `${AAD_SCHEMA.description}. Keys starting with "demo." are reserved: the demo binds every envelope to /encrypt and to its caller under them`,
  })
  @JsonData(AAD, { optional: true })
  aad?: AadInput;
}

export class EncryptResponse {
  @ApiProperty({ type: EnvelopeDocument }) envelope: EnvelopeV1;
}

export class DecryptRequest {
  @ApiProperty({
    oneOf: [
      { $ref: getSchemaPath(EnvelopeDocument) },
      { type: 'string', description: 'The compact form, kms1.…' },
    ],
  })
  @JsonData(ENVELOPE)
  envelope: EnvelopeV1 | string;

  @ApiPropertyOptional({
    ...AAD_SCHEMA,
    description:
      'The context given to /encrypt: an envelope bound to anything else, to another caller or made elsewhere is refused (422)',
  })
  @JsonData(AAD, { optional: true })
  aad?: AadInput;
}

export class DecryptResponse {
  @ApiProperty() plaintext: string;
}

export class KeyRotationResponse {
  @ApiProperty({ description: 'The new active data key' }) keyId: string;
  @ApiProperty({ nullable: true, type: String }) previousKeyId: string | null;
}
