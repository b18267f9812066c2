import type { OutputStream } from './cli-output.js';

export interface ProgressState {
  readonly done: number;
  readonly failed: number;
  readonly total: number;
  readonly perSecond: number;
}

const BAR_WIDTH = 30;
const ERASE_TO_END_OF_LINE = '\x1b[K';

/**
 * Progress on stderr: on a terminal one bar redrawn in place with `\r`; elsewhere (a pipe, a
 * log file) plain lines, at most one per `lineEveryMs`, and always the last state at the end.
 */
export class ProgressBar {
  private lastLineAt = Number.NEGATIVE_INFINITY;
  private unprinted: ProgressState | undefined;
  private drawn = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly label: string,
    private readonly clock: () => number = Date.now,
    private readonly lineEveryMs = 1_000,
  ) {}

  update(state: ProgressState): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r${this.bar(state)}${ERASE_TO_END_OF_LINE}`);
      this.drawn = true;
      return;
    }
    const now = this.clock();
    if (now - this.lastLineAt < this.lineEveryMs) {
      this.unprinted = state;
      return;
    }
    this.lastLineAt = now;
    this.unprinted = undefined;
    this.stream.write(`${this.text(state)}\n`);
  }

  /** Ends the bar's line, or prints the last state a throttled line skipped. */
  finish(): void {
    if (this.drawn) this.stream.write('\n');
    else if (this.unprinted !== undefined) this.stream.write(`${this.text(this.unprinted)}\n`);
    this.drawn = false;
    this.unprinted = undefined;
  }

  private bar(state: ProgressState): string {
    const filled = Math.round(BAR_WIDTH * fraction(state));
    const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
    return `${this.label} [${bar}] ${this.counts(state)}`;
  }

  private text(state: ProgressState): string {
    return `nest-kms: ${this.label} ${this.counts(state)}`;
  }

  private counts({ done, failed, total, perSecond }: ProgressState): string {
    const percent = Math.floor(100 * fraction({ done, failed, total, perSecond }));
    const failures = failed > 0 ? `, ${failed} failed` : '';
    return `${done}/${total} (${percent}%)${failures}, ${Math.round(perSecond)}/s`;
  }
}

function fraction({ done, failed, total }: ProgressState): number {
  return total <= 0 ? 1 : Math.min(1, (done + failed) / total);
}
