import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { KmsModule } from '@nest-kms/kms';
import { KmsErrorFilter } from './kms-error.filter.js';
import { KmsController } from './kms.controller.js';

/**
 * The demo wires nest-kms as the README tells users to. With no environment at all it runs
 * on the embedded default: SQLite under ./data and a development master key in
 * ./data/dev-master.key (never in production: there KMS_MASTER_KEY is required).
 */
@Module({
  imports: [
    KmsModule.forRoot({
      connection: process.env.DATABASE_URL
        ? { type: 'postgres', url: process.env.DATABASE_URL }
        : { type: 'better-sqlite3', database: 'data/demo.sqlite' },
      developmentMasterKeyFile: 'data/dev-master.key',
    }),
  ],
  controllers: [KmsController],
  providers: [{ provide: APP_FILTER, useClass: KmsErrorFilter }],
})
export class AppModule {}
