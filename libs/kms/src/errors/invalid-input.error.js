import { KmsError } from './kms.error.js';
export class InvalidInputError extends KmsError {
  field;
  problem;
  code = 'KMS_INVALID_INPUT';
  constructor(field, problem) {
    super(`Invalid ${field}: ${problem}`);
    this.field = field;
    this.problem = problem;
  }
}
//# sourceMappingURL=invalid-input.error.js.map
