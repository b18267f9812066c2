/** The demo runs without a reporting database until REPORTING_DATABASE_URL and its password are set. */
export class ReportingNotConfiguredError extends Error {
  readonly code = 'REPORTING_NOT_CONFIGURED';
  constructor() {
    super(
      'No reporting database: set REPORTING_DATABASE_URL and store its password as the secret reporting/DB_PASSWORD',
    );
  }
}
