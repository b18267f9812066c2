import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import type { EnvelopeColumnSql } from './envelope-column-sql.js';
import type { LegacyEnvelopes } from './legacy-envelopes.js';

/** Runs a counting statement (`SELECT … AS n`) and returns the count. */
export type RowCounter = (statement: [string, unknown[]]) => Promise<number>;

/**
 * What re-encryption does about the stores' values in envelope format v1: moves them to v2 while
 * a store still accepts them, and once a run over every column finds none left in a store,
 * records that the store refuses them from then on.
 */
export class LegacyEnvelopeSweep {
  constructor(
    private readonly legacy: LegacyEnvelopes,
    private readonly countRows: RowCounter,
  ) {}

  /** Whether a run also moves this column's format-v1 values. */
  moves(column: EnvelopeColumnSql): boolean {
    return column.purpose !== undefined && this.legacy.migrating(column.purpose);
  }

  /**
   * After a run over every column: a store none of whose columns holds a format-v1 value any
   * more stops accepting that form (a store with no registered column proves nothing).
   */
  async refuseWhereNoneLeft(columns: readonly EnvelopeColumnSql[]): Promise<void> {
    const left = new Map<EnvelopePurpose, number>();
    for (const column of columns) {
      const purpose = column.purpose;
      if (purpose === undefined || !this.legacy.migrating(purpose)) continue;
      left.set(purpose, (left.get(purpose) ?? 0) + (await this.countRows(column.countLegacy())));
    }
    const done = [...left].filter(([, count]) => count === 0).map(([purpose]) => purpose);
    await this.legacy.refuse(done);
  }
}
