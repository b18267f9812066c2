import { Logger } from '@nestjs/common';
import { HealthCheckLog } from './health-check.log.js';

describe('HealthCheckLog', () => {
  const lines: { level: string; message: Record<string, unknown> }[] = [];

  beforeEach(() => {
    vi.useFakeTimers();
    lines.length = 0;
    for (const level of ['error', 'warn', 'log'] as const) {
      vi.spyOn(Logger.prototype, level).mockImplementation((message: unknown) => {
        lines.push({ level, message: message as Record<string, unknown> });
      });
    }
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('logs the first failure, then a count at most once per interval, then the recovery once', () => {
    const log = new HealthCheckLog({ HEALTH_LOG_INTERVAL_MS: '60000' });
    log.passed();
    for (let probe = 0; probe < 25; probe++) {
      log.failed(['database']);
      vi.advanceTimersByTime(5_000);
    }
    log.passed();
    log.passed();

    expect(lines).toEqual([
      { level: 'error', message: { event: 'health_check_failed', down: ['database'] } },
      {
        level: 'warn',
        message: {
          event: 'health_check_still_failing',
          down: ['database'],
          failedChecks: 12,
          failedChecksTotal: 13,
        },
      },
      {
        level: 'warn',
        message: {
          event: 'health_check_still_failing',
          down: ['database'],
          failedChecks: 12,
          failedChecksTotal: 25,
        },
      },
      { level: 'log', message: { event: 'health_check_recovered', failedChecks: 25 } },
    ]);
  });

  it('starts over after a recovery', () => {
    const log = new HealthCheckLog({});
    log.failed(['kms']);
    log.passed();
    log.failed(['database', 'kms']);
    expect(lines.map((line) => line.message.event)).toEqual([
      'health_check_failed',
      'health_check_recovered',
      'health_check_failed',
    ]);
  });
});
