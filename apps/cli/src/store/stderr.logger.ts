import { ConsoleLogger, type LogLevel } from '@nestjs/common';

/**
 * `--verbose`: the libraries' structured log lines on stderr, so stdout keeps carrying only the
 * command's output. Stack traces are left out: errors reach the operator as one line.
 */
export class StderrLogger extends ConsoleLogger {
  constructor() {
    super('nest-kms', { json: true, logLevels: ['log', 'warn', 'error', 'fatal'] });
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr');
  }

  override printStackTrace(): void {
    // One line per error is the CLI's promise, also with --verbose.
  }
}
