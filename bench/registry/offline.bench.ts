/**
 * Registry sweeper benchmark (issue 5): N registrations written straight into Redis with the
 * gateway's key layout (pipelined; a bench of the sweeper, not of the gateway), of which
 * 10,000 expire per second; one sweeper (the registry's Sweeper class, in this process,
 * real Redis and Kafka) publishes `offline` events; a Kafka consumer measures the delay
 * from deadline + grace to the event's arrival. Then 100,000 registrations expire at the
 * same instant: time until the last `offline` arrived. Redis memory per registration
 * (INFO used_memory delta / N) including the deadline index. Bench keys use an EPI prefix
 * of their own and are removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { KafkaJsEventBus } from '../../libs/kafka/src/index';
import { createRedis, type Redis, ScriptRunner } from '../../libs/redis/src/index';
import { deadlineShard, REGISTRY_SCRIPTS, regKeys } from '../../apps/registry/src/redis-layout';
import { Sweeper } from '../../apps/registry/src/sweeper';
import type { BenchOptions, BenchRow, BenchSuite } from '../lib/types';

const GROUP = 'registry';
const SHARDS = 16;
const TOPIC = 'dmp.device-events.v1';
const GRACE_MIN_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]! : NaN);

/** Bench EPIs: 15 characters, a prefix no real device uses. */
const epiOf = (run: string, i: number) => `BR${run}${i.toString(36).padStart(9, '0')}`;

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Writes registrations exactly as the gateway's REGISTER script leaves them (hash, links, zset entry, address key, known key). */
async function writeRegistrations(redis: Redis, run: string, from: number, count: number, deadlineOf: (i: number) => number, lifetimeS: number): Promise<void> {
  const now = Date.now();
  const chunk = 2000;
  for (let s = from; s < from + count; s += chunk) {
    const p = redis.pipeline();
    for (let i = s; i < Math.min(from + count, s + chunk); i++) {
      const epi = epiOf(run, i);
      const addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${5683 + (i % 1000)}`;
      const dl = deadlineOf(i);
      p.hset(regKeys.reg(epi), 'loc', `${epi};v2.0`, 'lt', lifetimeS, 'v', '1.1', 'b', 'U', 'q', 0, 'gw', 'bench-gw-1', 'a', addr, 'rt', now, 'ut', now, 'dl', dl, 'aw', now);
      p.set(regKeys.links(epi), '</1/0>,</3/0>,</4/0>,</5/0>,</19/0>');
      p.zadd(regKeys.deadlines(deadlineShard(epi, SHARDS)), dl, epi);
      p.set(regKeys.addr(addr), epi, 'EX', lifetimeS + 3600);
      p.set(regKeys.known(epi), String(now));
    }
    await p.exec();
  }
}

async function cleanup(redis: Redis, run: string, count: number): Promise<void> {
  for (let s = 0; s < count; s += 5000) {
    const p = redis.pipeline();
    for (let i = s; i < Math.min(count, s + 5000); i++) {
      const epi = epiOf(run, i);
      const addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${5683 + (i % 1000)}`;
      p.del(regKeys.reg(epi), regKeys.links(epi), regKeys.known(epi), regKeys.addr(addr));
      p.zrem(regKeys.deadlines(deadlineShard(epi, SHARDS)), epi);
    }
    await p.exec();
  }
  // pending records of this run (none unless a publication failed)
  const left = (await redis.zrange(regKeys.pending, '0', '-1')).filter((r) => r.startsWith(`BR${run}`));
  for (let i = 0; i < left.length; i += 5000) await redis.call('ZREM', regKeys.pending, ...left.slice(i, i + 5000));
}

export const suite: BenchSuite = {
  name: 'registry offline sweeper',
  async run(opts: BenchOptions): Promise<BenchRow[]> {
    const total = opts.quick ? 100_000 : 1_000_000;
    const ratePerSec = 10_000;
    const steadySeconds = opts.quick ? 5 : 10;
    const burst = opts.quick ? 20_000 : 100_000;
    const lifetimeS = 86_400;
    const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6380';
    const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
    const run = randomBytes(2).toString('hex').toUpperCase();
    const redis = createRedis(redisUrl);
    const bus = new KafkaJsEventBus({ clientId: `bench-registry-${run}`, brokers });
    const consumerBus = new KafkaJsEventBus({ clientId: `bench-registry-c-${run}`, brokers });
    await Promise.all([redis.connect(), bus.connect(), consumerBus.connect()]);
    const scripts = new ScriptRunner(redis, REGISTRY_SCRIPTS);
    await scripts.load();

    // arrivals of this run's offline events
    const arrivals = new Map<string, { at: number; deadline: number }>();
    await consumerBus.runConsumer({
      groupId: `bench-registry-${run}-${Date.now()}`,
      topics: [TOPIC],
      fromBeginning: false,
      handler: async (m) => {
        const key = m.key?.toString() ?? '';
        if (!key.startsWith(`BR${run}`)) return;
        const v = JSON.parse(m.value?.toString() ?? '{}') as { type?: string; deadline?: number };
        if (v.type === 'offline' && !arrivals.has(key)) arrivals.set(key, { at: Date.now(), deadline: v.deadline ?? 0 });
      },
    });
    await sleep(4000);

    const rows: BenchRow[] = [];
    try {
      // --- population: `total` registrations; the first steadySeconds × rate expire at `rate`/s
      const steadyCount = ratePerSec * steadySeconds;
      const mem0 = await usedMemory(redis);
      const t0 = Date.now();
      // the bulk (deadlines a week away) first, then the expiring set, whose deadline + grace
      // (= GRACE_MIN, lifetime percent 0) is spread evenly over the steady window
      await writeRegistrations(redis, run, steadyCount, total - steadyCount, () => Date.now() + 7 * 86_400_000, lifetimeS);
      const startAt = Date.now() + 3000 + Math.ceil(steadyCount / 3);
      await writeRegistrations(redis, run, 0, steadyCount, (i) => startAt + Math.floor((i * 1000) / ratePerSec) - GRACE_MIN_MS, lifetimeS);
      const writeMs = Date.now() - t0;
      const mem1 = await usedMemory(redis);
      const bytesPerReg = (mem1 - mem0) / total;
      const sizes = await Promise.all([
        redis.memory('USAGE', regKeys.reg(epiOf(run, total - 1))),
        redis.memory('USAGE', regKeys.links(epiOf(run, total - 1))),
        redis.memory('USAGE', regKeys.known(epiOf(run, total - 1))),
      ]);
      if (Date.now() > startAt - 200) throw new Error(`writing the expiring set took too long (${writeMs} ms in all): raise the start margin`);

      const sweeper = new Sweeper(scripts, redis, bus.producer(), {
        shards: SHARDS,
        graceMinMs: GRACE_MIN_MS,
        gracePercent: 0,
        intervalMs: 100,
        batch: 1000,
        pendingRetryMs: 30_000,
      });
      sweeper.start();
      await sleep(startAt + steadySeconds * 1000 - Date.now());
      await waitFor(() => arrivals.size >= steadyCount, 15_000);
      const steady = [...arrivals.values()].map((a) => a.at - (a.deadline + GRACE_MIN_MS)).sort((a, b) => a - b);
      rows.push({
        group: GROUP,
        name: `offline delay, ${ratePerSec}/s expiring among ${total.toLocaleString('en')} registrations (1 sweeper)`,
        opsPerSec: steady.length / steadySeconds,
        target: ratePerSec,
        extra: {
          p50_ms: pct(steady, 0.5),
          p99_ms: pct(steady, 0.99),
          max_ms: steady.at(-1) ?? NaN,
          target_p99_ms: 1000,
          p99_met: pct(steady, 0.99) <= 1000 ? 'yes' : 'no',
          events: steady.length,
        },
      });

      // --- burst: `burst` registrations with the same deadline
      const burstFrom = total;
      const burstAt = Date.now() + 3000 + Math.ceil(burst / 3);
      await writeRegistrations(redis, run, burstFrom, burst, () => burstAt - GRACE_MIN_MS, lifetimeS);
      await sleep(burstAt - Date.now());
      await waitFor(() => arrivals.size >= steadyCount + burst, 30_000);
      const burstArrivals: number[] = [];
      for (let i = burstFrom; i < burstFrom + burst; i++) {
        const a = arrivals.get(epiOf(run, i));
        if (a) burstArrivals.push(a.at);
      }
      const complete = burstArrivals.length === burst;
      const drainMs = burstArrivals.length ? Math.max(...burstArrivals) - burstAt : NaN;
      rows.push({
        group: GROUP,
        name: `${burst.toLocaleString('en')} simultaneous expiries drained (1 sweeper)`,
        opsPerSec: burstArrivals.length / (drainMs / 1000),
        extra: { drain_ms: drainMs, target_ms: 2000, met: complete && drainMs <= 2000 ? 'yes' : 'no', events: burstArrivals.length, expected_events: burst },
      });
      await sweeper.stop();

      rows.push({
        group: GROUP,
        name: 'Redis bytes per registration (gateway layout incl. deadline index, known, addr)',
        opsPerSec: Math.round(total / (writeMs / 1000)),
        extra: {
          bytes_per_registration: Math.round(bytesPerReg),
          target_bytes: 300,
          met: bytesPerReg <= 300 ? 'yes' : 'no',
          hash_bytes: Number(sizes[0]),
          links_bytes: Number(sizes[1]),
          known_bytes: Number(sizes[2]),
          note: 'opsPerSec = pipelined writes/s',
        },
      });
    } finally {
      await cleanup(redis, run, total + burst);
      await Promise.allSettled([bus.close(), consumerBus.close()]);
      redis.disconnect();
    }
    return rows;
  },
};

async function waitFor(pred: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred() && Date.now() < end) await sleep(50);
}
