import { SecretExpiredError } from '@nest-kms/secrets';
import type { FieldPlan } from '../schema/config-plan.js';
import { resolveField, type SourceReaders } from './field-resolver.js';

const plan = (overrides: Partial<FieldPlan>): FieldPlan => ({
  field: 'apiKey',
  sensitive: true,
  valueType: { type: 'string' },
  secret: 'API_KEY',
  env: null,
  importEnv: 'API_KEY',
  defaultValue: undefined,
  optional: false,
  ...overrides,
});

/** Sources as plain maps: what the store and the environment hold. */
function readers(
  store: Record<string, string | Error>,
  env: Record<string, unknown>,
): SourceReaders {
  return {
    secret: async (name) => {
      const value = store[name];
      if (value instanceof Error) throw value;
      return value;
    },
    env: (name) => env[name],
  };
}

const now = new Date(0);

describe('resolveField', () => {
  it('takes the store first, then the allowed environment variable, then the default', async () => {
    const withFallback = plan({ env: 'API_KEY', defaultValue: 'dflt' });
    const sources = async (store: Record<string, string>, env: Record<string, string>) => {
      const result = await resolveField(withFallback, readers(store, env), now);
      return result.ok ? [result.state.source, result.state.value] : result.problem.kind;
    };
    expect(await sources({ API_KEY: 'stored' }, { API_KEY: 'env' })).toEqual(['secret', 'stored']);
    expect(await sources({}, { API_KEY: 'env' })).toEqual(['env', 'env']);
    expect(await sources({}, { API_KEY: '' })).toEqual(['default', 'dflt']);
    expect(await sources({}, {})).toEqual(['default', 'dflt']);
  });

  it('never reads the environment for a secret without fallbackToEnv', async () => {
    const result = await resolveField(plan({}), readers({}, { API_KEY: 'env' }), now);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toMatchObject({ kind: 'missing', field: 'apiKey' });
  });

  it('does not fall back past a secret that exists but cannot be read', async () => {
    const expired = new SecretExpiredError('API_KEY', new Date(0));
    const result = await resolveField(
      plan({ env: 'API_KEY', defaultValue: 'dflt' }),
      readers({ API_KEY: expired }, { API_KEY: 'env' }),
      now,
    );
    expect(!result.ok && result.problem).toMatchObject({
      kind: 'unavailable',
      source: 'secret',
      key: 'API_KEY',
      code: 'SECRET_EXPIRED',
    });
  });

  it('reports a driver failure by its name only', async () => {
    const failure = new Error('connection to postgres://u:pw@host failed');
    const result = await resolveField(plan({}), readers({ API_KEY: failure }, {}), now);
    expect(!result.ok && result.problem.constraints.unavailable).toBe(
      'the store could not be read (Error)',
    );
    expect(!result.ok && result.problem.code).toBe('UNEXPECTED');
  });

  it('leaves an optional field unset, and refuses a required one', async () => {
    const optional = await resolveField(plan({ optional: true }), readers({}, {}), now);
    expect(optional.ok && optional.state).toMatchObject({ source: 'unset', value: undefined });
    const env = plan({ secret: null, env: 'PORT', valueType: { type: 'number' } });
    const missing = await resolveField(env, readers({}, {}), now);
    expect(!missing.ok && missing.problem.constraints.missing).toBe(
      'environment variable PORT is not set, and no default',
    );
  });

  it('turns a value that does not convert into a problem naming the source', async () => {
    const port = plan({ field: 'port', secret: null, env: 'PORT', valueType: { type: 'number' } });
    const result = await resolveField(port, readers({}, { PORT: 'eighty' }), now);
    expect(!result.ok && result.problem).toEqual({
      field: 'port',
      kind: 'conversion',
      source: 'env',
      key: 'PORT',
      constraints: { number: 'port is not a number' },
    });
  });
});
