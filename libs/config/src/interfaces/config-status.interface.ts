/** Where a field's value came from. `unset`: an optional field (@IsOptional) with no value anywhere. */
export type ConfigSource = 'secret' | 'env' | 'default' | 'unset';

export interface ConfigFieldStatus {
  source: ConfigSource;
  /** The secret or environment variable that served the value; null for a default or unset field. */
  key: string | null;
  /** The secret the field is bound to (@FromSecret), else null. */
  secret: string | null;
  /** The environment variable the field may read (@FromEnv, or a secret's fallback), else null. */
  env: string | null;
  /** Bound to a secret or marked @Sensitive(): `value` is masked. */
  sensitive: boolean;
  /** The value; `'****'` for a sensitive field that has one. */
  value: unknown;
  /** When the field last took a value. */
  updatedAt: Date | null;
}

export interface ConfigStatus {
  /** The schema class's name. */
  schema: string;
  loaded: boolean;
  loadedAt: Date | null;
  fields: Record<string, ConfigFieldStatus>;
}
