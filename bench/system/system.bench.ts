/**
 * Full-system benchmark (issue 7, suite item 3): simulated UEs (`apps/simulator`, real CoAP
 * over UDP) register with a real gateway, update at lifetime/2 and send data (LwM2M Send,
 * SenML CBOR) for a fixed time while the registry and storage services consume the events.
 * Measured where the data lands, not at the sender:
 *  - registrations/s (simulator report: 2.01 answers per second during the ramp);
 *  - data events stored per second, counted in Cassandra (data_raw rows of this run);
 *  - end-to-end latency device → Cassandra: WRITETIME of the row (the storage service's
 *    write, client-side timestamp) minus the gateway's receive time stored in the row
 *    (simulator and gateway share the machine's clock);
 *  - offline detection delay: a second group of UEs stops without de-registering; the
 *    registry's `offline` events (dmp.device-events.v1) carry the deadline they passed;
 *  - Redis bytes per registration (INFO used_memory delta once all UEs are registered);
 *  - RSS per service at the end of the steady phase.
 *
 * Isolation: its own Cassandra keyspace (bench_system_<run>, dropped afterwards), its own
 * consumer groups and gateway id; UE identities from a per-run seed; every UE
 * de-registers at the end (the offline group expires by design).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import { createCassandra } from '../../libs/cassandra/src/index';
import { createRedis, type Redis } from '../../libs/redis/src/index';
import type { BenchOptions, BenchRow, BenchSuite } from '../lib/types';
import { ROOT, rssBytes, type Server, sleep, stackEnv, startGateway, startService } from '../lib/proc';

interface Settings {
  ues: number;
  rate: number;
  lifetimeS: number;
  steadyS: number;
  sendIntervalS: number;
  /** UEs that stop without de-registering (0 = offline delay not measured). */
  offlineUes: number;
  offlineLifetimeS: number;
}

const QUICK: Settings = { ues: 2000, rate: 1000, lifetimeS: 30, steadyS: 15, sendIntervalS: 5, offlineUes: 0, offlineLifetimeS: 20 };
const FULL: Settings = { ues: 10000, rate: 2000, lifetimeS: 60, steadyS: 60, sendIntervalS: 10, offlineUes: 1000, offlineLifetimeS: 20 };

const DEVICE_EVENTS = 'dmp.device-events.v1';

/** Subset of the simulator's JSON report this suite reads (apps/simulator README). */
interface SimReport {
  ues: number;
  counts: { registerOk: number; registerFailed: number; updateOk: number; deregisterOk: number; sendsSent: number; timeouts: number; retransmissions: number };
  responsesByCode: Record<string, number>;
  latencyMs: Record<string, { count: number; p50: number; p90: number; p99: number; max: number } | undefined>;
  throughput: { registerPerSec: number; updatePerSec: number };
  memory: { rssBytes: number; bytesPerUe: number };
}

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const round = (n: number, d = 1) => Number(n.toFixed(d));

/** Runs the built simulator CLI; resolves with its report. `onLine` sees every output line. */
function runSimulator(args: string[], onLine: (line: string) => void): { child: ChildProcess; done: Promise<SimReport> } {
  const report = path.join(os.tmpdir(), `dmp-bench-sim-${process.pid}-${randomBytes(3).toString('hex')}.json`);
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/apps/simulator/src/main.js'), ...args, '--report', report, '--metrics-port', '0'], {
    cwd: ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const line = (l: string) => {
    tail = `${tail}${l}\n`.slice(-4000);
    onLine(l);
  };
  readline.createInterface({ input: child.stdout! }).on('line', line);
  readline.createInterface({ input: child.stderr! }).on('line', line);
  const done = new Promise<SimReport>((resolve, reject) => {
    child.once('exit', (code, signal) => {
      try {
        const r = JSON.parse(fs.readFileSync(report, 'utf8')) as SimReport;
        fs.rmSync(report, { force: true });
        resolve(r);
      } catch (e) {
        reject(new Error(`simulator exited (${code ?? signal}) without a report: ${String(e)}\n${tail}`));
      }
    });
  });
  return { child, done };
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
}

/** EPIs the simulator derives for (seed, indices) — the same code the simulator runs. */
function expectedEpis(seed: number, first: number, count: number): Set<string> {
  const mod = require(path.join(ROOT, 'dist/apps/simulator/src/device/identity.js')) as {
    createIdentityFactory(o: { seed: number; forms: Record<string, number> }): (i: number) => { expectedEpi: string };
  };
  const f = mod.createIdentityFactory({ seed, forms: SIM_FORMS });
  const s = new Set<string>();
  for (let i = first; i < first + count; i++) s.add(f(i).expectedEpi);
  return s;
}

/** EPN mix of the run (no Form A: it needs an AppKey password registered first). */
const SIM_FORMS = { B: 5, C: 2, URN_IMEI: 2, IMEI: 1 };
const formsArg = Object.entries(SIM_FORMS)
  .map(([k, v]) => `${k}:${v}`)
  .join(',');

async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const s = opts.quick ? QUICK : FULL;
  const stack = stackEnv();
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const keyspace = `bench_system_${runId}`;
  const seed = (Date.now() % 1_000_000_000) + 1;
  const redis = createRedis(stack['REDIS_URL']!);
  const cassandra = createCassandra({ contactPoints: stack['CASSANDRA_CONTACT_POINTS']!.split(','), localDataCenter: stack['CASSANDRA_LOCAL_DC'] ?? 'datacenter1' });
  const kafka = new Kafka({ brokers: stack['KAFKA_BROKERS']!.split(','), clientId: `bench-system-${runId}`, logLevel: logLevel.NOTHING });
  const servers: Server[] = [];
  const rows: BenchRow[] = [];
  const serviceEnv = {
    REDIS_URL: stack['REDIS_URL']!,
    KAFKA_BROKERS: stack['KAFKA_BROKERS']!,
    CASSANDRA_CONTACT_POINTS: stack['CASSANDRA_CONTACT_POINTS']!,
    CASSANDRA_LOCAL_DC: stack['CASSANDRA_LOCAL_DC'] ?? 'datacenter1',
    CASSANDRA_KEYSPACE: keyspace,
  };
  const offlineConsumer = kafka.consumer({ groupId: `bench-system-offline-${runId}` });
  try {
    const gw = await startGateway([], stack, `bench-sys-${runId}`);
    servers.push(gw);
    const registry = await startService('registry', [], { ...serviceEnv, REGISTRY_GROUP_ID: `bench-sys-registry-${runId}` });
    servers.push(registry);
    const storage = await startService('storage', [], {
      ...serviceEnv,
      STORAGE_GROUP_ID: `bench-sys-storage-${runId}`,
      STORAGE_FROM_BEGINNING: 'false',
    });
    servers.push(storage);

    // offline events of this run, from now on
    const offlineAt = new Map<string, { ts: number; deadline: number }>();
    await offlineConsumer.connect();
    await offlineConsumer.subscribe({ topic: DEVICE_EVENTS, fromBeginning: false });
    await offlineConsumer.run({
      eachMessage: async ({ message }) => {
        const v = JSON.parse(message.value?.toString() ?? '{}') as { type?: string; epi?: string; ts?: number; deadline?: number };
        if (v.type === 'offline' && v.epi && v.ts !== undefined && v.deadline !== undefined) offlineAt.set(v.epi, { ts: v.ts, deadline: v.deadline });
      },
    });
    // consumers of new groups start at the end: let every group join before the first event
    await sleep(6000);

    const target = `coap://127.0.0.1:${gw.port}`;
    const mem0 = await usedMemory(redis);
    let memRegistered: number | undefined;
    let registeredAt = 0;
    const rss: Record<string, number> = {};
    const steadyStart = { t: 0 };
    const sim = runSimulator(
      [
        '--target', target, '--ues', String(s.ues), '--seed', String(seed), '--rate', String(s.rate), '--lifetime', String(s.lifetimeS),
        '--binding', 'U', '--send-interval', String(s.sendIntervalS), '--duration', String(s.steadyS), '--forms', formsArg,
        '--progress-interval', '1', '--processes', s.ues > 12000 ? '2' : '1',
      ],
      (l) => {
        const m = /ues (\d+)\/(\d+) registered/.exec(l);
        if (m && Number(m[1]) >= s.ues && !registeredAt) registeredAt = Date.now();
      },
    );
    // Redis memory once every UE is registered (sampled on the first progress line that says so)
    const memProbe = (async () => {
      while (!registeredAt && sim.child.exitCode === null) await sleep(100);
      if (!registeredAt) return;
      steadyStart.t = registeredAt;
      memRegistered = await usedMemory(redis);
      await sleep(Math.max(1000, (s.steadyS * 1000) / 2));
      for (const srv of servers) rss[srv.name === 'ours' ? 'gateway' : srv.name] = rssBytes(srv.pid);
    })();
    const report = await sim.done;
    await memProbe;
    const simEnded = Date.now();

    // wait for storage to write everything the UEs sent (rows counted in Cassandra)
    const count = async () => {
      let n = 0;
      const lat: number[] = [];
      let first = Infinity;
      let last = 0;
      let pageState: string | undefined;
      do {
        const rs = await cassandra.execute(`SELECT source, ts, writetime(source) AS wt FROM ${keyspace}.data_raw`, [], { prepare: true, fetchSize: 5000, pageState });
        for (const row of rs.rows) {
          if (row['source'] !== 'send') continue;
          n++;
          const wt = row['wt'] as { toNumber(): number } | number;
          const written = (typeof wt === 'number' ? wt : wt.toNumber()) / 1000;
          lat.push(written - (row['ts'] as Date).getTime());
          first = Math.min(first, written);
          last = Math.max(last, written);
        }
        pageState = rs.pageState ?? undefined;
      } while (pageState);
      return { n, lat, first, last };
    };
    let stored = await count();
    for (let i = 0; i < 60 && stored.n < report.counts.sendsSent; i++) {
      await sleep(1000);
      stored = await count();
    }
    stored.lat.sort((a, b) => a - b);
    const storedWindowS = Math.max(1, (stored.last - stored.first) / 1000);

    const reg = report.latencyMs['register'];
    rows.push({
      group: 'system',
      name: `registrations/s through the whole platform (${s.ues.toLocaleString('en')} UEs, ${s.rate}/s offered; gateway + registry + storage + Redis + Kafka + Cassandra on this machine)`,
      opsPerSec: round(report.throughput.registerPerSec),
      extra: {
        ues: s.ues,
        register_ok: report.counts.registerOk,
        register_failed: report.counts.registerFailed,
        register_p50_ms: round(reg?.p50 ?? NaN),
        register_p99_ms: round(reg?.p99 ?? NaN),
        updates_ok: report.counts.updateOk,
        timeouts: report.counts.timeouts,
        retransmissions: report.counts.retransmissions,
        codes: Object.entries(report.responsesByCode).map(([c, n]) => `${c}:${n}`).join(' '),
      },
    });
    rows.push({
      group: 'system',
      name: `data events stored in Cassandra per second (LwM2M Send every ${s.sendIntervalS} s per UE, counted in Cassandra)`,
      opsPerSec: round(stored.n / storedWindowS),
      extra: {
        sent: report.counts.sendsSent,
        stored: stored.n,
        missing: report.counts.sendsSent - stored.n,
        latency_p50_ms: round(percentile(stored.lat, 0.5)),
        latency_p99_ms: round(percentile(stored.lat, 0.99)),
        latency_max_ms: round(stored.lat.at(-1) ?? NaN),
        latency: 'device→Cassandra: row writetime − gateway receive time',
        stored_window_s: round(storedWindowS),
        waited_after_sim_ms: Date.now() - simEnded,
      },
    });
    const regBytes = memRegistered !== undefined ? (memRegistered - mem0) / s.ues : NaN;
    rows.push({
      group: 'system',
      name: 'Redis bytes per registration (whole platform, value = bytes, lower is better)',
      opsPerSec: round(regBytes, 0),
      extra: { method: 'INFO used_memory when every UE is registered − before, / UEs', target: '≤300 B', met: regBytes <= 300 ? 'yes' : 'no' },
    });
    rows.push({
      group: 'system',
      name: 'RSS per process in the steady phase (value = MB of the gateway, lower is better)',
      opsPerSec: round((rss['gateway'] ?? 0) / 2 ** 20),
      extra: {
        gateway_mb: round((rss['gateway'] ?? 0) / 2 ** 20),
        registry_mb: round((rss['registry'] ?? 0) / 2 ** 20),
        storage_mb: round((rss['storage'] ?? 0) / 2 ** 20),
        simulator_mb: round(report.memory.rssBytes / 2 ** 20),
        simulator_bytes_per_ue: round(report.memory.bytesPerUe, 0),
        ues: s.ues,
      },
    });

    if (s.offlineUes > 0) {
      // a second group registers and goes silent: no update, no de-register
      const first = 5_000_000;
      const offSim = runSimulator(
        [
          '--target', target, '--ues', String(s.offlineUes), '--first-index', String(first), '--seed', String(seed), '--rate', String(s.rate),
          '--lifetime', String(s.offlineLifetimeS), '--binding', 'U', '--duration', '1', '--no-deregister', '--forms', formsArg,
        ],
        () => undefined,
      );
      const offReport = await offSim.done;
      const epis = expectedEpis(seed, first, s.offlineUes);
      const graceS = Math.max(10, s.offlineLifetimeS * 0.05);
      const until = Date.now() + (s.offlineLifetimeS + graceS + 30) * 1000;
      const ours = () => [...epis].filter((e) => offlineAt.has(e)).length;
      while (ours() < offReport.counts.registerOk && Date.now() < until) await sleep(500);
      const delays = [...epis]
        .map((e) => offlineAt.get(e))
        .filter((v): v is { ts: number; deadline: number } => v !== undefined)
        .map((v) => v.ts - v.deadline)
        .sort((a, b) => a - b);
      rows.push({
        group: 'system',
        name: `offline detection: ${s.offlineUes.toLocaleString('en')} UEs stop silently (lifetime ${s.offlineLifetimeS} s), offline event after the deadline`,
        opsPerSec: delays.length,
        extra: {
          registered: offReport.counts.registerOk,
          offline_events: delays.length,
          delay_after_deadline_p50_ms: round(percentile(delays, 0.5), 0),
          delay_after_deadline_p99_ms: round(percentile(delays, 0.99), 0),
          delay_after_deadline_max_ms: round(delays.at(-1) ?? NaN, 0),
          grace_ms: graceS * 1000,
          note: 'value = offline events received; delay includes the grace period max(10 s, 5 % of lifetime)',
        },
      });
    }
    return rows;
  } finally {
    await offlineConsumer.disconnect().catch(() => undefined);
    for (const srv of servers.reverse()) await srv.stop().catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    await admin
      .deleteGroups([`bench-sys-registry-${runId}`, `bench-sys-storage-${runId}`, `bench-system-offline-${runId}`])
      .catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await cassandra.shutdown().catch(() => undefined);
    redis.disconnect();
  }
}

export const suite: BenchSuite = { name: 'system', run };
