import { ConsoleLogger } from '@nestjs/common';

/**
 * Records every log call (message and context) as JSON text, so a suite can scan all of its
 * log output for secrets, keys and plaintexts. Nest's logger is process-global (the app built
 * last receives every line), so each line is also kept in `CapturedLogger.everything`.
 */
export class CapturedLogger extends ConsoleLogger {
  /** Every line any CapturedLogger of this test file recorded. */
  static readonly everything: string[] = [];
  readonly lines: string[] = [];

  /** All log output of this test file so far: what a leak scan should read. */
  static allText(): string {
    return CapturedLogger.everything.join('\n');
  }

  constructor() {
    super('test', { json: true });
  }

  protected override printMessages(messages: unknown[], context = '', logLevel = 'log'): void {
    for (const message of messages) {
      this.keep(JSON.stringify({ level: logLevel, context, message }));
    }
  }

  override printStackTrace(stack: string): void {
    this.keep(JSON.stringify({ stack }));
  }

  private keep(line: string): void {
    this.lines.push(line);
    CapturedLogger.everything.push(line);
  }

  /** Every recorded line, joined: what a scan for leaked values reads. */
  text(): string {
    return this.lines.join('\n');
  }

  events(name: string): Record<string, unknown>[] {
    return eventsIn(this.lines, name);
  }
}

/**
 * Structured log events named `name` recorded in this test file, from any app (Nest's logger is
 * process-global), from line `since` on (`CapturedLogger.everything.length` marks a moment).
 */
export function loggedEvents(name: string, since = 0): Record<string, unknown>[] {
  return eventsIn(CapturedLogger.everything.slice(since), name);
}

function eventsIn(lines: readonly string[], name: string): Record<string, unknown>[] {
  return lines
    .map((line) => (JSON.parse(line) as { message?: unknown }).message)
    .filter(
      (message): message is Record<string, unknown> =>
        typeof message === 'object' &&
        message !== null &&
        (message as { event?: unknown }).event === name,
    );
}
