/** Start-up refused: no admin token is stored, set, or (in development) readable from its file. */
export class AdminTokenMissingError extends Error {
  readonly code = 'DEMO_ADMIN_TOKEN_MISSING';

  constructor(file?: string) {
    super(
      file
        ? `${file} holds no usable admin token (at least 16 characters): delete it to generate one, or set ADMIN_TOKEN`
        : 'No admin token in production: store the secret ADMIN_TOKEN, or set the environment variable ADMIN_TOKEN',
    );
    this.name = AdminTokenMissingError.name;
  }
}
