import { ApiProperty } from '@nestjs/swagger';
import type { AadInput, EnvelopeV1 } from '@nest-kms/kms';
import { AAD, ENVELOPE, JsonData, type JsonDataRule } from '../http/json-data.js';
import { DEMO_BATCH_MAX_ITEMS } from './kms-batch.js';

const AAD_FIELD = {
  description:
    'Context the item is bound to (authenticated): a string, or a flat object of strings whose keys do not start with "demo."',
  oneOf: [{ type: 'string' }, { type: 'object', additionalProperties: { type: 'string' } }],
};

/** An array of objects with `field` (checked by `value`) and an optional `aad`, nothing else. */
function itemsOf(field: string, value: JsonDataRule): JsonDataRule {
  const accepts = (item: unknown): boolean => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return false;
    const keys = Object.keys(item);
    const fields = item as Record<string, unknown>;
    return (
      keys.every((key) => key === field || key === 'aad') &&
      value.accepts(fields[field]) &&
      (fields.aad === undefined || AAD.accepts(fields.aad))
    );
  };
  return {
    rule: `must be an array of { ${field}, aad? } objects (${field} ${value.rule}; aad ${AAD.rule})`,
    accepts: (items) => Array.isArray(items) && items.every(accepts),
  };
}

const PLAINTEXT: JsonDataRule = { rule: 'must be a string', accepts: (v) => typeof v === 'string' };

class BatchPlaintextDocument {
  @ApiProperty({ description: 'Text to encrypt (UTF-8)' }) plaintext: string;
  @ApiProperty({ ...AAD_FIELD, required: false }) aad?: AadInput;
}

class BatchEnvelopeDocument {
  @ApiProperty({ description: 'An /encrypt envelope: the object or its compact form' })
  envelope: EnvelopeV1 | string;
  @ApiProperty({ ...AAD_FIELD, required: false }) aad?: AadInput;
}

export class EncryptBatchRequest {
  @ApiProperty({
    type: [BatchPlaintextDocument],
    maxItems: DEMO_BATCH_MAX_ITEMS,
    description: `At most ${DEMO_BATCH_MAX_ITEMS} items (413 BATCH_TOO_LARGE above)`,
  })
  @JsonData(itemsOf('plaintext', PLAINTEXT))
  items: { plaintext: string; aad?: AadInput }[];
}

export class DecryptBatchRequest {
  @ApiProperty({
    type: [BatchEnvelopeDocument],
    maxItems: DEMO_BATCH_MAX_ITEMS,
    description: `At most ${DEMO_BATCH_MAX_ITEMS} items (413 BATCH_TOO_LARGE above)`,
  })
  @JsonData(itemsOf('envelope', ENVELOPE))
  items: { envelope: EnvelopeV1 | string; aad?: AadInput }[];
}

/** Why one item failed: its error's stable code and message, never a value. */
export class BatchItemError {
  @ApiProperty({ example: 'KMS_DECRYPTION_FAILED' }) code: string;
  @ApiProperty() message: string;
}

export class EncryptBatchResult {
  @ApiProperty() ok: boolean;
  @ApiProperty({ required: false, description: 'When ok' }) envelope?: EnvelopeV1;
  @ApiProperty({ required: false, type: BatchItemError }) error?: BatchItemError;
}

export class DecryptBatchResult {
  @ApiProperty() ok: boolean;
  @ApiProperty({ required: false, description: 'When ok' }) plaintext?: string;
  @ApiProperty({ required: false, type: BatchItemError }) error?: BatchItemError;
}

export class EncryptBatchResponse {
  @ApiProperty({ type: [EncryptBatchResult], description: 'One per item, in order' })
  results: EncryptBatchResult[];
}

export class DecryptBatchResponse {
  @ApiProperty({ type: [DecryptBatchResult], description: 'One per item, in order' })
  results: DecryptBatchResult[];
}
