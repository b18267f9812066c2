import { KMS_MESSAGES } from '../kms.messages.js';
import { KmsError } from './kms.error.js';

/** An operation ran before `KmsService.initialize()` finished (KmsModule calls it at start-up). */
export class KmsNotInitializedError extends KmsError {
  readonly code = 'KMS_NOT_INITIALIZED';
  constructor() {
    super(
      `${KMS_MESSAGES.notInitialized}: await KmsService.initialize() before using it (KmsModule does it during application start-up: await app.init() or app.listen() first, and use it in onModuleInit() or later, not in a constructor)`,
    );
  }
}
