import { IsInt, IsString } from 'class-validator';
import { inspect } from 'node:util';
import { ConfigState, fingerprint, type FieldState } from '../config-state.js';
import { FromEnv, FromSecret, Sensitive } from '../config.decorators.js';
import { MASK } from '../config.messages.js';
import { ConfigNotLoadedError } from '../errors/config-not-loaded.error.js';
import type { ConfigSource } from '../interfaces/config-status.interface.js';
import { planConfig } from '../schema/config-plan.js';
import { createConfigObject } from './config-object.js';

const JWT = 'jwt-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const PASSWORD = 'hunter2-but-longer';

class AppConfig {
  @FromEnv('PORT') @IsInt() port = 3000;
  @FromSecret('JWT_SECRET') @IsString() jwtSecret: string;
  @FromEnv('DB_PASSWORD') @Sensitive() @IsString() dbPassword: string;
  region = 'eu-west-1';

  get isDefaultPort(): boolean {
    return this.port === 3000;
  }
}

function loaded(values: Record<string, [unknown, ConfigSource]>) {
  const plan = planConfig(AppConfig, new AppConfig());
  const state = new ConfigState('AppConfig', plan.fields);
  const config = createConfigObject(AppConfig, state);
  const at = new Date(0);
  const fields = new Map<string, FieldState>(
    Object.entries(values).map(([field, [value, source]]) => [
      field,
      { value, source, key: null, fingerprint: fingerprint(value), updatedAt: at },
    ]),
  );
  state.load(fields, at);
  return { config, state };
}

describe('the configuration object', () => {
  const { config, state } = loaded({
    port: [8080, 'env'],
    jwtSecret: [JWT, 'secret'],
    dbPassword: [PASSWORD, 'env'],
  });
  const shown = (text: string) => {
    expect(text).not.toContain(JWT);
    expect(text).not.toContain(PASSWORD);
    return text;
  };

  it('returns real values on property access, getters of the class included', () => {
    expect(config.port).toBe(8080);
    expect(config.jwtSecret).toBe(JWT);
    expect(config.dbPassword).toBe(PASSWORD);
    expect(config.region).toBe('eu-west-1');
    expect(config.isDefaultPort).toBe(false);
    expect(config).toBeInstanceOf(AppConfig);
  });

  it('masks sensitive fields in JSON, in declaration order', () => {
    expect(shown(JSON.stringify(config))).toBe(
      JSON.stringify({ port: 8080, jwtSecret: MASK, dbPassword: MASK, region: 'eu-west-1' }),
    );
    expect(shown(JSON.stringify({ nested: { config } }))).toContain(`"jwtSecret":"${MASK}"`);
  });

  it('masks them in util.inspect, String() and template literals', () => {
    const inspected = shown(inspect(config, { breakLength: Infinity }));
    expect(inspected).toBe(
      `AppConfig { port: 8080, jwtSecret: '${MASK}', dbPassword: '${MASK}', region: 'eu-west-1' }`,
    );
    expect(shown(inspect({ deep: { deeper: { config } } }, { depth: 0 }))).not.toContain('8080');
    expect(shown(String(config))).toContain(`"jwtSecret":"${MASK}"`);
    expect(shown(`${config}`)).toMatch(/^AppConfig \{/);
  });

  it('keeps sensitive fields out of keys, spread and structuredClone', () => {
    expect(Object.keys(config)).toEqual(['port', 'region']);
    expect({ ...config }).toEqual({ port: 8080, region: 'eu-west-1' });
    expect(shown(JSON.stringify(structuredClone(config)))).toBe(
      '{"port":8080,"region":"eu-west-1"}',
    );
    expect('jwtSecret' in config).toBe(true);
  });

  it('is read-only: the values change only through rotation', () => {
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.port).toBe(8080);
  });

  it('masks sensitive values in the status and shows the others', () => {
    const status = state.status();
    expect(status.fields.jwtSecret.value).toBe(MASK);
    expect(status.fields.dbPassword.value).toBe(MASK);
    expect(status.fields.port.value).toBe(8080);
    expect(shown(JSON.stringify(status))).toContain('"sensitive":true');
  });
});

describe('the configuration object before loading', () => {
  const plan = planConfig(AppConfig, new AppConfig());
  const state = new ConfigState('AppConfig', plan.fields);
  const config = createConfigObject(AppConfig, state);

  it('refuses reads with a typed error instead of returning a partial configuration', () => {
    expect(() => config.port).toThrow(ConfigNotLoadedError);
    expect(() => config.jwtSecret).toThrow(/AppConfig\.jwtSecret was read before/);
  });

  it('can still be logged', () => {
    expect(inspect(config)).toContain("port: '(not loaded)'");
    expect(state.status().loaded).toBe(false);
  });
});
