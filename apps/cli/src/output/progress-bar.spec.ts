import type { OutputStream } from './cli-output.js';
import { ProgressBar } from './progress-bar.js';

/** A stream that keeps what is written; `isTTY` as a terminal or a pipe would report it. */
function recordingStream(isTTY: boolean): OutputStream & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join('') };
}

describe('ProgressBar', () => {
  it('redraws one line in place on a terminal, with counts and rate, and ends it', () => {
    const stream = recordingStream(true);
    const bar = new ProgressBar(stream, 'rewrap');
    bar.update({ done: 250, failed: 0, total: 1000, perSecond: 812.4 });
    bar.update({ done: 990, failed: 10, total: 1000, perSecond: 905 });
    bar.finish();
    expect(stream.text()).toBe(
      `\rrewrap [########......................] 250/1000 (25%), 812/s\x1b[K` +
        `\rrewrap [##############################] 990/1000 (100%), 10 failed, 905/s\x1b[K\n`,
    );
  });

  it('writes plain lines elsewhere, at most one per interval, and always the last state', () => {
    const stream = recordingStream(false);
    let now = 0;
    const bar = new ProgressBar(stream, 'rewrap', () => now, 1_000);
    bar.update({ done: 100, failed: 0, total: 400, perSecond: 100 });
    now = 500;
    bar.update({ done: 200, failed: 0, total: 400, perSecond: 200 });
    now = 1_200;
    bar.update({ done: 300, failed: 0, total: 400, perSecond: 250 });
    now = 1_300;
    bar.update({ done: 400, failed: 0, total: 400, perSecond: 300 });
    bar.finish();
    expect(stream.text().split('\n')).toEqual([
      'nest-kms: rewrap 100/400 (25%), 100/s',
      'nest-kms: rewrap 300/400 (75%), 250/s',
      'nest-kms: rewrap 400/400 (100%), 300/s',
      '',
    ]);
  });

  it('prints nothing when there was nothing to report', () => {
    const stream = recordingStream(false);
    new ProgressBar(stream, 'rewrap').finish();
    expect(stream.text()).toBe('');
  });
});
