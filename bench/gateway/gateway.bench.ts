/**
 * Gateway benchmark (issue 4): LwM2M Register and Update throughput of our CoAP gateway
 * (`dist/apps/coap-gateway`, real Redis and Kafka of the local stack) against the Eclipse
 * Leshan server library (bench/peers/LeshanServerBench.java, in-memory registration store,
 * NoSec) driven by the same load generator (bench/gateway/loadgen.ts) in the same run, plus
 * the Redis memory per registration and per active observation.
 *
 * Layout: the server under test is pinned to core 0 and the load generator to core 1
 * (`taskset`, when available and the machine has ≥ 2 cores). Redis and Kafka are not pinned:
 * on a 2-core machine they share both cores with the server and the load generator.
 *
 * Environment knobs (optional): BENCH_GATEWAY_CPU_PROF=<dir> starts the gateway with
 * `node --cpu-prof --cpu-prof-dir=<dir>`; LESHAN_SERVER_LIB / PEERS_JAVA override the
 * Leshan jars and the Java binary (defaults: deploy/local/peers.sh locations).
 */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createRedis, type Redis, ScriptRunner } from '../../libs/redis/src/index';
import { GATEWAY_SCRIPTS, RegistrationStore } from '../../apps/coap-gateway/src/registration-store';
import type { BenchOptions, BenchRow, BenchSuite } from '../lib/types';
import { cpuSeconds, cpuTotals, LESHAN_VERSION, pinning, rcvbufErrors, type Server, sleep, spawnPinned, stackEnv, startGateway, startLeshan } from '../lib/proc';
import { BENCH_IMEI_PREFIX, benchImei, type PhaseResult } from './loadgen';

const GROUP = 'gateway';
const DEVICE_EVENTS = 'dmp.device-events.v1';
const DEADLINE_SHARDS = 16;
const OBS_TOKEN_PREFIX = 'b0b0';
/** Warm-up devices live in their own index range (still inside the bench IMEI prefix). */
const WARMUP_BASE = 9_000_000_000;

interface Settings {
  sockets: number;
  perSocket: number;
  window: number;
  warmupMs: number;
  registerMs: number;
  updateMs: number;
  observations: number;
}

const QUICK: Settings = { sockets: 256, perSocket: 32, window: 256, warmupMs: 2500, registerMs: 6000, updateMs: 5000, observations: 4000 };
const FULL: Settings = { sockets: 256, perSocket: 160, window: 256, warmupMs: 4000, registerMs: 20000, updateMs: 15000, observations: 20000 };


/** Redis server CPU seconds (INFO cpu: used_cpu_user + used_cpu_sys, main and background). */
async function redisCpuSeconds(redis: Redis | undefined): Promise<number> {
  if (!redis) return 0;
  const info = await redis.info('cpu');
  const v = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return v('used_cpu_user') + v('used_cpu_sys');
}

/** The load generator child process (JSON lines on stdin/stdout). */
class LoadGenProcess {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private waiter: ((l: string) => void) | undefined;
  private err = '';

  constructor(pin: string[]) {
    this.child = spawnPinned(pin, process.execPath, [path.join(__dirname, 'loadgen.js')], process.env);
    readline.createInterface({ input: this.child.stdout! }).on('line', (l) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(l);
      } else this.lines.push(l);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
  }

  async call<T>(cmd: Record<string, unknown>, timeoutMs = 120000): Promise<T> {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const line =
      this.lines.shift() ??
      (await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`loadgen: no answer to ${String(cmd['cmd'])} in ${timeoutMs} ms ${this.err.slice(-1000)}`)), timeoutMs);
        this.waiter = (l) => {
          clearTimeout(t);
          resolve(l);
        };
        this.child.once('exit', (c) => reject(new Error(`loadgen exited (${c}): ${this.err.slice(-1000)}`)));
      }));
    const r = JSON.parse(line) as { ok: boolean; error?: string } & T;
    if (!r.ok) throw new Error(`loadgen ${String(cmd['cmd'])}: ${r.error}`);
    return r;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

// ------------------------------------------------------------------ redis / kafka helpers

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function scanDelete(redis: Redis, pattern: string, keep?: (key: string, value: string | null) => boolean): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2000);
    cursor = next;
    if (keys.length) {
      let del = keys;
      if (keep) {
        const vals = await redis.mget(...keys);
        del = keys.filter((k, i) => !keep(k, vals[i] ?? null));
      }
      if (del.length) n += await redis.unlink(...del);
    }
  } while (cursor !== '0');
  return n;
}

/** Deletes every key the benchmark created (bench IMEI range, bench observation tokens). */
async function cleanup(redis: Redis): Promise<number> {
  let n = 0;
  for (const p of ['reg', 'links', 'ep', 'known', 'obs-by-epi']) n += await scanDelete(redis, `dmp:${p}:${BENCH_IMEI_PREFIX}*`);
  n += await scanDelete(redis, `dmp:obs:${OBS_TOKEN_PREFIX}*`);
  n += await scanDelete(redis, 'dmp:addr:127.0.0.1:*', (_k, v) => !(v ?? '').startsWith(BENCH_IMEI_PREFIX));
  for (let s = 0; s < DEADLINE_SHARDS; s++) {
    const key = `dmp:deadlines:${s}`;
    let cursor = '0';
    do {
      const [next, flat] = await redis.zscan(key, cursor, 'MATCH', `${BENCH_IMEI_PREFIX}*`, 'COUNT', 2000);
      cursor = next;
      const members = flat.filter((_, i) => i % 2 === 0);
      if (members.length) n += await redis.zrem(key, ...members);
    } while (cursor !== '0');
  }
  return n;
}

async function deviceEventOffset(admin: ReturnType<Kafka['admin']>): Promise<number> {
  const offs = await admin.fetchTopicOffsets(DEVICE_EVENTS);
  return offs.reduce((s, o) => s + Number(o.high ?? o.offset), 0);
}

// ------------------------------------------------------------------ one target

interface TargetResult {
  register: PhaseResult;
  update: PhaseResult;
  registerCpu: number;
  updateCpu: number;
  registerRcvbuf: number;
  updateRcvbuf: number;
  /** all cores busy, in percent of one core (200 = both cores of a 2-core machine) */
  machineBusy: { register: number; update: number };
  redisCpu?: { register: number; update: number };
  kafka?: { register: { acked: number; ms: number }; update: { acked: number; ms: number } };
  redisBytesPerReg?: number;
  sampleKeyBytes?: number;
}

async function runTarget(
  server: Server,
  loadPin: string[],
  s: Settings,
  ctx: { redis?: Redis; admin?: ReturnType<Kafka['admin']> },
): Promise<TargetResult> {
  const gen = new LoadGenProcess(loadPin);
  try {
    await gen.call({ cmd: 'init', host: '127.0.0.1', port: server.port, sockets: s.sockets });
    const devices = s.sockets * s.perSocket;
    const warmDevices = Math.min(devices, s.sockets * 8);
    // warm-up (JIT of both servers, Redis scripts loaded, Kafka producer connected): not measured
    await gen.call({ cmd: 'register', from: WARMUP_BASE, to: WARMUP_BASE + warmDevices, durationMs: s.warmupMs, window: s.window, lifetime: 86400 });
    await gen.call({ cmd: 'update', from: WARMUP_BASE, to: WARMUP_BASE + warmDevices, durationMs: s.warmupMs / 2, window: s.window });
    await sleep(300);

    const phase = async (cmd: 'register' | 'update', durationMs: number) => {
      const k0 = ctx.admin ? await deviceEventOffset(ctx.admin) : 0;
      const r0 = rcvbufErrors();
      const c0 = cpuSeconds(server.pid);
      const rc0 = await redisCpuSeconds(ctx.redis);
      const m0 = cpuTotals();
      const t0 = performance.now();
      const { result } = await gen.call<{ result: PhaseResult }>({ cmd, from: 0, to: devices, durationMs, window: s.window, lifetime: 86400 }, durationMs + 60000);
      const wall = (performance.now() - t0) / 1000;
      const cpu = Math.round(((cpuSeconds(server.pid) - c0) / wall) * 100);
      const m1 = cpuTotals();
      const machineBusy = Math.round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100 * os.cpus().length);
      const redisCpu = ctx.redis ? Math.round((((await redisCpuSeconds(ctx.redis)) - rc0) / wall) * 100) : undefined;
      const rcv = rcvbufErrors() - r0;
      let kafka: { acked: number; ms: number } | undefined;
      if (ctx.admin) {
        const tEnd = performance.now();
        let acked = (await deviceEventOffset(ctx.admin)) - k0;
        while (acked < result.ok && performance.now() - tEnd < 15000) {
          await sleep(50);
          acked = (await deviceEventOffset(ctx.admin)) - k0;
        }
        kafka = { acked, ms: Math.round(performance.now() - tEnd) };
      }
      return { result, cpu, rcv, kafka, machineBusy, redisCpu };
    };

    const m0 = ctx.redis ? await usedMemory(ctx.redis) : 0;
    const reg = await phase('register', s.registerMs);
    let redisBytesPerReg: number | undefined;
    let sampleKeyBytes: number | undefined;
    if (ctx.redis && reg.result.ok > 0) {
      const m1 = await usedMemory(ctx.redis);
      // The bench sends M devices from each source port, so only `sockets` dmp:addr keys exist;
      // a real device has its own address: add one dmp:addr key per registration.
      const addrKeys = await ctx.redis.keys('dmp:addr:127.0.0.1:*');
      let addrBytes = 0;
      let counted = 0;
      for (const k of addrKeys.slice(0, 20)) {
        const b = await ctx.redis.memory('USAGE', k);
        if (typeof b === 'number') {
          addrBytes += b;
          counted++;
        }
      }
      addrBytes = counted ? addrBytes / counted : 0;
      redisBytesPerReg = Math.round((m1 - m0) / reg.result.ok + addrBytes);
      // cross-check: MEMORY USAGE of the per-device keys of sampled devices (zset entry excluded)
      let sum = 0;
      const samples = 50;
      for (let i = 0; i < samples; i++) {
        const epi = benchImei(Math.floor((i * reg.result.ok) / samples));
        for (const k of [`dmp:reg:${epi}`, `dmp:links:${epi}`, `dmp:known:${epi}`]) {
          const b = await ctx.redis.memory('USAGE', k);
          sum += typeof b === 'number' ? b : 0;
        }
      }
      sampleKeyBytes = Math.round(sum / samples + addrBytes);
    }
    const upd = await phase('update', s.updateMs);
    return {
      register: reg.result,
      update: upd.result,
      registerCpu: reg.cpu,
      updateCpu: upd.cpu,
      registerRcvbuf: reg.rcv,
      updateRcvbuf: upd.rcv,
      machineBusy: { register: reg.machineBusy, update: upd.machineBusy },
      ...(reg.redisCpu !== undefined && upd.redisCpu !== undefined ? { redisCpu: { register: reg.redisCpu, update: upd.redisCpu } } : {}),
      ...(reg.kafka && upd.kafka ? { kafka: { register: reg.kafka, update: upd.kafka } } : {}),
      ...(redisBytesPerReg !== undefined ? { redisBytesPerReg } : {}),
      ...(sampleKeyBytes !== undefined ? { sampleKeyBytes } : {}),
    };
  } finally {
    await gen.call({ cmd: 'exit' }, 5000).catch(() => undefined);
    await gen.close();
  }
}

/** Bytes per active observation, written with the gateway's own store code (RegistrationStore.saveObservation). */
async function observationMemory(redis: Redis, count: number): Promise<{ bytes: number; sampleBytes: number; count: number }> {
  const scripts = new ScriptRunner(redis, GATEWAY_SCRIPTS);
  await scripts.load();
  const store = new RegistrationStore(redis, scripts, DEADLINE_SHARDS);
  const perDevice = 4;
  const paths = ['/3/0/13', '/3303/0/5700', '/3/0', '/19/0/0'];
  const tokens: Array<{ token: string; epi: string }> = [];
  for (let i = 0; i < count; i++) tokens.push({ token: `${OBS_TOKEN_PREFIX}${randomBytes(6).toString('hex')}`, epi: benchImei(Math.floor(i / perDevice)) });
  // an observation is only recorded for a live registration: register the devices first (not counted)
  const devices = [...new Set(tokens.map((t) => t.epi))];
  const now = Date.now();
  for (let i = 0; i < devices.length; i += 500) {
    await Promise.all(
      devices.slice(i, i + 500).map((epi, j) =>
        store.register({
          epi, location: epi, lifetime: 3600, lwm2mVersion: '1.1', binding: 'U', queueMode: false, gatewayId: 'bench-obs',
          address: `127.0.1.${(i + j) % 250}:${10000 + ((i + j) % 50000)}`, now, links: '</3/0>', policy: 'open',
        }),
      ),
    );
  }
  const m0 = await usedMemory(redis);
  for (let i = 0; i < tokens.length; i += 500) {
    await Promise.all(
      tokens.slice(i, i + 500).map((t, j) => store.saveObservation(t.token, { epi: t.epi, path: paths[(i + j) % perDevice]!, contentFormat: 11542, ttlSeconds: 7 * 86400 })),
    );
  }
  const m1 = await usedMemory(redis);
  let sample = 0;
  const n = 50;
  for (let i = 0; i < n; i++) {
    const t = tokens[Math.floor((i * count) / n)]!;
    const h = await redis.memory('USAGE', `dmp:obs:${t.token}`);
    const set = await redis.memory('USAGE', `dmp:obs-by-epi:${t.epi}`);
    sample += (typeof h === 'number' ? h : 0) + (typeof set === 'number' ? set : 0) / perDevice;
  }
  // De-register removes each device's observations with it
  for (let i = 0; i < devices.length; i += 500) await Promise.all(devices.slice(i, i + 500).map((epi) => store.deregister(epi)));
  return { bytes: Math.round((m1 - m0) / count), sampleBytes: Math.round(sample / n), count };
}

// ------------------------------------------------------------------ suite

function codes(r: PhaseResult, okCode: string): string {
  const other = Object.entries(r.codes).filter(([c]) => c !== okCode);
  return other.length ? other.map(([c, n]) => `${c}:${n}`).join(' ') : 'none';
}

async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const s = opts.quick ? QUICK : FULL;
  const stack = stackEnv();
  const pin = pinning();
  const redis = createRedis(stack['REDIS_URL'] ?? 'redis://127.0.0.1:6380');
  await redis.connect();
  const kafka = new Kafka({ clientId: `bench-gateway-${process.pid}`, brokers: (stack['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const rows: BenchRow[] = [];
  const servers: Server[] = [];
  try {
    await cleanup(redis);
    // ours
    const gw = await startGateway(pin.server, stack, `bench-gw-${process.pid}`);
    servers.push(gw);
    const ours = await runTarget(gw, pin.loadgen, s, { redis, admin });
    await gw.stop();
    const gwErrors = gw.output().split('\n').filter((l) => /"level":(50|60)/.test(l)).length;
    // baseline
    const leshan = await startLeshan(pin.server);
    servers.push(leshan);
    const base = await runTarget(leshan, pin.loadgen, s, {});
    await leshan.stop();
    const leshanRegs = /LESHAN REGISTRATIONS (\d+)/.exec(leshan.output())?.[1] ?? '?';

    const baseName = `Leshan ${LESHAN_VERSION} server (in-memory store)`;
    const common = { devices: s.sockets * s.perSocket, sockets: s.sockets, window: s.window, pinning: pin.label };
    for (const [name, key, okCode, target] of [
      ['Gateway Register/s (1 core)', 'register', '2.01', 10_000],
      ['Gateway Update/s (1 core)', 'update', '2.04', 20_000],
    ] as const) {
      const o = ours[key];
      const b = base[key];
      rows.push({
        group: GROUP,
        name,
        opsPerSec: o.opsPerSec,
        baseline: { name: baseName, opsPerSec: b.opsPerSec },
        target,
        extra: {
          ok: o.ok,
          p50ms: o.latencyMs.p50,
          p99ms: o.latencyMs.p99,
          maxms: o.latencyMs.max,
          otherCodes: codes(o, okCode),
          timeouts: o.timeouts,
          retransmissions: o.retransmissions,
          kafkaAcked: ours.kafka?.[key].acked ?? 'n/a',
          kafkaAllAckedAfterMs: ours.kafka?.[key].ms ?? 'n/a',
          rcvbufErrors: key === 'register' ? ours.registerRcvbuf : ours.updateRcvbuf,
          serverCpuPct: key === 'register' ? ours.registerCpu : ours.updateCpu,
          loadgenCpuPct: o.cpuPercent,
          redisCpuPct: ours.redisCpu?.[key] ?? 'n/a',
          machineBusyPct: ours.machineBusy[key],
          gatewayErrorLogs: gwErrors,
          leshanOk: b.ok,
          leshanP50ms: b.latencyMs.p50,
          leshanP99ms: b.latencyMs.p99,
          leshanOtherCodes: codes(b, okCode),
          leshanTimeouts: b.timeouts,
          leshanRcvbufErrors: key === 'register' ? base.registerRcvbuf : base.updateRcvbuf,
          leshanCpuPct: key === 'register' ? base.registerCpu : base.updateCpu,
          leshanLoadgenCpuPct: b.cpuPercent,
          leshanMachineBusyPct: base.machineBusy[key],
          ...(key === 'register' ? { leshanLiveRegistrationsInclWarmup: leshanRegs } : {}),
          ...common,
        },
      });
    }
    if (ours.redisBytesPerReg !== undefined) {
      rows.push({
        group: GROUP,
        name: 'Redis bytes per registration (value = bytes, lower is better)',
        opsPerSec: ours.redisBytesPerReg,
        extra: {
          target: `≤300 B ${ours.redisBytesPerReg <= 300 ? 'met' : 'missed'}`,
          method: 'INFO used_memory delta over the register phase / registrations (incl. dmp:deadlines zset) + MEMORY USAGE of one dmp:addr key',
          sampledKeysBytes: ours.sampleKeyBytes ?? 'n/a',
          sampledKeys: 'reg+links+known+addr, zset entry excluded, 50 devices',
          registrations: ours.register.ok,
        },
      });
    }
    const obs = await observationMemory(redis, s.observations);
    rows.push({
      group: GROUP,
      name: 'Redis bytes per active observation (value = bytes, lower is better)',
      opsPerSec: obs.bytes,
      extra: {
        method: `${obs.count} observations (4 per device) written with RegistrationStore.saveObservation (dmp:obs:{token} hash epi/path/cf + 7 d TTL + member of dmp:obs-by-epi:{epi}); INFO used_memory delta / count`,
        sampledBytes: obs.sampleBytes,
        sampled: 'MEMORY USAGE dmp:obs:{token} + 1/4 of dmp:obs-by-epi:{epi}, 50 samples',
      },
    });
  } finally {
    for (const srv of servers) await srv.stop().catch(() => undefined);
    await cleanup(redis).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
  }
  return rows;
}

export const suite: BenchSuite = { name: 'gateway', run };
