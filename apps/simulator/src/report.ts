/**
 * The JSON report (version 1): one process's result, and the merge of several processes'
 * results into one report (counts summed, histograms added, phases aligned by position).
 */
import { addEncoded, type Counts, emptyCounts, LATENCY_OPS, type LatencyOp, type LatencySummary, mergeSnapshots, type StatsSnapshot, summarize, addCounts } from './stats';
import type { SimConfig } from './options';

export interface PhaseRecord {
  name: string;
  action: 'register' | 'steady' | 'storm' | 'deregister';
  startedAt: number;
  endedAt: number;
  /** Counters accumulated during the phase. */
  counts: Counts;
  /** Storm phases: latency of the storm's registrations (compressed hdr histogram, µs). */
  stormLatency?: string;
}

export interface MemoryRecord {
  rssBytes: number;
  heapUsedBytes: number;
  /** RSS growth per UE between "pool open, no UE" and "every UE registered and idle". */
  bytesPerUe: number;
  heapBytesPerUe: number;
  measuredUes: number;
}

/** What one process hands back (a worker sends it to its parent over IPC). */
export interface ProcessResult {
  processIndex: number;
  ues: number;
  firstIndex: number;
  startedAt: number;
  endedAt: number;
  stats: StatsSnapshot;
  phases: PhaseRecord[];
  memory: MemoryRecord;
  stopped: boolean;
}

export interface PhaseReport {
  name: string;
  action: PhaseRecord['action'];
  startedAt: string;
  endedAt: string;
  seconds: number;
  registerOk: number;
  updateOk: number;
  deregisterOk: number;
  notificationsSent: number;
  timeouts: number;
  /** Completed operations of the phase's kind per second (registrations for register/storm, de-registrations, updates for steady). */
  opsPerSec: number;
  latencyMs?: LatencySummary;
}

export interface SimReport {
  version: 1;
  startedAt: string;
  endedAt: string;
  target: string;
  config: SimConfig;
  processes: number;
  ues: number;
  counts: Counts;
  responsesByCode: Record<string, number>;
  latencyMs: Record<LatencyOp, LatencySummary>;
  throughput: { registerPerSec: number; updatePerSec: number; notificationsPerSec: number };
  memory: MemoryRecord;
  phases: PhaseReport[];
  /** True when the run was cut short by a signal or stop request. */
  stopped: boolean;
}

const round = (v: number, d = 1): number => Math.round(v * 10 ** d) / 10 ** d;

export function mergeReport(config: SimConfig, results: readonly ProcessResult[]): SimReport {
  const merged = mergeSnapshots(results.map((r) => r.stats));
  const latencyMs = {} as Record<LatencyOp, LatencySummary>;
  for (const op of LATENCY_OPS) latencyMs[op] = summarize(merged.latency[op]);
  const startedAt = Math.min(...results.map((r) => r.startedAt));
  const endedAt = Math.max(...results.map((r) => r.endedAt));
  const phases = mergePhases(results);
  const phaseSeconds = (action: PhaseRecord['action']): number => phases.filter((p) => p.action === action).reduce((a, p) => a + p.seconds, 0);
  const total = Math.max((endedAt - startedAt) / 1000, 1e-3);
  const regSeconds = phaseSeconds('register');
  const steadySeconds = phaseSeconds('steady');
  const ues = results.reduce((a, r) => a + r.ues, 0);
  const measured = results.reduce((a, r) => a + r.memory.measuredUes, 0);
  const weighted = (f: (m: MemoryRecord) => number): number =>
    measured === 0 ? 0 : round(results.reduce((a, r) => a + f(r.memory) * r.memory.measuredUes, 0) / measured);
  return {
    version: 1,
    startedAt: new Date(startedAt).toISOString(),
    endedAt: new Date(endedAt).toISOString(),
    target: config.target,
    config,
    processes: results.length,
    ues,
    counts: merged.counts,
    responsesByCode: merged.responsesByCode,
    latencyMs,
    throughput: {
      registerPerSec: round(phases.filter((p) => p.action === 'register').reduce((a, p) => a + p.registerOk, 0) / Math.max(regSeconds, 1e-3)),
      updatePerSec: round(merged.counts.updateOk / Math.max(steadySeconds || total, 1e-3)),
      notificationsPerSec: round(merged.counts.notificationsSent / total),
    },
    memory: {
      rssBytes: results.reduce((a, r) => a + r.memory.rssBytes, 0),
      heapUsedBytes: results.reduce((a, r) => a + r.memory.heapUsedBytes, 0),
      bytesPerUe: weighted((m) => m.bytesPerUe),
      heapBytesPerUe: weighted((m) => m.heapBytesPerUe),
      measuredUes: measured,
    },
    phases,
    stopped: results.some((r) => r.stopped),
  };
}

function mergePhases(results: readonly ProcessResult[]): PhaseReport[] {
  const n = Math.max(0, ...results.map((r) => r.phases.length));
  const out: PhaseReport[] = [];
  for (let i = 0; i < n; i++) {
    const parts = results.map((r) => r.phases[i]).filter((p): p is PhaseRecord => p !== undefined);
    const first = parts[0]!;
    const startedAt = Math.min(...parts.map((p) => p.startedAt));
    const endedAt = Math.max(...parts.map((p) => p.endedAt));
    const counts = parts.reduce((a, p) => addCounts(a, p.counts), emptyCounts());
    const seconds = Math.max((endedAt - startedAt) / 1000, 0);
    const ops =
      first.action === 'register' || first.action === 'storm' ? counts.registerOk : first.action === 'deregister' ? counts.deregisterOk : counts.updateOk;
    const rep: PhaseReport = {
      name: first.name,
      action: first.action,
      startedAt: new Date(startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      seconds: round(seconds, 3),
      registerOk: counts.registerOk,
      updateOk: counts.updateOk,
      deregisterOk: counts.deregisterOk,
      notificationsSent: counts.notificationsSent,
      timeouts: counts.timeouts,
      opsPerSec: round(ops / Math.max(seconds, 1e-3)),
    };
    const storms = parts.map((p) => p.stormLatency).filter((s): s is string => s !== undefined);
    if (storms.length > 0) {
      rep.latencyMs = summarize(addEncoded(storms));
    }
    out.push(rep);
  }
  return out;
}

/** Counter-wise b - a (what happened between two snapshots). */
export function diffCounts(after: Counts, before: Counts): Counts {
  const out = emptyCounts();
  for (const k of Object.keys(out) as (keyof Counts)[]) {
    if (k === 'requestsReceived') continue;
    (out[k] as number) = (after[k] as number) - (before[k] as number);
  }
  for (const k of Object.keys(out.requestsReceived) as (keyof Counts['requestsReceived'])[]) {
    out.requestsReceived[k] = after.requestsReceived[k] - before.requestsReceived[k];
  }
  return out;
}
