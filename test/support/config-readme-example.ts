import { Injectable, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { IsInt, IsString, IsUrl, Max, Min, MinLength } from 'class-validator';
import { KmsModule } from '@nest-kms/kms';
import { SecretsModule } from '@nest-kms/secrets';
import { FromEnv, FromSecret, KmsConfigModule, Sensitive } from '@nest-kms/config';

export class AppConfig {
  @FromEnv('PORT') @IsInt() @Min(1) @Max(65535) port = 3000;

  @FromSecret('JWT_SECRET') @IsString() @MinLength(32) jwtSecret: string;

  // Mid-migration: the store first, the old environment variable while it is still there.
  @FromSecret('DATABASE_URL', { fallbackToEnv: true })
  @IsUrl({ protocols: ['postgres'], require_tld: false })
  databaseUrl: string;

  @FromEnv('SMTP_PASSWORD') @Sensitive() @IsString() smtpPassword: string;
}

@Injectable()
export class TokenSigner {
  constructor(private readonly config: AppConfig) {}

  /** Always the current JWT_SECRET: a rotation shows here without a restart. */
  signingKey(): string {
    return this.config.jwtSecret;
  }
}

@Module({
  imports: [
    ConfigModule.forRoot(), // the app's own .env handling, unchanged
    KmsModule.forRoot({ connection: { type: 'postgres', url: process.env.KMS_DATABASE_URL } }),
    SecretsModule.forRoot(),
    KmsConfigModule.forRoot({ schema: AppConfig }),
  ],
  providers: [TokenSigner],
})
export class AppModule {}
