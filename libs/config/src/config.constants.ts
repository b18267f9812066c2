/** Injection token of the schema class given to KmsConfigModule. */
export const CONFIG_SCHEMA = Symbol('nest-kms:config-schema');
/** Injection token of the schema's plan: its fields, where each comes from, declaration problems. */
export const CONFIG_PLAN = Symbol('nest-kms:config-plan');
/** Injection token of the resolved (defaults merged) options. */
export const CONFIG_RESOLVED_OPTIONS = Symbol('nest-kms:config-resolved-options');
/** Reflect metadata key under which a schema class keeps its field declarations. */
export const CONFIG_FIELDS_METADATA = 'nest-kms:config-fields';
