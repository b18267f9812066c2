import { AUDIT_TEXT_MAX_CHARS, auditText } from './audit-text.js';

describe('auditText', () => {
  it('keeps valid names and plain actors as they are', () => {
    for (const text of ['API_KEY', 'db/primary.password-2', 'n'.repeat(128), 'service:billing']) {
      expect(auditText(text)).toBe(text);
    }
  });

  it('escapes NUL, control characters, quotes, backslashes and non-ASCII', () => {
    expect(auditText('a\0b')).toBe('a\\u0000b');
    expect(auditText('line\nbreak\ttab')).toBe('line\\nbreak\\ttab');
    expect(auditText('\u001b[31mred')).toBe('\\u001b[31mred');
    expect(auditText('say "hi" \\o/')).toBe('say \\"hi\\" \\\\o/');
    expect(auditText('José ☃ 😀')).toBe('Jos\\u00e9 \\u2603 \\ud83d\\ude00');
    expect(auditText('lone \ud800 surrogate')).toBe('lone \\ud800 surrogate');
  });

  it('stores printable ASCII only, within the column', () => {
    const hostile = ['\0'.repeat(500), 'é'.repeat(300), 'x'.repeat(10_000), '\u202e'.repeat(40)];
    for (const text of hostile) {
      const stored = auditText(text);
      expect(stored.length).toBeLessThanOrEqual(AUDIT_TEXT_MAX_CHARS);
      expect(stored.replace('…', '')).toMatch(/^[\x20-\x7e]*$/);
    }
  });

  it('cuts long text at a whole escape and says how long the input was', () => {
    expect(auditText('n'.repeat(200))).toBe(`${'n'.repeat(115)}… (200 chars)`);
    const cut = auditText('\0'.repeat(100));
    expect(cut).toBe(`${'\\u0000'.repeat(19)}… (100 chars)`);
    // 112 characters, then an escape that no longer fits whole before the marker.
    const split = auditText(`${'a'.repeat(112)}\0${'b'.repeat(20)}`);
    expect(split).toBe(`${'a'.repeat(112)}… (133 chars)`);
  });
});
