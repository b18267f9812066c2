/**
 * One health check's result, `{ [key]: { status, ...details } }`: the shape of Terminus's
 * HealthIndicatorResult, so KmsHealthIndicator's checks go straight into HealthCheckService.check().
 */
export type KmsHealthResult<Key extends string> = Record<
  Key,
  { status: 'up' | 'down'; [detail: string]: unknown }
>;

/** Options of KmsHealthIndicator.isDatabaseUp(). */
export interface KmsDatabaseHealthOptions {
  /**
   * Reports down (`reason: 'timeout'`) when the read has not answered after this long.
   * @default none: the `database` option's time limits apply
   */
  timeoutMs?: number;
}
