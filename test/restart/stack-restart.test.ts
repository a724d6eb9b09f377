// Stops and restarts the whole local stack, then checks that data written before is
// still there: Redis (AOF), Kafka (log segments), Cassandra (commit log / sstables).
// Runs as its own jest project, after every other integration test.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createCassandra } from '@dmp/cassandra';
import { KafkaJsEventBus, type IncomingMessage } from '@dmp/kafka';
import { createRedis } from '@dmp/redis';
import { ROOT, stack, uniqueName, waitUntil } from '@dmp/testing';

const stackCmd = (cmd: string) =>
  execFileSync(process.execPath, [path.join(ROOT, 'deploy/local/stack.mjs'), cmd], { cwd: ROOT, stdio: 'inherit' });

describe('local stack restart keeps data', () => {
  it('Redis AOF, Kafka log and Cassandra rows survive down + up', async () => {
    const key = uniqueName('persist');
    const topic = uniqueName('persist-topic');
    const keyspace = uniqueName('persist').toLowerCase();

    const redis = createRedis(stack.redisUrl);
    const bus = new KafkaJsEventBus({ clientId: 'restart-it', brokers: stack.kafkaBrokers });
    const cql = createCassandra({ contactPoints: stack.cassandraContactPoints, localDataCenter: stack.cassandraDc });
    await Promise.all([redis.connect(), bus.connect(), cql.connect()]);
    await redis.hset(key, { a: '1', b: '2' });
    await bus.ensureTopics([{ name: topic, partitions: 1, retentionMs: 3_600_000, cleanupPolicy: 'delete' }]);
    await bus.producer().send(topic, [{ key: 'k', value: 'before-restart' }]);
    await cql.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await cql.execute(`CREATE TABLE ${keyspace}.t (k text PRIMARY KEY, v text)`);
    await cql.execute(`INSERT INTO ${keyspace}.t (k, v) VALUES (?, ?)`, ['k', 'before-restart'], { prepare: true });
    await Promise.all([redis.quit(), bus.close(), cql.shutdown()]);

    stackCmd('down');
    stackCmd('up');

    const redis2 = createRedis(stack.redisUrl);
    const bus2 = new KafkaJsEventBus({ clientId: 'restart-it-2', brokers: stack.kafkaBrokers });
    const cql2 = createCassandra({ contactPoints: stack.cassandraContactPoints, localDataCenter: stack.cassandraDc });
    await Promise.all([redis2.connect(), bus2.connect(), cql2.connect()]);
    try {
      expect(await redis2.hgetall(key)).toEqual({ a: '1', b: '2' });
      const rs = await cql2.execute(`SELECT v FROM ${keyspace}.t WHERE k = ?`, ['k'], { prepare: true });
      expect(rs.first()?.['v']).toBe('before-restart');
      const got: IncomingMessage[] = [];
      await bus2.runConsumer({ groupId: uniqueName('persist-g'), topics: [topic], fromBeginning: true, handler: async (m) => void got.push(m) });
      await waitUntil('the message written before the restart', async () => got.length === 1, 60000);
      expect(got[0]!.value?.toString()).toBe('before-restart');
    } finally {
      await redis2.del(key);
      await cql2.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
      await Promise.allSettled([redis2.quit(), bus2.close(), cql2.shutdown()]);
    }
  });
});
