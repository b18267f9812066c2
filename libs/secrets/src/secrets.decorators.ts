import { Inject } from '@nestjs/common';
import { getSecretToken } from './secrets.utils.js';

/** Injects the SecretRef of `name`; list the name in SecretsModule.forFeature([...]) of the module. */
export const InjectSecret = (name: string): ParameterDecorator & PropertyDecorator =>
  Inject(getSecretToken(name));
