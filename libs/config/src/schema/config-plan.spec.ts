import { IsOptional, IsString } from 'class-validator';
import { FromEnv, FromSecret, Sensitive } from '../config.decorators.js';
import { planConfig } from './config-plan.js';

class Base {
  @FromEnv('REGION') region = 'eu';
}

class Schema extends Base {
  @FromSecret('API_KEY', { fallbackToEnv: true, envName: 'LEGACY_API_KEY' }) apiKey: string;
  @FromSecret('JWT_SECRET') jwtSecret: string;
  @FromEnv('TIMEOUT_MS') @Sensitive() timeoutMs = 500;
  @FromEnv('NAME') @IsOptional() @IsString() name?: string;
}

class Broken {
  @FromEnv('') empty: string;
  @FromSecret('not a name') spaced: string;
  @FromSecret('OK', { envName: '' }) badEnv: string;
  @FromEnv('A') @FromSecret('B') both: string;
  @FromEnv('X') unknownType: string | number;
}

describe('planConfig', () => {
  it('completes each field: sources, env fallback, sensitivity, type, default, optional', () => {
    const { fields, problems } = planConfig(Schema, new Schema());
    expect(problems).toEqual([]);
    const byField = Object.fromEntries(fields.map((field) => [field.field, field]));
    expect(fields.map((field) => field.field)).toEqual([
      'region',
      'apiKey',
      'jwtSecret',
      'timeoutMs',
      'name',
    ]);
    expect(byField.apiKey).toMatchObject({
      secret: 'API_KEY',
      env: 'LEGACY_API_KEY',
      importEnv: 'LEGACY_API_KEY',
      sensitive: true,
    });
    expect(byField.jwtSecret).toMatchObject({
      secret: 'JWT_SECRET',
      env: null,
      importEnv: 'JWT_SECRET',
    });
    expect(byField.timeoutMs).toMatchObject({ sensitive: true, defaultValue: 500 });
    expect(byField.timeoutMs.valueType).toEqual({ type: 'number' });
    expect(byField.name.optional).toBe(true);
    expect(byField.region.optional).toBe(false);
  });

  it('reports every declaration problem of every field', () => {
    const { fields, problems } = planConfig(Broken, new Broken());
    expect(fields).toEqual([]);
    expect(problems.map((problem) => [problem.field, Object.keys(problem.constraints)])).toEqual([
      ['empty', ['envName']],
      ['spaced', ['secretName']],
      ['badEnv', ['envName']],
      ['both', ['sources']],
      ['unknownType', ['type']],
    ]);
    expect(problems.every((problem) => problem.kind === 'declaration')).toBe(true);
  });

  it("puts a registration's prefixes before every environment and secret name", () => {
    const { fields, problems } = planConfig(Schema, new Schema(), {
      env: 'REPORTING_',
      secret: 'reporting/',
    });
    expect(problems).toEqual([]);
    const byField = Object.fromEntries(fields.map((field) => [field.field, field]));
    expect(byField.region).toMatchObject({ env: 'REPORTING_REGION', secret: null });
    expect(byField.apiKey).toMatchObject({
      secret: 'reporting/API_KEY',
      env: 'REPORTING_LEGACY_API_KEY',
      importEnv: 'REPORTING_LEGACY_API_KEY',
    });
    // The variable keeps the declared name, not the secret's prefix.
    expect(byField.jwtSecret).toMatchObject({
      secret: 'reporting/JWT_SECRET',
      env: null,
      importEnv: 'REPORTING_JWT_SECRET',
    });
  });

  it('still refuses a name that is invalid as declared, whatever the prefix', () => {
    const { problems } = planConfig(Broken, new Broken(), { env: 'P_', secret: 'p/' });
    expect(problems.map((problem) => [problem.field, Object.keys(problem.constraints)])).toEqual([
      ['empty', ['envName']],
      ['spaced', ['secretName']],
      ['badEnv', ['envName']],
      ['both', ['sources']],
      ['unknownType', ['type']],
    ]);
  });
});
