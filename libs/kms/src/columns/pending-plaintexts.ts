import type { QueryRunner } from 'typeorm';

type Row = Record<string, unknown>;

/** Marks a property that was absent before sealing (restored by deleting it). */
export const ABSENT = Symbol('absent');

/**
 * The plaintexts entities held before their values were sealed for a write: the caller's object
 * gets them back after the write, or after its transaction rolls back, so an entity never keeps
 * an envelope where the application put a value.
 */
export class PendingPlaintexts {
  private readonly originals = new WeakMap<object, Map<string, unknown>>();
  private readonly pending = new WeakMap<QueryRunner, Set<object>>();

  /** Keeps `entity[property]`'s value before sealing (the first one, if sealed twice). */
  remember(entity: Row, property: string, value: unknown, runner: QueryRunner): void {
    let held = this.originals.get(entity);
    if (!held) {
      held = new Map();
      this.originals.set(entity, held);
      let entities = this.pending.get(runner);
      if (!entities) this.pending.set(runner, (entities = new Set()));
      entities.add(entity);
    }
    if (!held.has(property)) held.set(property, value);
  }

  /** Puts back what `entity` held before sealing. */
  restore(entity: Row, runner?: QueryRunner): void {
    const held = this.originals.get(entity);
    if (!held) return;
    this.originals.delete(entity);
    if (runner) this.pending.get(runner)?.delete(entity);
    for (const [property, value] of held) {
      if (value === ABSENT) delete entity[property];
      else entity[property] = value;
    }
  }

  /** Puts back every entity a rolled-back transaction had sealed values in. */
  rolledBack(runner: QueryRunner): void {
    const entities = this.pending.get(runner);
    if (!entities) return;
    this.pending.delete(runner);
    for (const entity of entities) this.restore(entity as Row);
  }
}
