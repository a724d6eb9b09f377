/**
 * Storage benchmark (issue 5): sustained values/s from Kafka into the local single-node
 * Cassandra through `dist/apps/storage` (pinned to core 0 with taskset when available),
 * and the Kafka-to-Cassandra lag (event time → rows acknowledged, the service's
 * dmp_storage_lag_seconds histogram) at a fixed offered load.
 *
 * Isolation: its own topic (dmp.bench-storage-<run>.v1, deleted afterwards) and keyspace
 * (bench_storage_<run>, dropped afterwards), so neither dmp.data.v1 nor keyspace dmp see
 * bench data. Workload: 5,000 devices, notifications of 4 resources (/3303/0/5700, /3303/0/5701,
 * /3/0/9, /3/0/7/0), JSON DataEvents of ~400 bytes as the gateway publishes them.
 * Phase 1 (throughput): a backlog is produced first, then the service drains it; values/s
 * = values / (time of the last write - time of the first). Phase 2 (lag): events produced
 * at half the measured rate, each stamped with its produce time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createCassandra } from '../../libs/cassandra/src/index';
import type { BenchOptions, BenchRow, BenchSuite } from '../lib/types';
import { cpuSeconds, pinning, ROOT, sleep, stackEnv } from '../lib/proc';

const DEVICES = 5000;

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}
function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}
/** Cumulative histogram buckets {le → count}. */
function buckets(text: string, name: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of text.split('\n')) {
    const r = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\} (\\S+)$`).exec(line);
    if (r) m.set(r[1] === '+Inf' ? Infinity : Number(r[1]), Number(r[2]));
  }
  return m;
}
/** Quantile from the difference of two cumulative histograms (linear within a bucket). */
function quantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  const target = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const c = (after.get(le) ?? 0) - (before.get(le) ?? 0);
    if (c >= target) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (target - prevCount)) / Math.max(1, c - prevCount);
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}

function event(i: number, run: string, ts: number): { key: string; value: string } {
  const epi = `${run}${String(i % DEVICES).padStart(9, '0')}`;
  const t = Math.floor(i / DEVICES);
  return {
    key: epi,
    value: JSON.stringify({
      v: 1,
      epi,
      ts,
      eventId: randomUUID(),
      source: 'notify',
      path: '/3303/0',
      contentFormat: 11543,
      observeSeq: t,
      values: [
        { path: '/3303/0/5700', type: 'float', value: 20 + (i % 100) / 10, ts: ts - 1 },
        { path: '/3303/0/5701', type: 'string', value: 'Cel', ts: ts - 1 },
        { path: '/3/0/9', type: 'integer', value: i % 101, ts: ts - 1 },
        { path: '/3/0/7/0', type: 'integer', value: 3300 + (i % 500), ts: ts - 1 },
      ],
    }),
  };
}

async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const stack = stackEnv();
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const topic = `dmp.bench-storage-${runId}.v1`;
  const keyspace = `bench_storage_${runId}`;
  const epiRun = String(200 + (Date.now() % 700)) + String(randomBytes(2).readUInt16BE() % 1000).padStart(3, '0');
  const backlogEvents = opts.quick ? 20_000 : 120_000;
  const lagSeconds = opts.quick ? 6 : 20;

  const kafka = new Kafka({ clientId: `bench-storage-${runId}`, brokers: (stack['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const db = createCassandra({ contactPoints: (stack['CASSANDRA_CONTACT_POINTS'] ?? '127.0.0.1:9042').split(','), localDataCenter: 'datacenter1' });
  await Promise.all([admin.connect(), producer.connect(), db.connect()]);
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 12, replicationFactor: -1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });

  let child: ChildProcess | undefined;
  try {
    // phase 1: backlog
    const sendAll = async (n: number, offset: number, ts: () => number) => {
      for (let i = 0; i < n; i += 2000) {
        const msgs = Array.from({ length: Math.min(2000, n - i) }, (_, k) => event(offset + i + k, epiRun, ts()));
        await producer.send({ topic, messages: msgs, acks: -1 });
      }
    };
    await sendAll(backlogEvents, 0, () => Date.now());
    const backlogValues = backlogEvents * 4;

    let out = '';
    const prefix = pinning().server;
    const args = [...prefix, process.execPath, path.join(ROOT, 'dist/apps/storage/src/main.js')];
    child = spawn(args[0]!, args.slice(1), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...stack,
        HTTP_PORT: '0',
        LOG_LEVEL: 'warn',
        CASSANDRA_KEYSPACE: keyspace,
        STORAGE_TOPIC: topic,
        STORAGE_GROUP_ID: `bench-storage-${runId}`,
        STORAGE_FROM_BEGINNING: 'true',
        STORAGE_KEYS: JSON.stringify({ k1: randomBytes(32).toString('base64') }),
        STORAGE_ACTIVE_KEY: 'k1',
        STORAGE_HASH_KEY: randomBytes(32).toString('base64'),
      },
    });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const end = Date.now() + 60000;
    let url: string | undefined;
    while (!url) {
      if (child.exitCode !== null) throw new Error(`storage exited: ${out.slice(-2000)}`);
      if (Date.now() > end) throw new Error(`storage did not start: ${out.slice(-2000)}`);
      url = /HTTP LISTENING (\S+)/.exec(out)?.[1];
      await sleep(50);
    }

    let first = 0;
    let last = 0;
    let cpuStart = 0;
    let done = 0;
    const drainEnd = Date.now() + (opts.quick ? 25000 : 180000);
    while (done < backlogValues && Date.now() < drainEnd) {
      const v = metricValue(await metrics(url), 'dmp_storage_values_total');
      const now = Date.now();
      if (v > 0 && first === 0) {
        first = now;
        cpuStart = cpuSeconds(child.pid);
      }
      if (v > done) last = now;
      done = v;
      await sleep(25);
    }
    const cpu = cpuSeconds(child.pid) - cpuStart;
    const secs = Math.max(0.001, (last - first) / 1000);
    const valuesPerSec = done / secs;

    // phase 2: lag at half the measured rate
    const rateEvents = Math.max(500, Math.floor(valuesPerSec / 4 / 2));
    const before = buckets(await metrics(url), 'dmp_storage_lag_seconds');
    let sent = backlogEvents;
    const t0 = Date.now();
    while (Date.now() - t0 < lagSeconds * 1000) {
      const due = Math.floor(((Date.now() - t0) / 1000) * rateEvents) + backlogEvents - sent;
      if (due > 0) {
        const msgs = Array.from({ length: due }, (_, k) => event(sent + k, epiRun, Date.now()));
        await producer.send({ topic, messages: msgs, acks: -1 });
        sent += due;
      }
      await sleep(20);
    }
    const want = sent * 4;
    const settle = Date.now() + (opts.quick ? 8000 : 20000);
    while (metricValue(await metrics(url), 'dmp_storage_values_total') < want && Date.now() < settle) await sleep(100);
    const after = buckets(await metrics(url), 'dmp_storage_lag_seconds');

    return [
      {
        group: 'storage',
        name: 'Kafka → Cassandra, values/s (backlog drain, 4 values/event, storage on 1 core)',
        opsPerSec: Math.round(valuesPerSec),
        target: 20000,
        extra: {
          values: done,
          seconds: Number(secs.toFixed(2)),
          storageCpuCores: Number((cpu / secs).toFixed(2)),
          pinning: prefix.length ? 'taskset -c 0' : 'none',
          devices: DEVICES,
        },
      },
      {
        group: 'storage',
        name: `Kafka → Cassandra lag at ${rateEvents * 4} values/s offered`,
        opsPerSec: rateEvents * 4,
        extra: {
          lagP50ms: Math.round(quantile(before, after, 0.5) * 1000),
          lagP99ms: Math.round(quantile(before, after, 0.99) * 1000),
          events: sent - backlogEvents,
        },
      },
    ];
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(12000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await db.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await Promise.allSettled([producer.disconnect(), admin.disconnect(), db.shutdown()]);
  }
}

export const suite: BenchSuite = { name: 'storage', run };
