/**
 * Contract between benchmark suites and the runner (`npm run bench`).
 * A suite module exports `suite: BenchSuite`. Each row compares our implementation
 * with a baseline measured in the same run (ratio = ours / baseline).
 */
export interface BenchRow {
  /** Section of the report, e.g. "protocol". */
  group: string;
  /** What is measured, e.g. "CoAP parse: Register (100 B)". */
  name: string;
  /** Our implementation: operations per second on one core. */
  opsPerSec: number;
  /** Relative margin of error in percent (from tinybench), if known. */
  rme?: number;
  /** Same operation done by another library in the same run. */
  baseline?: { name: string; opsPerSec: number };
  /** Optional target in ops/s (reported as met / not met, never asserted). */
  target?: number;
  /** Free-form extra figures (latency percentiles, bytes, ...). */
  extra?: Record<string, number | string>;
}

export interface BenchOptions {
  /** Short mode for CI smoke runs (`--quick`). */
  quick: boolean;
}

export interface BenchSuite {
  name: string;
  run(opts: BenchOptions): Promise<BenchRow[]>;
}
