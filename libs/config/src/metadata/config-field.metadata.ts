import { CONFIG_FIELDS_METADATA } from '../config.constants.js';
import type {
  FromEnvOptions,
  FromSecretOptions,
} from '../interfaces/config-field-options.interface.js';

export type SourceDeclaration =
  | { readonly kind: 'env'; readonly name: string; readonly options: FromEnvOptions }
  | { readonly kind: 'secret'; readonly name: string; readonly options: FromSecretOptions };

/** What the decorators recorded for one field of a schema class. */
export interface FieldDeclaration {
  readonly field: string | symbol;
  /** One normally; more is a declaration problem reported at start-up. */
  readonly sources: SourceDeclaration[];
  sensitive: boolean;
}

type Declarations = Map<string | symbol, FieldDeclaration>;

/** Records a decorator on `prototype[field]` (own metadata of the class, so subclasses add to it). */
export function declareField(
  prototype: object,
  field: string | symbol,
  update: (declaration: FieldDeclaration) => void,
): void {
  const schema = prototype.constructor;
  let own = Reflect.getOwnMetadata(CONFIG_FIELDS_METADATA, schema) as Declarations | undefined;
  if (!own) {
    own = new Map();
    Reflect.defineMetadata(CONFIG_FIELDS_METADATA, own, schema);
  }
  let declaration = own.get(field);
  if (!declaration) {
    declaration = { field, sources: [], sensitive: false };
    own.set(field, declaration);
  }
  update(declaration);
}

/** Every declared field of `schema`, base classes first; a subclass's declaration replaces its base's. */
export function readFieldDeclarations(schema: Function): FieldDeclaration[] {
  const chain: Function[] = [];
  for (let type: unknown = schema; typeof type === 'function' && type !== Function.prototype;) {
    chain.unshift(type);
    type = Object.getPrototypeOf(type);
  }
  const merged: Declarations = new Map();
  for (const type of chain) {
    const own = Reflect.getOwnMetadata(CONFIG_FIELDS_METADATA, type) as Declarations | undefined;
    for (const [field, declaration] of own ?? []) merged.set(field, declaration);
  }
  return [...merged.values()];
}
