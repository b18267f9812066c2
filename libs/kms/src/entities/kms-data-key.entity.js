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
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMillis } from './epoch-millis.transformer.js';
let KmsDataKeyEntity = class KmsDataKeyEntity {
  id;
  wrappedKey;
  status;
  masterKeyFingerprint;
  createdAt;
  retiredAt;
};
__decorate(
  [PrimaryColumn({ type: 'varchar', length: 64 }), __metadata('design:type', String)],
  KmsDataKeyEntity.prototype,
  'id',
  void 0,
);
__decorate(
  [Column({ name: 'wrapped_key', type: 'text' }), __metadata('design:type', String)],
  KmsDataKeyEntity.prototype,
  'wrappedKey',
  void 0,
);
__decorate(
  [Column({ type: 'varchar', length: 16 }), __metadata('design:type', String)],
  KmsDataKeyEntity.prototype,
  'status',
  void 0,
);
__decorate(
  [
    Column({ name: 'master_key_fingerprint', type: 'varchar', length: 128 }),
    __metadata('design:type', String),
  ],
  KmsDataKeyEntity.prototype,
  'masterKeyFingerprint',
  void 0,
);
__decorate(
  [
    Column({ name: 'created_at', type: 'bigint', transformer: epochMillis }),
    __metadata('design:type', Number),
  ],
  KmsDataKeyEntity.prototype,
  'createdAt',
  void 0,
);
__decorate(
  [
    Column({ name: 'retired_at', type: 'bigint', nullable: true, transformer: epochMillis }),
    __metadata('design:type', Object),
  ],
  KmsDataKeyEntity.prototype,
  'retiredAt',
  void 0,
);
KmsDataKeyEntity = __decorate(
  [
    Entity({ name: 'kms_data_keys' }),
    Index('UQ_kms_data_keys_one_active', ['status'], { unique: true, where: "status = 'active'" }),
  ],
  KmsDataKeyEntity,
);
export { KmsDataKeyEntity };
//# sourceMappingURL=kms-data-key.entity.js.map
