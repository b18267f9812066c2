import { KmsError } from './kms.error.js';
export class MalformedEnvelopeError extends KmsError {
  field;
  problem;
  code = 'KMS_MALFORMED_ENVELOPE';
  constructor(field, problem) {
    super(`Malformed envelope: ${field} ${problem}`);
    this.field = field;
    this.problem = problem;
  }
}
//# sourceMappingURL=malformed-envelope.error.js.map
