/** How an environment or secret text becomes the field's value. */
export type ConfigValueType = 'string' | 'number' | 'boolean' | 'date' | 'json';

export interface FromEnvOptions {
  /**
   * How the text is converted.
   * @default from the field's TypeScript type (design:type); for a union or an unannotated
   * field, from the type of its class default
   */
  type?: ConfigValueType;
}

export interface FromSecretOptions extends FromEnvOptions {
  /**
   * When the store has no such secret, read the environment variable `envName` instead. A
   * warning names the field each time this happens (migration aid, not a permanent setup).
   * @default false
   */
  fallbackToEnv?: boolean;
  /**
   * The environment variable that held this secret before migration: read by `fallbackToEnv`
   * and by `importFromEnv()`.
   * @default the secret's name
   */
  envName?: string;
}
