var __decorate =
  (this && this.__decorate) ||
  function (decorators, target, key, desc) {
    var c = arguments.length,
      r =
        c < 3
          ? target
          : desc === null
            ? (desc = Object.getOwnPropertyDescriptor(target, key))
            : desc,
      d;
    if (typeof Reflect === 'object' && typeof Reflect.decorate === 'function')
      r = Reflect.decorate(decorators, target, key, desc);
    else
      for (var i = decorators.length - 1; i >= 0; i--)
        if ((d = decorators[i]))
          r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return (c > 3 && r && Object.defineProperty(target, key, r), r);
  };
var __metadata =
  (this && this.__metadata) ||
  function (k, v) {
    if (typeof Reflect === 'object' && typeof Reflect.metadata === 'function')
      return Reflect.metadata(k, v);
  };
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMillis } from './epoch-millis.transformer.js';
let KmsKeyringEntity = class KmsKeyringEntity {
  id;
  masterKeyFingerprint;
  createdAt;
  updatedAt;
};
__decorate(
  [PrimaryColumn({ type: 'varchar', length: 32 }), __metadata('design:type', String)],
  KmsKeyringEntity.prototype,
  'id',
  void 0,
);
__decorate(
  [
    Column({ name: 'master_key_fingerprint', type: 'varchar', length: 128 }),
    __metadata('design:type', String),
  ],
  KmsKeyringEntity.prototype,
  'masterKeyFingerprint',
  void 0,
);
__decorate(
  [
    Column({ name: 'created_at', type: 'bigint', transformer: epochMillis }),
    __metadata('design:type', Number),
  ],
  KmsKeyringEntity.prototype,
  'createdAt',
  void 0,
);
__decorate(
  [
    Column({ name: 'updated_at', type: 'bigint', transformer: epochMillis }),
    __metadata('design:type', Number),
  ],
  KmsKeyringEntity.prototype,
  'updatedAt',
  void 0,
);
KmsKeyringEntity = __decorate([Entity({ name: 'kms_keyring' })], KmsKeyringEntity);
export { KmsKeyringEntity };
//# sourceMappingURL=kms-keyring.entity.js.map
