// Test harness for apps/storage: starts real storage processes against the local stack
// (own keyspace, consumer group and keys per test file), produces DataEvents, reads rows.
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { type CassandraClient, createCassandra } from '@dmp/cassandra';
import { type DataEvent, encodeMessage, Topics } from '@dmp/contracts';
import { KafkaJsEventBus } from '@dmp/kafka';
import { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from '@dmp/testing';
import { FieldCipher } from '../src/crypto';

export interface StorageEnv {
  keyspace: string;
  groupId: string;
  keys: { k1: Buffer; hash: Buffer };
  env: Record<string, string>;
  cipher: FieldCipher;
}

/** A fresh keyspace, group and key set (keys as the service reads them from env). */
export function storageEnv(prefix: string, extra: Record<string, string> = {}): StorageEnv {
  const keyspace = uniqueName(prefix).toLowerCase();
  const groupId = uniqueName(`${prefix}-group`);
  const k1 = randomBytes(32);
  const hash = randomBytes(32);
  return {
    keyspace,
    groupId,
    keys: { k1, hash },
    cipher: new FieldCipher({ k1 }, 'k1', hash),
    env: {
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      CASSANDRA_CONTACT_POINTS: stack.cassandraContactPoints.join(','),
      CASSANDRA_KEYSPACE: keyspace,
      STORAGE_GROUP_ID: groupId,
      STORAGE_FROM_BEGINNING: 'false',
      STORAGE_SESSION_TIMEOUT_MS: '6000',
      STORAGE_KEYS: JSON.stringify({ k1: k1.toString('base64') }),
      STORAGE_ACTIVE_KEY: 'k1',
      STORAGE_HASH_KEY: hash.toString('base64'),
      ...extra,
    },
  };
}

export interface StorageProcess {
  url: string;
  pid: number;
  output: () => string;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  metric(name: string, labels?: string): Promise<number>;
}

export async function startStorage(env: Record<string, string>): Promise<StorageProcess> {
  let out = '';
  const child = spawnTs(path.join(ROOT, 'apps/storage/src/main.ts'), env, (s) => (out += s));
  const url = await waitUntil('storage to start', async () => {
    if (child.exitCode !== null) throw new Error(`storage exited ${child.exitCode}: ${out.slice(-3000)}`);
    return out.includes('STORAGE CONSUMING') ? /HTTP LISTENING (\S+)/.exec(out)?.[1] : undefined;
  }, 90000);
  return {
    url,
    pid: child.pid!,
    output: () => out,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exitOf(child);
    },
    metric: async (name, labels) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        if (labels && !line.includes(labels)) continue;
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
  };
}

export function cassandra(): CassandraClient {
  return createCassandra({ contactPoints: stack.cassandraContactPoints, localDataCenter: stack.cassandraDc });
}

export async function dropKeyspace(c: CassandraClient, keyspace: string): Promise<void> {
  await c.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
}

/** An EPI range unique to this run: 15 digits, `<run prefix><index>`. */
export function epiRange(): (i: number) => string {
  const run = String(100 + (Date.now() % 900)) + String(randomBytes(2).readUInt16BE() % 1000).padStart(3, '0');
  return (i) => `${run}${String(i).padStart(9, '0')}`;
}

export function dataEvent(epi: string, values: DataEvent['values'], extra: Partial<DataEvent> = {}): DataEvent {
  return { v: 1, epi, ts: Date.now(), eventId: randomUUID(), source: 'notify', path: '/3/0', contentFormat: 11542, values, ...extra };
}

export async function produceEvents(bus: KafkaJsEventBus, events: readonly DataEvent[], chunk = 500): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) {
    await bus.producer().send(Topics.data.name, events.slice(i, i + chunk).map((e) => encodeMessage(Topics.data, e.epi, e)));
  }
}

export function busClient(): KafkaJsEventBus {
  return new KafkaJsEventBus({ clientId: uniqueName('storage-test'), brokers: stack.kafkaBrokers });
}

/**
 * Makes sure the service's group owns every partition of dmp.data.v1 and has committed an
 * offset on each (a group with no committed offset and STORAGE_FROM_BEGINNING=false would,
 * after a crash, restart at the end of the log): rounds of 240 warm-up events with random
 * keys (all 12 partitions get one with probability > 1 - 1e-8) until a whole round is stored.
 */
export async function warmUp(bus: KafkaJsEventBus, db: CassandraClient, env: StorageEnv, svc: StorageProcess): Promise<void> {
  const epi = epiRange();
  let n = 0;
  await waitUntil('the storage group to own every partition', async () => {
    const round = Array.from({ length: 240 }, () => dataEvent(epi(n++), [{ path: '/3/0/9', type: 'integer', value: 1 }]));
    await produceEvents(bus, round);
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline) {
      const metricSeen = await svc.metric('dmp_storage_events_total');
      if (metricSeen >= round.length) {
        const found = await Promise.all(
          round.map(async (e) => (await db.execute(`SELECT path FROM ${env.keyspace}.data_latest WHERE epi_h = ? AND bucket = 3`, [env.cipher.hash('epi', e.epi)], { prepare: true })).rowLength),
        );
        if (found.every((f) => f > 0)) return true;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return undefined;
  }, 60000, 0);
}
