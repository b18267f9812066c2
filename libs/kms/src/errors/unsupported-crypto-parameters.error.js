import { KmsError } from './kms.error.js';
export class UnsupportedCryptoParametersError extends KmsError {
  problem;
  code = 'KMS_UNSUPPORTED_CRYPTO_PARAMETERS';
  constructor(problem) {
    super(`Unsupported AES-256-GCM parameters: ${problem}`);
    this.problem = problem;
  }
}
//# sourceMappingURL=unsupported-crypto-parameters.error.js.map
