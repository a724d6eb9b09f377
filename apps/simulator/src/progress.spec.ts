import { formatProgress, progressWriter } from './progress';

describe('progress line', () => {
  it('formats the one-line summary', () => {
    expect(formatProgress({ elapsedS: 12.2, registered: 40000, ues: 100000, requestsPerSec: 3210, errors: 0, p50Ms: 4.12, p99Ms: 22 })).toBe(
      't=12s ues 40000/100000 registered | 3.2k req/s | err 0 | p50 4.1 ms p99 22.0 ms',
    );
    expect(formatProgress({ elapsedS: 1, registered: 1, ues: 2, requestsPerSec: 12, errors: 3, p50Ms: 150.4, p99Ms: 2500, phase: 'storm' })).toBe(
      't=1s ues 1/2 registered | 12 req/s | err 3 | p50 150 ms p99 2500 ms [storm]',
    );
  });

  it('rewrites one line on a TTY and prints lines otherwise', () => {
    const chunks: string[] = [];
    const tty = { isTTY: true, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream;
    const w = progressWriter(tty);
    w.write('long line');
    w.write('short');
    w.end();
    expect(chunks).toEqual(['\rlong line', '\rshort    ', '\n']);
    const lines: string[] = [];
    const pipe = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const p = progressWriter(pipe);
    p.write('a');
    p.write('b');
    p.end();
    expect(lines).toEqual(['a\n', 'b\n']);
  });
});
