import { KmsDataKeyEntity } from './entities/kms-data-key.entity.js';
import { KmsKeyringEntity } from './entities/kms-keyring.entity.js';
import { CreateKmsKeyring1764288000000 } from './migrations/1764288000000-create-kms-keyring.js';
export const KMS_ENTITIES = [KmsKeyringEntity, KmsDataKeyEntity];
export const KMS_MIGRATIONS = [CreateKmsKeyring1764288000000];
export const KMS_RESOLVED_OPTIONS = Symbol('nest-kms:resolved-options');
export const KEYRING_ID = 'default';
//# sourceMappingURL=kms.constants.js.map
