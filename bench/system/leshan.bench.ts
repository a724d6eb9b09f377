/**
 * The same Register/Update workload from the simulator (`apps/simulator`, real LwM2M
 * clients over UDP) against our CoAP gateway and against the Eclipse Leshan server library
 * (bench/peers/LeshanServerBench.java, leshan-server-cf, in-memory store, NoSec), in the same
 * run (issue 7, suite item 4). The server under test is pinned to core 0 and the simulator
 * to core 1 when `taskset` is available; our gateway additionally needs Redis and Kafka,
 * which share both cores (Leshan keeps registrations in its own heap).
 *
 * Workload (open loop, identical for both): N UEs register at R/s offered, then update at
 * lifetime/2 (± 10 % jitter) for the steady phase, then de-register. Reported: achieved
 * registrations/s and updates/s, p50/p99 latency, timeouts and retransmissions for each
 * server and the ratio ours/Leshan. bench/gateway measures the closed-loop capacity.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchOptions, BenchRow, BenchSuite } from '../lib/types';
import { cpuSeconds, LESHAN_VERSION, pinning, ROOT, type Server, stackEnv, startGateway, startLeshan } from '../lib/proc';

interface Settings {
  ues: number;
  rate: number;
  lifetimeS: number;
  steadyS: number;
}
const QUICK: Settings = { ues: 4000, rate: 2000, lifetimeS: 10, steadyS: 6 };
// 5,000/s saturated the simulator's core (both servers then showed the same 320 ms p50): 3,000/s
const FULL: Settings = { ues: 15000, rate: 3000, lifetimeS: 10, steadyS: 15 };

interface Latency {
  count: number;
  p50: number;
  p99: number;
}
interface SimReport {
  counts: { registerOk: number; registerFailed: number; updateOk: number; updateFailed: number; deregisterOk: number; timeouts: number; retransmissions: number };
  responsesByCode: Record<string, number>;
  latencyMs: Record<string, Latency | undefined>;
  throughput: { registerPerSec: number; updatePerSec: number };
}

async function simulate(pin: string[], port: number, s: Settings, seed: number): Promise<{ report: SimReport; simCpuPct: number; serverCpuPct: number }> {
  const file = path.join(os.tmpdir(), `dmp-bench-leshan-${process.pid}-${randomBytes(3).toString('hex')}.json`);
  const args = [
    path.join(ROOT, 'dist/apps/simulator/src/main.js'),
    '--target', `coap://127.0.0.1:${port}`, '--ues', String(s.ues), '--rate', String(s.rate), '--lifetime', String(s.lifetimeS),
    '--binding', 'U', '--duration', String(s.steadyS), '--seed', String(seed), '--forms', 'URN_IMEI:1', '--report', file, '--metrics-port', '0', '--progress-interval', '5',
  ];
  const [bin, ...rest] = pin.length ? [...pin, process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(bin!, rest, { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const add = (d: Buffer) => (tail = `${tail}${d.toString()}`.slice(-3000));
  child.stdout.on('data', add);
  child.stderr.on('data', add);
  const t0 = Date.now();
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const wall = (Date.now() - t0) / 1000;
  if (!fs.existsSync(file)) throw new Error(`simulator exited (${code}) without a report: ${tail}`);
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as SimReport;
  fs.rmSync(file, { force: true });
  return { report, simCpuPct: Math.round((cpuSeconds(child.pid) / wall) * 100), serverCpuPct: 0 };
}

const round = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? NaN : Number(n.toFixed(d)));

async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const s = opts.quick ? QUICK : FULL;
  const stack = stackEnv();
  const pin = pinning();
  const seed = (Date.now() % 1_000_000_000) + 7;
  const results: Record<'ours' | 'leshan', { report: SimReport; serverCpuPct: number }> = {} as never;
  for (const which of ['ours', 'leshan'] as const) {
    let server: Server | undefined;
    try {
      server = which === 'ours' ? await startGateway(pin.server, stack, `bench-vs-leshan-${process.pid}`) : await startLeshan(pin.server);
      const c0 = cpuSeconds(server.pid);
      const t0 = Date.now();
      const r = await simulate(pin.loadgen, server.port, s, seed);
      const serverCpuPct = Math.round(((cpuSeconds(server.pid) - c0) / ((Date.now() - t0) / 1000)) * 100);
      results[which] = { report: r.report, serverCpuPct };
    } finally {
      await server?.stop();
    }
  }
  const rows: BenchRow[] = [];
  const base = `Leshan ${LESHAN_VERSION} server (in-memory store), same simulator`;
  for (const [key, label] of [
    ['register', `Register from the simulator, ${s.ues.toLocaleString('en')} UEs at ${s.rate}/s offered`],
    ['update', `Update from the simulator, lifetime ${s.lifetimeS} s (≈ ${Math.round(s.ues / (s.lifetimeS / 2))}/s offered)`],
  ] as const) {
    const o = results.ours.report;
    const l = results.leshan.report;
    const ol = o.latencyMs[key];
    const ll = l.latencyMs[key];
    const rate = (r: SimReport) => (key === 'register' ? r.throughput.registerPerSec : r.throughput.updatePerSec);
    rows.push({
      group: 'gateway',
      name: label,
      opsPerSec: round(rate(o)),
      baseline: { name: base, opsPerSec: round(rate(l)) },
      extra: {
        ok: key === 'register' ? o.counts.registerOk : o.counts.updateOk,
        failed: key === 'register' ? o.counts.registerFailed : o.counts.updateFailed,
        p50_ms: round(ol?.p50),
        p99_ms: round(ol?.p99),
        leshan_ok: key === 'register' ? l.counts.registerOk : l.counts.updateOk,
        leshan_failed: key === 'register' ? l.counts.registerFailed : l.counts.updateFailed,
        leshan_p50_ms: round(ll?.p50),
        leshan_p99_ms: round(ll?.p99),
        p99_ratio_ours_over_leshan: round((ol?.p99 ?? NaN) / (ll?.p99 ?? NaN), 2),
        timeouts: o.counts.timeouts,
        leshan_timeouts: l.counts.timeouts,
        retransmissions: o.counts.retransmissions,
        leshan_retransmissions: l.counts.retransmissions,
        server_cpu_pct: results.ours.serverCpuPct,
        leshan_cpu_pct: results.leshan.serverCpuPct,
        pinning: pin.label,
      },
    });
  }
  return rows;
}

export const suite: BenchSuite = { name: 'simulator vs Leshan', run };
