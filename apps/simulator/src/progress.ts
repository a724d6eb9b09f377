/** The live progress line (`\r`-rewritten on a TTY, one line per interval otherwise). */

export interface ProgressSample {
  elapsedS: number;
  registered: number;
  ues: number;
  requestsPerSec: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  phase?: string;
}

function rate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

function ms(v: number): string {
  return v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`;
}

/** `t=12s ues 40000/100000 registered | 3.2k req/s | err 0 | p50 4.1 ms p99 22 ms` */
export function formatProgress(s: ProgressSample): string {
  const phase = s.phase ? ` [${s.phase}]` : '';
  return `t=${Math.round(s.elapsedS)}s ues ${s.registered}/${s.ues} registered | ${rate(s.requestsPerSec)} req/s | err ${s.errors} | p50 ${ms(s.p50Ms)} p99 ${ms(s.p99Ms)}${phase}`;
}

export interface ProgressWriter {
  write(line: string): void;
  end(): void;
}

export function progressWriter(stream: NodeJS.WriteStream): ProgressWriter {
  const tty = stream.isTTY === true;
  let last = 0;
  return {
    write(line) {
      if (tty) {
        const pad = last > line.length ? ' '.repeat(last - line.length) : '';
        stream.write(`\r${line}${pad}`);
        last = line.length;
      } else stream.write(`${line}\n`);
    },
    end() {
      if (tty && last > 0) stream.write('\n');
      last = 0;
    },
  };
}
