import type { Provider, Type } from '@nestjs/common';
import { KmsConfigurationError } from '@nest-kms/kms';
import { ConfigLoader } from './config.loader.js';
import { CONFIG_SCHEMA } from './config.constants.js';

/** The schema (for ConfigLoader) and the configuration object, injectable by its class. */
export function createSchemaProviders(schema: Type<object> | undefined): Provider[] {
  if (typeof schema !== 'function') {
    throw new KmsConfigurationError(
      'NestKmsConfigModule needs { schema }: the configuration class whose fields it resolves',
    );
  }
  return [
    { provide: CONFIG_SCHEMA, useValue: schema },
    {
      provide: schema,
      useFactory: (loader: ConfigLoader) => loader.config,
      inject: [ConfigLoader],
    },
  ];
}
