import { QueryFailedError } from 'typeorm';
import { databaseUnavailableReason } from './database-availability.js';

const withCode = (code: string, message = 'driver message quoting a row'): Error =>
  Object.assign(new Error(message), { code });
const wrapped = (driverError: Error): QueryFailedError =>
  new QueryFailedError('SELECT 1', [], driverError);

describe('databaseUnavailableReason', () => {
  it('names unreachable databases, dropped connections and timeouts by code or a fixed phrase', () => {
    expect(databaseUnavailableReason(withCode('ECONNREFUSED'))).toBe('ECONNREFUSED');
    expect(databaseUnavailableReason(wrapped(withCode('57P01')))).toBe('57P01');
    expect(databaseUnavailableReason(wrapped(withCode('08006')))).toBe('08006');
    expect(databaseUnavailableReason(wrapped(withCode('57014')))).toBe('statement timeout (57014)');
    expect(databaseUnavailableReason(wrapped(withCode('SQLITE_BUSY')))).toBe('SQLITE_BUSY');
    expect(databaseUnavailableReason(wrapped(new Error('Query read timeout')))).toBe(
      'query timeout',
    );
    expect(databaseUnavailableReason(new Error('timeout exceeded when trying to connect'))).toBe(
      'connect timeout',
    );
    expect(
      databaseUnavailableReason(
        new Error('outer', { cause: new Error('Connection terminated unexpectedly') }),
      ),
    ).toBe('connection lost');
  });

  it('leaves every other failure alone', () => {
    for (const error of [
      wrapped(withCode('23505')),
      wrapped(withCode('42P01')),
      wrapped(withCode('SQLITE_CONSTRAINT_UNIQUE')),
      new TypeError('x is undefined'),
      undefined,
      'a string',
    ]) {
      expect(databaseUnavailableReason(error)).toBeUndefined();
    }
  });
});
