import { TimeWindow } from './time-window.js';

/** One TimeWindow per actor or key, dropped once nothing in it is recent. */
export class KeyedWindows {
  private readonly windows = new Map<string, TimeWindow>();

  constructor(entries: readonly (readonly [string, readonly number[]])[] = []) {
    for (const [key, times] of entries) this.windows.set(key, new TimeWindow(times));
  }

  /** Adds `at` under `key` (dropping that key's times before `horizon`); returns the window. */
  add(key: string, at: number, horizon: number): TimeWindow {
    let window = this.windows.get(key);
    if (window === undefined) {
      window = new TimeWindow();
      this.windows.set(key, window);
    } else {
      window.prune(horizon);
    }
    window.add(at);
    return window;
  }

  get(key: string): TimeWindow | undefined {
    return this.windows.get(key);
  }

  /** Drops every time before `horizon`, and the keys left empty. */
  sweep(horizon: number): void {
    for (const [key, window] of this.windows) {
      if (window.newest < horizon) this.windows.delete(key);
      else window.prune(horizon);
    }
  }

  get size(): number {
    return this.windows.size;
  }

  toJSON(): [string, number[]][] {
    return [...this.windows].map(([key, window]) => [key, window.toJSON()]);
  }
}
