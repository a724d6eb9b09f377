import path from 'node:path';
import { KafkaJsEventBus } from '@dmp/kafka';
import { createRedis } from '@dmp/redis';
import { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from '@dmp/testing';

const entry = path.join(ROOT, 'test/fixtures/kit-service.ts');

describe('service kit (real Kafka, Redis, Cassandra)', () => {
  const topic = uniqueName('kit-topic');
  const group = uniqueName('kit-group');
  const keyspace = uniqueName('kit').toLowerCase();
  const bus = new KafkaJsEventBus({ clientId: 'kit-test', brokers: stack.kafkaBrokers });
  const redis = createRedis(stack.redisUrl);

  beforeAll(async () => {
    await Promise.all([bus.connect(), redis.connect()]);
    await bus.ensureTopics([{ name: topic, partitions: 2, retentionMs: 3600000, cleanupPolicy: 'delete' }]);
  });
  afterAll(async () => {
    await bus.close();
    await redis.del(`${group}:seen`);
    redis.disconnect();
  });

  it('serves health, metrics and @EventPattern handlers, then drains and exits 0 on SIGTERM', async () => {
    let output = '';
    const child = spawnTs(
      entry,
      {
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        REDIS_URL: stack.redisUrl,
        KAFKA_BROKERS: stack.kafkaBrokers.join(','),
        CASSANDRA_CONTACT_POINTS: stack.cassandraContactPoints.join(','),
        CASSANDRA_KEYSPACE: keyspace,
        FIXTURE_TOPIC: topic,
        FIXTURE_GROUP: group,
      },
      (s) => (output += s),
    );
    try {
      const url = await waitUntil('the service to listen', async () => /LISTENING (\S+)/.exec(output)?.[1], 90000);
      const base = url.replace('[::1]', '127.0.0.1');

      const live = await fetch(`${base}/health/live`);
      expect(live.status).toBe(200);
      const ready = await fetch(`${base}/health/ready`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { status: string; info: Record<string, { status: string }> };
      expect(body.status).toBe('ok');
      expect(Object.keys(body.info).sort()).toEqual(['cassandra', 'kafka', 'redis']);

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^dmp_process_cpu_user_seconds_total\{service="kit-fixture"\} /m);
      expect(metrics).toContain('dmp_kafka_dead_letters_total');

      // routes of the service live under /api/v1; health and metrics do not
      expect((await fetch(`${base}/api/v1/health/ready`)).status).toBe(404);

      const ids = Array.from({ length: 50 }, (_, i) => `m${i}`);
      await bus.producer().send(topic, ids.map((id) => ({ key: id, value: id })));
      await waitUntil('all messages handled', async () => (await redis.scard(`${group}:seen`)) === ids.length, 30000);

      const t0 = Date.now();
      child.kill('SIGTERM');
      const exit = await exitOf(child);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - t0).toBeLessThan(10000);
      expect(output).toContain('SIGTERM received');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('fails boot with a message naming the bad variable', async () => {
    let output = '';
    const child = spawnTs(entry, { HTTP_PORT: 'eighty', KAFKA_BROKERS: 'nocolon', FIXTURE_GROUP: 'g' }, (s) => (output += s));
    const exit = await exitOf(child);
    expect(exit.code).toBe(78);
    expect(output).toContain('kit-fixture: invalid configuration');
    expect(output).toMatch(/HTTP_PORT: /);
    expect(output).toMatch(/KAFKA_BROKERS: each broker must be host:port/);
    expect(output).toMatch(/FIXTURE_TOPIC: is required but not set/);
  });
});
