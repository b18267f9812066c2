import 'reflect-metadata';
import { Column, Index } from 'typeorm';
import { KmsConfigurationError } from '../errors/kms-configuration.error.js';
import { inferValueType, type EncryptedValueType } from './column-value.js';
import { GuardedColumnTransformer } from './sealed-value.js';

/** Context a row adds to its values' binding (tenant, owner…): a flat map of strings. */
export type RowAad<Row> = (row: Row) => Readonly<Record<string, string>>;

/** The tenant a row belongs to (e.g. `(row) => row.tenantId`); null or undefined: none named. */
export type RowTenant<Row> = (row: Row) => string | null | undefined;

export interface BlindIndexOptions {
  /** A unique index on the blind index: two rows cannot hold equal (normalised) values. */
  unique?: boolean;
  /**
   * Maps a string to the form that is compared (default: Unicode NFC, trimmed, lower-cased, so
   * `" Ann@Example.com"` finds `"ann@example.com"`). Other types compare by their exact value.
   */
  normalize?: (value: string) => string;
}

// oxlint-disable-next-line typescript/no-explicit-any -- a decorator cannot see its class: an unannotated `aad: (row) => …` must still compile
export interface EncryptedColumnOptions<Row = any> {
  /**
   * The value's type. Inferred from a plain `string`, `number`, `boolean`, `Date` or `Buffer`
   * property; give it for anything else (`string | null` is emitted as Object, like a JSON object).
   */
  type?: EncryptedValueType;
  /**
   * Context added to the binding every value already has (table, column, row's primary key):
   * a value decrypts only where this function answers the same.
   */
  aad?: RowAad<Row>;
  /**
   * The tenant whose data keys seal the value (KmsService's per-tenant keys), read from the row:
   * the tenant is bound to the value like the rest of the row, and the column's blind index is
   * keyed per tenant. A value cannot be written while the row names no tenant
   * (ColumnWriteError); destroyTenant() makes the tenant's values unreadable for good.
   */
  tenant?: RowTenant<Row>;
  /** Database column name (default: TypeORM's naming strategy). */
  name?: string;
  /** Whether the column accepts null (default false, as `@Column`). Null is stored as NULL. */
  nullable?: boolean;
  /**
   * Keeps an HMAC of the value in the companion column `<property>BlindIndex` (indexed) for
   * equality lookups with findByBlindIndex(). The HMAC key derives from the keyring's index
   * root key, or, for a `tenant` column, from the tenant's first data key.
   */
  blindIndex?: boolean | BlindIndexOptions;
  /**
   * While migrating a table to encryption: reads accept values that are not envelopes
   * (Rails' `support_unencrypted_data`). Writes always encrypt. Turn off once
   * encryptExistingRows() has run; plaintext is then refused.
   */
  allowPlaintext?: boolean;
}

/** What the decorator recorded about one encrypted property. */
export interface EncryptedColumnSpec {
  /** The class that declared the property (an entity or one of its base classes). */
  readonly target: Function;
  readonly property: string;
  readonly type: EncryptedValueType;
  readonly aad: RowAad<Record<string, unknown>> | undefined;
  readonly tenant: RowTenant<Record<string, unknown>> | undefined;
  readonly allowPlaintext: boolean;
  readonly blindIndex: { property: string; normalize: (value: string) => string } | undefined;
}

const declared = new Map<Function, EncryptedColumnSpec[]>();

/** Blind index companion property of an encrypted property. */
export function blindIndexProperty(property: string): string {
  return `${property}BlindIndex`;
}

export function normalizeForBlindIndex(value: string): string {
  return value.normalize('NFC').trim().toLowerCase();
}

/**
 * A property stored encrypted: an envelope (`kms2.column.…`) in one text column, bound to its table,
 * column and row, sealed on save and opened on load by the KMS attached to the DataSource.
 */
// oxlint-disable-next-line typescript/no-explicit-any -- as EncryptedColumnOptions
export function EncryptedColumn<Row = any>(
  options: EncryptedColumnOptions<Row> = {},
): PropertyDecorator {
  return (prototype, key) => {
    const target = prototype.constructor;
    if (typeof key !== 'string') {
      throw new KmsConfigurationError(`@EncryptedColumn on ${target.name} needs a string key`);
    }
    const type = options.type ?? inferValueType(Reflect.getMetadata('design:type', prototype, key));
    if (!type) {
      throw new KmsConfigurationError(
        `@EncryptedColumn ${target.name}.${key}: give its type (string, buffer, number, boolean, date or json)`,
      );
    }
    const blind = options.blindIndex === true ? {} : options.blindIndex || undefined;
    const spec: EncryptedColumnSpec = {
      target,
      property: key,
      type,
      aad: options.aad as RowAad<Record<string, unknown>> | undefined,
      tenant: options.tenant as RowTenant<Record<string, unknown>> | undefined,
      allowPlaintext: options.allowPlaintext ?? false,
      blindIndex: blind && {
        property: blindIndexProperty(key),
        normalize: blind.normalize ?? normalizeForBlindIndex,
      },
    };
    const specs = declared.get(target) ?? [];
    specs.push(spec);
    declared.set(target, specs);
    Column({
      type: 'text',
      name: options.name,
      nullable: options.nullable ?? false,
      transformer: new GuardedColumnTransformer(spec),
    })(prototype, key);
    if (spec.blindIndex) {
      Column({ type: 'varchar', length: 64, nullable: true })(prototype, spec.blindIndex.property);
      Index({ unique: blind?.unique ?? false })(prototype, spec.blindIndex.property);
    }
  };
}

/** The encrypted properties of an entity class, its base classes' included. */
export function encryptedColumnsOf(entity: Function): EncryptedColumnSpec[] {
  const specs: EncryptedColumnSpec[] = [];
  for (let at: unknown = entity; typeof at === 'function'; at = Object.getPrototypeOf(at)) {
    specs.push(...(declared.get(at as Function) ?? []));
  }
  return specs;
}
