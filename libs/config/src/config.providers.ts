import type { Provider, Type } from '@nestjs/common';
import { KmsConfigurationError } from '@nest-kms/kms';
import { KmsConfigService } from './config.service.js';
import { CONFIG_SCHEMA } from './config.constants.js';

/** The schema (for KmsConfigService) and the configuration object, injectable by its class. */
export function createSchemaProviders(schema: Type<object> | undefined): Provider[] {
  if (typeof schema !== 'function') {
    throw new KmsConfigurationError(
      'KmsConfigModule needs { schema }: the configuration class whose fields it resolves',
    );
  }
  return [
    { provide: CONFIG_SCHEMA, useValue: schema },
    {
      provide: schema,
      useFactory: (loader: KmsConfigService) => loader.config,
      inject: [KmsConfigService],
    },
  ];
}
