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
var __param =
  (this && this.__param) ||
  function (paramIndex, decorator) {
    return function (target, key) {
      decorator(target, key, paramIndex);
    };
  };
import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DataSource } from 'typeorm';
import { KmsDataKeyEntity } from '../entities/kms-data-key.entity.js';
import { KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { KMS_ENTITIES, KMS_MIGRATIONS, KMS_RESOLVED_OPTIONS } from '../kms.constants.js';
let KmsStorage = class KmsStorage {
  options;
  moduleRef;
  opening;
  owned;
  constructor(options, moduleRef) {
    this.options = options;
    this.moduleRef = moduleRef;
  }
  dataSource() {
    this.opening ??= this.open().catch((error) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }
  async onApplicationShutdown() {
    const owned = this.owned;
    this.owned = undefined;
    this.opening = undefined;
    if (owned?.isInitialized) await owned.destroy();
  }
  async open() {
    const { storage } = this.options;
    if (storage.kind === 'owned') {
      const { connection } = storage;
      if (connection.type === 'better-sqlite3' && connection.database !== ':memory:') {
        await mkdir(dirname(connection.database), { recursive: true, mode: 0o700 });
      }
      const dataSource = new DataSource({
        ...connection,
        entities: KMS_ENTITIES,
        migrations: KMS_MIGRATIONS,
        migrationsRun: true,
        synchronize: false,
      });
      await dataSource.initialize();
      this.owned = dataSource;
      return dataSource;
    }
    const dataSource =
      typeof storage.dataSource === 'string'
        ? this.registered(storage.dataSource)
        : storage.dataSource;
    if (!dataSource.isInitialized) {
      throw new KmsConfigurationError('the DataSource given to KmsModule is not initialized');
    }
    if (!dataSource.hasMetadata(KmsDataKeyEntity) || !dataSource.hasMetadata(KmsKeyringEntity)) {
      throw new KmsConfigurationError(
        'the application DataSource does not include the KMS entities: add ...KMS_ENTITIES to its entities and ...KMS_MIGRATIONS to its migrations',
      );
    }
    return dataSource;
  }
  registered(name) {
    try {
      return this.moduleRef.get(getDataSourceToken(name), { strict: false });
    } catch {
      throw new KmsConfigurationError(
        `no TypeORM DataSource named "${name}" is registered; import TypeOrmModule.forRoot(...) before KmsModule`,
      );
    }
  }
};
KmsStorage = __decorate(
  [
    Injectable(),
    __param(0, Inject(KMS_RESOLVED_OPTIONS)),
    __metadata('design:paramtypes', [Object, ModuleRef]),
  ],
  KmsStorage,
);
export { KmsStorage };
//# sourceMappingURL=kms-storage.js.map
