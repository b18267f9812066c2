import { ConfigError } from './config.error.js';

/**
 * Why withFreshValueOnAuthFailure gave up: `unchanged`, the store holds no newer value than
 * the one refused; `refused`, the store's newer value did not pass the schema (it was not
 * used); `rejected-again`, the newer value was refused too.
 */
export type CredentialsRejectedReason = 'unchanged' | 'refused' | 'rejected-again';

/**
 * The credentials of a configuration field were refused by what they unlock (a database, an
 * API) and reading the secrets store afresh did not help. `cause` is the last refusal. Never
 * carries the value.
 */
export class ConfigCredentialsRejectedError extends ConfigError {
  readonly code = 'CONFIG_CREDENTIALS_REJECTED';
  constructor(
    /** The schema class's name. */
    readonly schema: string,
    /** The field whose value was refused. */
    readonly field: string,
    /** The secret the field is bound to. */
    readonly secret: string,
    /** Why nothing newer helped. */
    readonly reason: CredentialsRejectedReason,
    options: { cause: unknown },
  ) {
    super(
      `${schema}.${field} (secret ${secret}) was refused as credentials; ${explain(reason)}`,
      options,
    );
  }
}

function explain(reason: CredentialsRejectedReason): string {
  switch (reason) {
    case 'unchanged':
      return 'the secrets store holds no newer value: rotate the secret to the credentials the other side accepts';
    case 'refused':
      return 'the newer value in the secrets store does not pass the schema and was not used (see config_field_rejected in the log)';
    case 'rejected-again':
      return "the newest value in the secrets store was refused too: the secret and the other side's credentials differ";
  }
}
