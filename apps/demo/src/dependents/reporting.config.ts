import { IsOptional, IsString, MinLength } from 'class-validator';
import { FromEnv, FromSecret } from '@nest-kms/config';

/** The prefixes of the reporting database's settings: REPORTING_* variables, reporting/* secrets. */
export const REPORTING_PREFIXES = { envPrefix: 'REPORTING_', secretPrefix: 'reporting/' } as const;

/**
 * A second database the demo reports to, registered beside DemoConfig with its own prefixes
 * (KmsConfigModule.forFeature): REPORTING_DATABASE_URL names the server and role (no password),
 * and the secret `reporting/DB_PASSWORD` holds the role's password. Both optional: without
 * them the demo runs with no reporting database.
 */
export class ReportingConfig {
  @FromEnv('DATABASE_URL') @IsOptional() @IsString() url?: string;

  @FromSecret('DB_PASSWORD') @IsOptional() @IsString() @MinLength(8) password?: string;
}
