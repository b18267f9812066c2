import { randomBytes } from 'node:crypto';
import { CapturedLogger } from './captured-logger.js';

/**
 * What a demo suite must never show: every secret value, plaintext and admin token it used.
 * `assertNoLeaks()` scans all log output of the test file and every recorded answer, except
 * those that show a value by design (a secret read, a decryption), for those values and for
 * stack trace lines.
 */
export class DemoTranscript {
  private readonly values = new Set<string>();
  private readonly answers: { request: string; text: string }[] = [];

  /** A fresh random value, remembered. */
  value(label: string): string {
    return this.remember(`${label}-${randomBytes(18).toString('base64url')}`);
  }

  remember(value: string): string {
    this.values.add(value);
    return value;
  }

  record(request: string, text: string, reveals: boolean): void {
    if (!reveals) this.answers.push({ request, text });
  }

  assertNoLeaks(): void {
    const logs = CapturedLogger.allText();
    expect(logs.length).toBeGreaterThan(0);
    expect(this.answers.length).toBeGreaterThan(0);
    expect(this.values.size).toBeGreaterThan(0);
    for (const value of this.values) expect(logs).not.toContain(value);
    expect(logs).not.toContain('    at ');
    for (const { request, text } of this.answers) {
      for (const value of this.values) {
        expect(text, `${request} answered with a remembered value`).not.toContain(value);
      }
      expect(text, `${request} answered with a stack trace`).not.toContain('    at ');
    }
  }
}
