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
}

/** For `KmsConfigModule.forRootAsync({ useClass })`. */
export interface KmsConfigOptionsFactory {
  createConfigOptions(): Promise<KmsConfigModuleOptions> | KmsConfigModuleOptions;
}
