/** Injection token of the schema class given to KmsConfigModule. */
export const CONFIG_SCHEMA = Symbol('nest-kms:config-schema');
/** Injection token of the schema's plan: its fields, where each comes from, declaration problems. */
export const CONFIG_PLAN = Symbol('nest-kms:config-plan');
/** Injection token of the resolved (defaults merged) options. */
export const CONFIG_RESOLVED_OPTIONS = Symbol('nest-kms:config-resolved-options');
/** Reflect metadata key under which a schema class keeps its field declarations. */
export const CONFIG_FIELDS_METADATA = 'nest-kms:config-fields';
/** Injection token of the resolver that reads secrets from the store itself, not the cache. */
export const CONFIG_FRESH_RESOLVER = Symbol('nest-kms:config-fresh-resolver');
/** Injection token of a registration's KmsConfigService (aliased by the schema's token, and by KmsConfigService for forRoot). */
export const CONFIG_SERVICE = Symbol('nest-kms:config-service');
