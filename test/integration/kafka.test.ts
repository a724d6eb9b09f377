import { Topics } from '@dmp/contracts';
import { decodeMessage } from '@dmp/contracts';
import { type IncomingMessage, KafkaJsEventBus, NonRetryableError, BatchingProducer } from '@dmp/kafka';
import { createRedis } from '@dmp/redis';
import { Kafka, logLevel } from 'kafkajs';
import path from 'node:path';
import { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from '@dmp/testing';

const bus = new KafkaJsEventBus({ clientId: 'kafka-it', brokers: stack.kafkaBrokers });
const redis = createRedis(stack.redisUrl);
const admin = new Kafka({ clientId: 'kafka-it-admin', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();

beforeAll(async () => {
  await Promise.all([bus.connect(), redis.connect(), admin.connect()]);
});
afterAll(async () => {
  await bus.close();
  await admin.disconnect();
  redis.disconnect();
});

const topicCfg = (name: string, partitions = 3) => ({ name, partitions, retentionMs: 3_600_000, cleanupPolicy: 'delete' as const });

/** Committed offsets of a group, summed over partitions (-1 = none committed). */
async function committed(groupId: string, topic: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (t?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
}

describe('Kafka (real broker)', () => {
  it('round-trips a validated event through a real topic', async () => {
    const topic = uniqueName('rt');
    await bus.ensureTopics([topicCfg(topic)]);
    const received: IncomingMessage[] = [];
    const c = await bus.runConsumer({ groupId: uniqueName('rt-g'), topics: [topic], fromBeginning: true, handler: async (m) => void received.push(m) });
    const event = {
      v: 1, type: 'awake', epi: '861234567890123', ts: Date.now(), eventId: 'evt-00000001',
      gatewayId: 'gw-1', address: { ip: '127.0.0.1', port: 5683 },
    };
    await bus.producer().send(topic, [{ key: event.epi, value: JSON.stringify(event), headers: { 'x-test': 'yes' } }]);
    await waitUntil('the message', async () => received.length === 1);
    const m = received[0]!;
    expect(m.key?.toString()).toBe(event.epi);
    expect(m.headers['x-test']).toBe('yes');
    expect(decodeMessage(Topics.deviceEvents, m.key, m.value).value).toEqual(event);
    await c.stop();
  });

  it('ensureTopics creates, then is a no-op, then aligns drifted config and partitions', async () => {
    const name = uniqueName('cat');
    expect(await bus.ensureTopics([topicCfg(name, 2)])).toEqual({ created: [name], updated: [] });
    expect(await bus.ensureTopics([topicCfg(name, 2)])).toEqual({ created: [], updated: [] });
    const changed = { ...topicCfg(name, 4), retentionMs: 7_200_000, cleanupPolicy: 'compact' as const };
    expect(await bus.ensureTopics([changed])).toEqual({ created: [], updated: [name] });
    const meta = await admin.fetchTopicMetadata({ topics: [name] });
    expect(meta.topics[0]!.partitions).toHaveLength(4);
    const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name, configNames: ['retention.ms', 'cleanup.policy'] }] });
    const entries = Object.fromEntries(cfg.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    expect(entries).toEqual({ 'retention.ms': '7200000', 'cleanup.policy': 'compact' });
  });

  it('retries a failing handler with backoff and commits only after success', async () => {
    const topic = uniqueName('retry');
    const group = uniqueName('retry-g');
    await bus.ensureTopics([topicCfg(topic, 1)]);
    let calls = 0;
    let committedDuringFailure = -1;
    const c = await bus.runConsumer({
      groupId: group, topics: [topic], fromBeginning: true,
      retry: { attempts: 3, initialBackoffMs: 50, maxBackoffMs: 100 },
      handler: async () => {
        calls++;
        if (calls === 2) committedDuringFailure = await committed(group, topic);
        if (calls < 3) throw new Error('transient');
      },
    });
    await bus.producer().send(topic, [{ key: 'k', value: 'v' }]);
    await waitUntil('commit after success', async () => (await committed(group, topic)) === 1, 20000);
    expect(calls).toBe(3);
    expect(committedDuringFailure).toBe(0);
    await c.stop();
  });

  it('sends a poison message to the dead-letter topic with the reason and moves on', async () => {
    const topic = uniqueName('poison');
    const dlt = uniqueName('dlt');
    const group = uniqueName('poison-g');
    await bus.ensureTopics([topicCfg(topic, 1), topicCfg(dlt, 1)]);
    const handled: string[] = [];
    const c = await bus.runConsumer({
      groupId: group, topics: [topic], fromBeginning: true, deadLetterTopic: dlt,
      retry: { attempts: 5, initialBackoffMs: 10, maxBackoffMs: 10 },
      handler: async (m) => {
        const v = m.value!.toString();
        if (v === 'bad') throw new NonRetryableError('cannot parse bad');
        if (v === 'flaky') throw new Error('always fails');
        handled.push(v);
      },
    });
    const dead: IncomingMessage[] = [];
    const d = await bus.runConsumer({ groupId: uniqueName('dlt-g'), topics: [dlt], fromBeginning: true, handler: async (m) => void dead.push(m) });
    await bus.producer().send(topic, ['a', 'bad', 'flaky', 'b'].map((v) => ({ key: v, value: v })));
    await waitUntil('good messages', async () => handled.length === 2, 20000);
    await waitUntil('two dead letters', async () => dead.length === 2, 20000);
    expect(handled).toEqual(['a', 'b']);
    const letters = dead.map((m) => decodeMessage(Topics.deadLetter, m.key, m.value).value);
    expect(letters.map((l) => [Buffer.from(l.value!, 'base64').toString(), l.attempts, l.sourceTopic])).toEqual([
      ['bad', 5, topic],
      ['flaky', 5, topic],
    ]);
    expect(letters[0]!.error).toContain('NonRetryableError: cannot parse bad');
    expect(letters[1]!.error).toContain('always fails');
    await waitUntil('all four committed', async () => (await committed(group, topic)) === 4, 20000);
    await Promise.all([c.stop(), d.stop()]);
  });

  it('batching producer groups messages and refuses beyond its bound', async () => {
    const topic = uniqueName('batch');
    await bus.ensureTopics([topicCfg(topic, 3)]);
    let sends = 0;
    const base = bus.producer();
    const p = new BatchingProducer({ send: (t, m) => (sends++, base.send(t, m)) }, { maxBatch: 100, lingerMs: 20, maxQueued: 250 });
    const accepted = Array.from({ length: 250 }, (_, i) => p.publish(topic, { key: `k${i % 7}`, value: `v${i}` }));
    await expect(p.publish(topic, { key: 'x', value: 'over' })).rejects.toThrow(/queue full/);
    await Promise.all(accepted);
    expect(sends).toBe(3);
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((s, o) => s + Number(o.high), 0)).toBe(250);
  });

  it('commit-after-success: a consumer SIGKILLed mid-batch loses nothing and applies nothing twice', async () => {
    const topic = uniqueName('kill');
    const group = uniqueName('kill-g');
    await bus.ensureTopics([topicCfg(topic, 2)]);
    const N = 300;
    await bus.producer().send(topic, Array.from({ length: N }, (_, i) => ({ key: `k${i % 11}`, value: `id-${i}` })));

    let out = '';
    const child = spawnTs(
      path.join(ROOT, 'test/fixtures/idempotent-consumer.ts'),
      { TOPIC: topic, GROUP: group, REDIS_URL: stack.redisUrl, BROKERS: stack.kafkaBrokers.join(','), DELAY_MS: '5' },
      (s) => (out += s),
    );
    await waitUntil('child consuming', async () => out.includes('CONSUMING'), 60000);
    // kill it somewhere in the middle: after >= 60 deliveries, well before the end
    await waitUntil('child progress', async () => Number(await redis.get(`${group}:deliveries`)) >= 60, 60000, 5);
    child.kill('SIGKILL');
    await exitOf(child);
    const appliedAtKill = await redis.scard(`${group}:applied`);
    expect(appliedAtKill).toBeLessThan(N);
    const committedAtKill = await committed(group, topic);
    expect(committedAtKill).toBeLessThanOrEqual(appliedAtKill); // never committed ahead of the work

    // restart: a new member of the same group picks up from the committed offsets
    const c = await bus.runConsumer({
      groupId: group, topics: [topic], fromBeginning: true,
      handler: async (m) => {
        await redis.multi().incr(`${group}:deliveries`).sadd(`${group}:applied`, m.value!.toString()).exec();
      },
    });
    await waitUntil('all applied', async () => (await redis.scard(`${group}:applied`)) === N, 60000);
    await waitUntil('all committed', async () => (await committed(group, topic)) === N, 30000);
    await c.stop();
    const members = await redis.smembers(`${group}:applied`);
    expect(new Set(members)).toEqual(new Set(Array.from({ length: N }, (_, i) => `id-${i}`)));
    const deliveries = Number(await redis.get(`${group}:deliveries`));
    // at-least-once: what was in flight at the kill and not yet committed was delivered again
    expect(deliveries).toBeGreaterThanOrEqual(N);
    expect(deliveries - N).toBe(appliedAtKill - committedAtKill);
    await redis.del(`${group}:applied`, `${group}:deliveries`);
  });
});
