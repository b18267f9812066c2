/** Injection token of the SecretRef of `name` (see SecretsModule.forFeature and @InjectSecret). */
export const getSecretToken = (name: string): string => `nest-kms:secret(${name})`;
