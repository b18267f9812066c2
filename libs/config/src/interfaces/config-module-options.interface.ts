export interface KmsConfigModuleOptions {
  /**
   * Recorded as the actor of the module's secret reads in the secrets audit trail.
   * @default 'nest-kms-config'
   */
  actor?: string;
  /**
   * Follow changes of bound secrets (SecretsService.watch): a rotated secret updates the
   * injected config object and emits on KmsConfigService.changes, without a restart.
   * @default true
   */
  watchSecrets?: boolean;
  /**
   * Load the configuration while providers are constructed, before every provider that injects
   * the schema class or its KmsConfigService: their factories and constructors can read it
   * (`TypeOrmModule.forRootAsync({ inject: [AppConfig], useFactory: (c) => ... })`). The
   * secrets store (and the KMS under it) starts then, instead of during module initialisation,
   * and a refused configuration stops `NestFactory.create()` (or `compile()`). When KmsModule
   * shares an application DataSource, give it the instance through `forRootAsync({ inject })`
   * so that the DataSource is built first (see the README).
   * @default false (loaded during module initialisation)
   */
  loadBeforeDependents?: boolean;
  /**
   * Put before every environment variable name of the schema: with `'REPORTING_'`,
   * `@FromEnv('DB_HOST')` reads `REPORTING_DB_HOST` (and a secret's `envName` likewise).
   * @default '' (names as declared)
   */
  envPrefix?: string;
  /**
   * Put before every secret name of the schema: with `'reporting/'`,
   * `@FromSecret('DB_PASSWORD')` reads the secret `reporting/DB_PASSWORD`.
   * @default '' (names as declared)
   */
  secretPrefix?: string;
}

/** For `KmsConfigModule.forRootAsync({ useClass })`. */
export interface KmsConfigOptionsFactory {
  createConfigOptions(): Promise<KmsConfigModuleOptions> | KmsConfigModuleOptions;
}
