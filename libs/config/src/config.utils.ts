import type { Type } from '@nestjs/common';

const tokens = new WeakMap<Type<object>, symbol>();

/**
 * The injection token of the KmsConfigService of `schema`, one per schema class: every
 * registration provides its own (`KmsConfigService` itself is the `forRoot` registration's).
 */
export function getConfigServiceToken(schema: Type<object>): symbol {
  let token = tokens.get(schema);
  if (token === undefined) {
    token = Symbol(`nest-kms:config-service(${schema.name})`);
    tokens.set(schema, token);
  }
  return token;
}
