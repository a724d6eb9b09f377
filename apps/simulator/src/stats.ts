/**
 * Counters and latency histograms of one simulator process, and their merge across
 * processes (histograms travel as hdr-histogram-js compressed base64).
 */
import * as hdr from 'hdr-histogram-js';

export const REQUEST_KINDS = ['read', 'write', 'execute', 'discover', 'write-attributes', 'create', 'delete', 'observe', 'cancel-observe'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const LATENCY_OPS = ['register', 'update', 'deregister', 'bootstrap', 'storm'] as const;
export type LatencyOp = (typeof LATENCY_OPS)[number];

export interface Counts {
  registerOk: number;
  registerFailed: number;
  updateOk: number;
  updateFailed: number;
  deregisterOk: number;
  deregisterFailed: number;
  bootstrapOk: number;
  bootstrapFailed: number;
  requestsReceived: Record<RequestKind, number>;
  notificationsSent: number;
  /** Notifications the server answered with Reset (it no longer knew the observation). */
  notificationsRejected: number;
  sendsSent: number;
  retransmissions: number;
  timeouts: number;
  droppedWhileAsleep: number;
  duplicateRequests: number;
  poolExhausted: number;
  errors: number;
}

export function emptyCounts(): Counts {
  const requestsReceived = {} as Record<RequestKind, number>;
  for (const k of REQUEST_KINDS) requestsReceived[k] = 0;
  return {
    registerOk: 0,
    registerFailed: 0,
    updateOk: 0,
    updateFailed: 0,
    deregisterOk: 0,
    deregisterFailed: 0,
    bootstrapOk: 0,
    bootstrapFailed: 0,
    requestsReceived,
    notificationsSent: 0,
    notificationsRejected: 0,
    sendsSent: 0,
    retransmissions: 0,
    timeouts: 0,
    droppedWhileAsleep: 0,
    duplicateRequests: 0,
    poolExhausted: 0,
    errors: 0,
  };
}

/** Latencies are recorded in microseconds, 1 µs … 1 h, 3 significant digits. */
export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export class Stats {
  readonly counts = emptyCounts();
  readonly responsesByCode: Record<string, number> = {};
  readonly latency: Record<LatencyOp, hdr.Histogram>;
  /** All uplink request latencies since the last progress tick (for the progress line). */
  window = newHistogram();
  /** Uplink requests sent + server requests answered since the last progress tick. */
  windowRequests = 0;

  constructor() {
    const l = {} as Record<LatencyOp, hdr.Histogram>;
    for (const op of LATENCY_OPS) l[op] = newHistogram();
    this.latency = l;
  }

  /** Storm latencies of the current storm phase only (reset when a storm starts). */
  phaseStorm = newHistogram();

  record(op: LatencyOp, ms: number): void {
    const us = Math.max(1, Math.round(ms * 1000));
    this.latency[op].recordValue(us);
    if (op === 'storm') this.phaseStorm.recordValue(us);
    this.window.recordValue(us);
  }

  response(codeText: string): void {
    this.responsesByCode[codeText] = (this.responsesByCode[codeText] ?? 0) + 1;
  }

  /** Returns and resets the progress window. */
  takeWindow(): { requests: number; histogram: hdr.Histogram } {
    const out = { requests: this.windowRequests, histogram: this.window };
    this.window = newHistogram();
    this.windowRequests = 0;
    return out;
  }

  snapshot(): StatsSnapshot {
    const latency = {} as Record<LatencyOp, string>;
    for (const op of LATENCY_OPS) latency[op] = hdr.encodeIntoCompressedBase64(this.latency[op]);
    return { counts: structuredClone(this.counts), responsesByCode: { ...this.responsesByCode }, latency };
  }
}

/** Serialisable state of a Stats (what a worker sends its parent). */
export interface StatsSnapshot {
  counts: Counts;
  responsesByCode: Record<string, number>;
  latency: Record<LatencyOp, string>;
}

export function addCounts(a: Counts, b: Counts): Counts {
  const out = emptyCounts();
  for (const k of Object.keys(out) as (keyof Counts)[]) {
    if (k === 'requestsReceived') continue;
    (out[k] as number) = (a[k] as number) + (b[k] as number);
  }
  for (const k of REQUEST_KINDS) out.requestsReceived[k] = a.requestsReceived[k] + b.requestsReceived[k];
  return out;
}

export interface MergedStats {
  counts: Counts;
  responsesByCode: Record<string, number>;
  latency: Record<LatencyOp, hdr.Histogram>;
}

/** Sums counters and adds histograms of several processes. */
export function mergeSnapshots(snaps: readonly StatsSnapshot[]): MergedStats {
  let counts = emptyCounts();
  const responsesByCode: Record<string, number> = {};
  const latency = {} as Record<LatencyOp, hdr.Histogram>;
  for (const op of LATENCY_OPS) latency[op] = newHistogram();
  for (const s of snaps) {
    counts = addCounts(counts, s.counts);
    for (const [c, n] of Object.entries(s.responsesByCode)) responsesByCode[c] = (responsesByCode[c] ?? 0) + n;
    for (const op of LATENCY_OPS) {
      const h = hdr.decodeFromCompressedBase64(s.latency[op]);
      latency[op].add(h);
    }
  }
  return { counts, responsesByCode, latency };
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(h: hdr.Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}

/** Sum of histograms sent as compressed base64. */
export function addEncoded(encoded: readonly string[]): hdr.Histogram {
  const out = newHistogram();
  for (const e of encoded) out.add(hdr.decodeFromCompressedBase64(e));
  return out;
}

export function encodeHistogram(h: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}
