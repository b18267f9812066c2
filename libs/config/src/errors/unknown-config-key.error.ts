import { quotedInput } from '@nest-kms/kms';
import { ConfigError } from './config.error.js';

/** KmsConfigService.get() was given a name that is neither a field nor a bound secret or variable. */
export class UnknownConfigKeyError extends ConfigError {
  readonly code = 'CONFIG_UNKNOWN_KEY';
  constructor(
    readonly schema: string,
    readonly key: string,
  ) {
    super(`${schema} has no field, secret or environment variable named ${quotedInput(key)}`);
  }
}
