import { inspect, type InspectOptions } from 'node:util';
import { shown, type ConfigState } from '../config-state.js';

/**
 * The injected configuration object: an instance of the schema class whose bound fields are
 * read-only getters over `state` (so a rotation shows at once). Sensitive fields are
 * non-enumerable (spread, Object.keys and structuredClone skip them) and masked in toJSON(),
 * toString() and util.inspect; reading `config.jwtSecret` returns the real value.
 */
export function createConfigObject<T extends object>(schema: new () => T, state: ConfigState): T {
  const config = new schema();
  for (const plan of state.plans) {
    Object.defineProperty(config, plan.field, {
      get: () => state.value(plan.field),
      enumerable: !plan.sensitive,
      configurable: false,
    });
  }
  const view = (): Record<string, unknown> => maskedView(config, state);
  const methods: PropertyDescriptorMap = {
    toJSON: { value: view },
    toString: { value: () => `${schema.name} ${JSON.stringify(view())}` },
    [inspect.custom]: {
      value: (depth: number, options: InspectOptions) =>
        depth < 0 ? `[${schema.name}]` : `${schema.name} ${inspect(view(), options)}`,
    },
  };
  Object.defineProperties(config, methods);
  return config;
}

/** The fields as they may be shown, in declaration order; before loading, a marker for bound fields. */
function maskedView(config: object, state: ConfigState): Record<string, unknown> {
  const plans = new Map(state.plans.map((plan) => [plan.field, plan]));
  const view: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(config)) {
    const plan = plans.get(key);
    if (plan) {
      view[key] = state.loaded ? shown(state.value(key), plan.sensitive) : '(not loaded)';
    } else if (Object.prototype.propertyIsEnumerable.call(config, key)) {
      view[key] = (config as Record<string, unknown>)[key];
    }
  }
  return view;
}
