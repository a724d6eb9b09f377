/**
 * Programmatic entry: `runSimulation(config, hooks)` runs the phases in this process, or
 * forks `config.processes` workers (each with a slice of UE indices and its own source
 * address block) and merges their results into one report.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type * as hdr from 'hdr-histogram-js';
import { derivedTimes } from '@dmp/coap';
import { createIdentityFactory } from './device/identity';
import { createDeviceModel } from './device/model';
import type { DeviceModel, IdentityFactory } from './device/types';
import { Engine, parseCoapUri, type ServerAddress } from './engine';
import { createMetricsRegistry, type MetricsView, serveMetrics } from './metrics';
import type { Phase, SimConfig } from './options';
import { formatProgress, type ProgressSample } from './progress';
import { diffCounts, mergeReport, type MemoryRecord, type PhaseRecord, type ProcessResult, type SimReport } from './report';
import { defaultSourceBlock, openUdpTransport } from './socket-pool';
import { addEncoded, type Counts, encodeHistogram, LATENCY_OPS, type LatencySummary, mergeSnapshots, newHistogram, Stats, summarize } from './stats';

export type { SimReport } from './report';
export type { SimConfig } from './options';

export interface SimHooks {
  /** Identity and model (default: src/device from the config's seed and forms). */
  device?: { identity: IdentityFactory; model: DeviceModel };
  /** Progress line and its numbers, every `progressInterval` seconds. */
  onProgress?: (line: string, sample: ProgressSample) => void;
  /** Aborting ends the run early: steady/storm/register phases stop, de-registration still runs. */
  signal?: AbortSignal;
  /** Informational lines (phase changes, metrics port). */
  log?: (line: string) => void;
  /** Raw progress window (workers forward it to their parent). */
  onTick?: (tick: ProgressTick) => void;
  /** Called once the engine exists: live counters for /metrics and workers' ticks. */
  onStart?: (live: LiveView) => void;
}

export interface LiveView {
  stats: Stats;
  registered(): number;
}

/** What a process reports per progress interval. */
export interface ProgressTick {
  registered: number;
  ues: number;
  requests: number;
  errors: number;
  /** Latencies of the interval, compressed hdr histogram (µs). */
  window: string;
  phase: string;
}

// --------------------------------------------------------------------- helpers

let gcFn: (() => void) | undefined;
/** A full GC before a memory reading, so the numbers are not garbage waiting to be freed. */
function collectGarbage(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

async function resolveServer(uri: string): Promise<ServerAddress> {
  const a = parseCoapUri(uri);
  if (!a) throw new Error(`not a coap:// URI: ${uri}`);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(a.host)) return a;
  const r = await lookup(a.host, { family: 4 });
  return { host: r.address, port: a.port };
}

export function createDevice(config: SimConfig): { identity: IdentityFactory; model: DeviceModel } {
  const identity = createIdentityFactory({ seed: config.seed, forms: config.forms, appKey: config.appKey, password: config.password });
  return { identity, model: createDeviceModel({ seed: config.seed, lifetime: config.lifetime, binding: config.binding }) };
}

/** The phases to run: the scenario's, or register → steady (with the storm) → deregister. */
export function planPhases(config: SimConfig): Phase[] {
  if (config.phases) return config.phases;
  const out: Phase[] = [{ name: 'ramp-up', action: 'register', rate: config.rate }];
  if (config.stormAt !== undefined && (config.duration === undefined || config.stormAt < config.duration)) {
    out.push({ name: 'steady', action: 'steady', seconds: config.stormAt });
    out.push({ name: 'storm', action: 'storm' });
    out.push({ name: 'steady-after-storm', action: 'steady', seconds: config.duration === undefined ? undefined : config.duration - config.stormAt });
  } else {
    out.push({ name: 'steady', action: 'steady', seconds: config.duration });
  }
  if (config.deregister) out.push({ name: 'deregister', action: 'deregister', rate: config.rate });
  return out;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = ms === Infinity ? undefined : setTimeout(done, ms);
    function done(): void {
      if (t) clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  if (!signal) return p;
  return Promise.race([p, sleep(Infinity, signal).then(() => undefined)]);
}

function errorsOf(c: Counts): number {
  return c.registerFailed + c.updateFailed + c.deregisterFailed + c.bootstrapFailed + c.errors;
}

// --------------------------------------------------------------------- one process

/** Runs every phase with this process's UEs; the building block of both modes. */
export async function runProcess(config: SimConfig, hooks: SimHooks = {}): Promise<ProcessResult> {
  const startedAt = Date.now();
  const target = await resolveServer(config.target);
  const bootstrap = config.bootstrap ? await resolveServer(config.bootstrap) : undefined;
  const device = hooks.device ?? createDevice(config);
  const stats = new Stats();
  const poolSize = Math.min(config.sockets, config.ues);
  // The sockets exist before the engine (their memory is not per UE): datagrams go to it once it does.
  const ref: { engine?: Engine } = {};
  const transport = await openUdpTransport({
    size: poolSize,
    cidr: config.sourceIps ?? defaultSourceBlock(config.processIndex),
    offset: config.sourceIps ? config.processIndex * config.sockets : 0,
    onDatagram: (slot, buf) => ref.engine?.onDatagram(slot, buf),
    onError: () => stats.counts.errors++,
  });
  collectGarbage();
  const base = process.memoryUsage();
  const engine = new Engine(
    {
      ues: config.ues,
      firstIndex: config.firstIndex,
      lifetimeS: config.lifetime,
      jitter: config.jitter,
      binding: config.binding,
      awakeMs: config.awakeMs,
      notify: config.notify,
      sendIntervalS: config.sendInterval,
      target,
      bootstrap,
      ackTimeoutMs: config.ackTimeoutMs,
      ackRandomFactor: 1.5,
      maxRetransmit: config.maxRetransmit,
    },
    { ...device, stats },
  );
  ref.engine = engine;
  engine.attach(transport);
  engine.startTicking();
  const eng = engine;
  hooks.onStart?.({ stats, registered: () => eng.registered });

  let memory: MemoryRecord = { rssBytes: 0, heapUsedBytes: 0, bytesPerUe: 0, heapBytesPerUe: 0, measuredUes: 0 };
  const measure = (): void => {
    collectGarbage();
    const m = process.memoryUsage();
    memory = {
      rssBytes: m.rss,
      heapUsedBytes: m.heapUsed,
      // Small runs are dominated by noise (RSS can even shrink): meaningful from ~10,000 UEs.
      bytesPerUe: Math.max(0, Math.round(((m.rss - base.rss) / config.ues) * 10) / 10),
      heapBytesPerUe: Math.max(0, Math.round(((m.heapUsed - base.heapUsed) / config.ues) * 10) / 10),
      measuredUes: config.ues,
    };
  };

  let phaseName = 'start';
  const interval = config.progressInterval * 1000;
  let lastTick = Date.now();
  const progressTimer = setInterval(() => {
    const now = Date.now();
    const w = stats.takeWindow();
    const tick: ProgressTick = {
      registered: eng.registered,
      ues: config.ues,
      requests: w.requests,
      errors: errorsOf(stats.counts),
      window: hooks.onTick ? encodeHistogram(w.histogram) : '',
      phase: phaseName,
    };
    hooks.onTick?.(tick);
    if (hooks.onProgress) {
      const sample = sampleOf(tick, w.histogram, (now - startedAt) / 1000, (now - lastTick) / 1000);
      hooks.onProgress(formatProgress(sample), sample);
    }
    lastTick = now;
  }, interval);

  const phases: PhaseRecord[] = [];
  const signal = hooks.signal;
  const maxWaitMs = derivedTimes({ ackTimeoutMs: config.ackTimeoutMs, maxRetransmit: config.maxRetransmit }).maxTransmitWaitMs;
  let measuredIdle = false;
  try {
    for (const [i, phase] of planPhases(config).entries()) {
      if (signal?.aborted && phase.action !== 'deregister') continue;
      phaseName = phase.name ?? `${phase.action}-${i}`;
      hooks.log?.(`phase ${phaseName} (${phase.action})`);
      const before = structuredClone(stats.counts);
      const t0 = Date.now();
      let stormLatency: string | undefined;
      switch (phase.action) {
        case 'register': {
          await untilAborted(eng.ramp((phase.rate ?? config.rate) / 1), signal);
          eng.stopRamp();
          if (!measuredIdle) measure();
          break;
        }
        case 'steady': {
          const ms = phase.seconds === undefined ? Infinity : phase.seconds * 1000;
          // Read memory once every UE is idle (UQ: asleep), if the phase lasts that long.
          const settle = (config.binding === 'UQ' ? config.awakeMs : 0) + 1000;
          if (!measuredIdle && ms > settle) {
            await sleep(settle, signal);
            if (!signal?.aborted) {
              measure();
              measuredIdle = true;
            }
            await sleep(ms - settle, signal);
          } else await sleep(ms, signal);
          break;
        }
        case 'storm': {
          stats.phaseStorm = newHistogram();
          await untilAborted(eng.storm(), signal);
          stormLatency = encodeHistogram(stats.phaseStorm);
          break;
        }
        case 'deregister': {
          const rate = phase.rate ?? config.rate;
          const budget = (config.ues / rate) * 1000 + maxWaitMs + 5000;
          const giveUp = new AbortController();
          await Promise.race([eng.deregisterAll(rate), sleep(budget, giveUp.signal)]);
          giveUp.abort();
          break;
        }
      }
      phases.push({ name: phaseName, action: phase.action, startedAt: t0, endedAt: Date.now(), counts: diffCounts(stats.counts, before), stormLatency });
    }
  } finally {
    clearInterval(progressTimer);
    await eng.close();
  }
  return {
    processIndex: config.processIndex,
    ues: config.ues,
    firstIndex: config.firstIndex,
    startedAt,
    endedAt: Date.now(),
    stats: stats.snapshot(),
    phases,
    memory,
    stopped: signal?.aborted === true,
  };
}

function sampleOf(tick: ProgressTick, window: hdr.Histogram, elapsedS: number, intervalS: number): ProgressSample {
  const s = summarize(window);
  return {
    elapsedS,
    registered: tick.registered,
    ues: tick.ues,
    requestsPerSec: tick.requests / Math.max(intervalS, 1e-3),
    errors: tick.errors,
    p50Ms: s.p50,
    p99Ms: s.p99,
    phase: tick.phase,
  };
}

// --------------------------------------------------------------------- several processes

interface WorkerState {
  child: ChildProcess;
  last?: ProgressTick;
  windows: string[];
  requests: number;
  snapshot?: ProcessResult['stats'];
  result?: ProcessResult;
}

/** Worker configs: slice p of the UE indices, rate / P, address block p. */
export function workerConfigs(config: SimConfig): SimConfig[] {
  const p = config.processes;
  const per = Math.ceil(config.ues / p);
  const out: SimConfig[] = [];
  for (let i = 0; i < p; i++) {
    const ues = Math.min(per, config.ues - i * per);
    if (ues <= 0) break;
    out.push({
      ...config,
      ues,
      firstIndex: config.firstIndex + i * per,
      processes: 1,
      processIndex: i,
      rate: config.rate / p,
      phases: config.phases?.map((ph) => (ph.rate === undefined ? ph : { ...ph, rate: ph.rate / p })),
      metricsPort: 0,
      report: undefined,
    });
  }
  return out;
}

function workerEntry(): { file: string; execArgv: string[] } {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `main${ext}`);
  // Under ts (jest, swc-node) the child needs the TypeScript loader too.
  const execArgv = ext === '.ts' && !process.execArgv.some((a) => a.includes('swc-node')) ? ['-r', '@swc-node/register'] : process.execArgv;
  return { file, execArgv };
}

async function runParent(config: SimConfig, hooks: SimHooks, view: { current: () => MetricsView }): Promise<ProcessResult[]> {
  const { file, execArgv } = workerEntry();
  const startedAt = Date.now();
  const workers: WorkerState[] = workerConfigs(config).map((wc) => {
    const child = fork(file, [], {
      execArgv,
      env: { ...process.env, DMP_SIM_WORKER: '1', SWC_NODE_PROJECT: process.env['SWC_NODE_PROJECT'] ?? path.resolve(__dirname, '../../../tsconfig.json') },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const w: WorkerState = { child, windows: [], requests: 0 };
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'tick') {
        w.last = m.tick;
        w.windows.push(m.tick.window);
        w.requests += m.tick.requests;
        w.snapshot = m.stats;
      } else if (m.type === 'result') w.result = m.result;
    });
    child.send({ type: 'run', config: wc } satisfies ParentMessage);
    return w;
  });
  const stop = (): void => {
    for (const w of workers) if (w.child.connected) w.child.send({ type: 'stop' } satisfies ParentMessage);
  };
  hooks.signal?.addEventListener('abort', stop, { once: true });
  view.current = () => {
    const m = mergeSnapshots(workers.map((w) => w.result?.stats ?? w.snapshot).filter((s): s is ProcessResult['stats'] => s !== undefined));
    const latency = {} as Record<string, LatencySummary>;
    for (const op of LATENCY_OPS) latency[op] = summarize(m.latency[op]);
    return { counts: m.counts, responsesByCode: m.responsesByCode, latency, registered: workers.reduce((a, w) => a + (w.last?.registered ?? 0), 0), ues: config.ues };
  };
  let lastPrint = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const window = addEncoded(workers.flatMap((w) => w.windows));
    const requests = workers.reduce((a, w) => a + w.requests, 0);
    for (const w of workers) {
      w.windows = [];
      w.requests = 0;
    }
    const tick: ProgressTick = {
      registered: workers.reduce((a, w) => a + (w.last?.registered ?? 0), 0),
      ues: config.ues,
      requests,
      errors: workers.reduce((a, w) => a + (w.last?.errors ?? 0), 0),
      window: '',
      phase: workers[0]?.last?.phase ?? 'start',
    };
    const sample = sampleOf(tick, window, (now - startedAt) / 1000, (now - lastPrint) / 1000);
    hooks.onProgress?.(formatProgress(sample), sample);
    lastPrint = now;
  }, config.progressInterval * 1000);
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) =>
            w.child.once('exit', (code, sig) => (w.result ? resolve() : reject(new Error(`worker exited (${code ?? sig}) without a result`)))),
          ),
      ),
    );
  } finally {
    clearInterval(timer);
    hooks.signal?.removeEventListener('abort', stop);
  }
  return workers.map((w) => w.result!);
}

export type ParentMessage = { type: 'run'; config: SimConfig } | { type: 'stop' };
export type WorkerMessage = { type: 'tick'; tick: ProgressTick; stats: ProcessResult['stats'] } | { type: 'result'; result: ProcessResult };

/** Worker side of the IPC protocol (main.ts calls it when DMP_SIM_WORKER=1). */
export function runWorker(): void {
  const abort = new AbortController();
  // Ctrl-C reaches the whole process group: the parent decides, the worker only winds down.
  process.on('SIGINT', () => abort.abort());
  process.on('SIGTERM', () => abort.abort());
  // the parent quit at once (second Ctrl-C, crash): so do we, without writing to a closed
  // channel; after our result was sent, the disconnect is ours and the process ends by itself
  let finished = false;
  process.on('disconnect', () => {
    if (!finished) process.exit(130);
  });
  const send = (msg: WorkerMessage, done?: () => void) => {
    if (process.connected) process.send?.(msg, undefined, {}, () => done?.());
  };
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'stop') abort.abort();
    if (m.type !== 'run') return;
    let live: LiveView | undefined;
    runProcess(m.config, {
      signal: abort.signal,
      onStart: (l) => (live = l),
      onTick: (tick) => {
        if (live) send({ type: 'tick', tick, stats: live.stats.snapshot() });
      },
    })
      .then((result) => {
        finished = true;
        send({ type: 'result', result }, () => process.disconnect());
      })
      .catch((e: unknown) => {
        process.stderr.write(`simulator worker ${m.config.processIndex} failed: ${e instanceof Error ? e.stack : String(e)}\n`);
        process.exitCode = 1;
        finished = true;
        process.disconnect();
      });
  });
}

// --------------------------------------------------------------------- entry

/** Runs a whole simulation and returns its report (written to `config.report` when set). */
export async function runSimulation(config: SimConfig, hooks: SimHooks = {}): Promise<SimReport> {
  const view = { current: (): MetricsView | undefined => undefined as MetricsView | undefined };
  let metrics: { port: number; close(): Promise<void> } | undefined;
  const results: ProcessResult[] = [];
  const single = config.processes <= 1;
  const localStats: { view?: () => MetricsView } = {};
  const userOnStart = hooks.onStart;
  hooks = {
    ...hooks,
    onStart: (live) => {
      localStats.view = () => liveView(live, config.ues);
      userOnStart?.(live);
    },
  };
  if (config.metricsPort > 0) {
    const registry = createMetricsRegistry(() => view.current() ?? localStats.view?.() ?? emptyView(config.ues));
    metrics = await serveMetrics(registry, config.metricsPort);
    hooks.log?.(`metrics on http://127.0.0.1:${metrics.port}/metrics`);
  }
  try {
    if (single) results.push(await runProcess(config, hooks));
    else results.push(...(await runParent(config, hooks, view as { current: () => MetricsView })));
  } finally {
    await metrics?.close();
  }
  const report = mergeReport(config, results);
  if (config.report) {
    mkdirSync(path.dirname(path.resolve(config.report)), { recursive: true });
    writeFileSync(config.report, `${JSON.stringify(report, null, 2)}\n`);
  }
  return report;
}

function liveView(live: LiveView, ues: number): MetricsView {
  const latency = {} as Record<string, LatencySummary>;
  for (const op of LATENCY_OPS) latency[op] = summarize(live.stats.latency[op]);
  return { counts: live.stats.counts, responsesByCode: live.stats.responsesByCode, latency, registered: live.registered(), ues };
}

function emptyView(ues: number): MetricsView {
  const m = mergeSnapshots([]);
  const latency = {} as Record<string, LatencySummary>;
  for (const op of LATENCY_OPS) latency[op] = summarize(m.latency[op]);
  return { counts: m.counts, responsesByCode: {}, latency, registered: 0, ues };
}
