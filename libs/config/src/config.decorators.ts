import { Inject, type Type } from '@nestjs/common';
import type {
  FromEnvOptions,
  FromSecretOptions,
} from './interfaces/config-field-options.interface.js';
import { declareField } from './metadata/config-field.metadata.js';
import { getConfigServiceToken } from './config.utils.js';

/**
 * Reads the field from environment variable `name` (through @nestjs/config's ConfigService, so
 * `.env` files and `load` factories count), else the class default.
 */
export const FromEnv =
  (name: string, options: FromEnvOptions = {}): PropertyDecorator =>
  (prototype, field) =>
    declareField(prototype, field, (declaration) =>
      declaration.sources.push({ kind: 'env', name, options: { ...options } }),
    );

/**
 * Reads the field from secret `name` in the secrets store; with `fallbackToEnv`, from the
 * environment when the store has no such secret; else the class default. The field is
 * sensitive (masked everywhere) and follows rotations of the secret.
 */
export const FromSecret =
  (name: string, options: FromSecretOptions = {}): PropertyDecorator =>
  (prototype, field) =>
    declareField(prototype, field, (declaration) =>
      declaration.sources.push({ kind: 'secret', name, options: { ...options } }),
    );

/** Masks the field in toJSON, inspect, toString, getStatus() and error messages. */
export const Sensitive = (): PropertyDecorator => (prototype, field) =>
  declareField(prototype, field, (declaration) => {
    declaration.sensitive = true;
  });

/**
 * Injects the KmsConfigService of `schema`: of a `forFeature` registration, or of the
 * `forRoot` one (which is also injectable as plain `KmsConfigService`).
 */
export const InjectConfigService = (schema: Type<object>): ParameterDecorator & PropertyDecorator =>
  Inject(getConfigServiceToken(schema));
