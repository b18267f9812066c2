import { KmsConfigurationError, KmsError, NestKmsError } from '@nest-kms/kms';
import { SecretNotFoundError, SecretsError } from '@nest-kms/secrets';
import { ConfigError, UnknownConfigKeyError } from '@nest-kms/config';

describe('error roots', () => {
  it('one instanceof NestKmsError catches every library’s errors, each under its own base', () => {
    const errors = [
      new KmsConfigurationError('x'),
      new SecretNotFoundError('API_KEY'),
      new UnknownConfigKeyError('AppConfig', 'missing'),
    ];
    for (const error of errors) expect(error).toBeInstanceOf(NestKmsError);
    expect(errors.map((error) => error.code)).toEqual([
      'KMS_CONFIGURATION',
      'SECRET_NOT_FOUND',
      'CONFIG_UNKNOWN_KEY',
    ]);
    expect(errors.map((error) => error instanceof KmsError)).toEqual([true, false, false]);
    expect(errors.map((error) => error instanceof SecretsError)).toEqual([false, true, false]);
    expect(errors.map((error) => error instanceof ConfigError)).toEqual([false, false, true]);
    expect(errors.map((error) => error.name)).toEqual([
      'KmsConfigurationError',
      'SecretNotFoundError',
      'UnknownConfigKeyError',
    ]);
  });
});
