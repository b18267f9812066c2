import { IsInt, IsOptional, IsString, Max, Min, MinLength } from 'class-validator';
import { FromEnv, FromSecret } from '@nest-kms/config';

/** The secret holding the bearer token of the admin endpoints. */
export const ADMIN_TOKEN_SECRET = 'ADMIN_TOKEN';

/**
 * The demo's own settings, resolved by @nest-kms/config while the app starts. Inject
 * `DemoConfig` anywhere: `adminToken` follows rotations of its secret without a restart, and
 * shows as `****` in logs and JSON.
 */
export class DemoConfig {
  @FromEnv('PORT') @IsInt() @Min(1) @Max(65535) port = 3000;

  /**
   * The store first; on a first start the environment variable ADMIN_TOKEN (AdminTokenSetup
   * then stores it). Optional here only so that a development start without any token can
   * generate one; AdminTokenSetup refuses a production start without it.
   */
  @FromSecret(ADMIN_TOKEN_SECRET, { fallbackToEnv: true })
  @IsOptional()
  @IsString()
  @MinLength(16)
  adminToken?: string;
}
