import { QueryFailedError } from 'typeorm';
export function isUniqueViolation(error) {
  if (!(error instanceof QueryFailedError)) return false;
  const code = error.driverError?.code;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
//# sourceMappingURL=unique-violation.js.map
