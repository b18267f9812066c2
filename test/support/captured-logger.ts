import { ConsoleLogger } from '@nestjs/common';

/**
 * Records every log call (message and context) as JSON text, so a suite can scan all of its
 * log output for secrets, keys and plaintexts.
 */
export class CapturedLogger extends ConsoleLogger {
  readonly lines: string[] = [];

  constructor() {
    super('test', { json: true });
  }

  protected override printMessages(messages: unknown[], context = '', logLevel = 'log'): void {
    for (const message of messages) {
      this.lines.push(JSON.stringify({ level: logLevel, context, message }, bufferAware));
    }
  }

  override printStackTrace(stack: string): void {
    this.lines.push(JSON.stringify({ stack }));
  }

  /** Every recorded line, joined: what a scan for leaked values reads. */
  text(): string {
    return this.lines.join('\n');
  }

  events(name: string): Record<string, unknown>[] {
    return this.lines
      .map((line) => JSON.parse(line) as { message: unknown })
      .map((line) => line.message)
      .filter(
        (m): m is Record<string, unknown> =>
          typeof m === 'object' && m !== null && (m as { event?: unknown }).event === name,
      );
  }
}

function bufferAware(_key: string, value: unknown): unknown {
  return value;
}
