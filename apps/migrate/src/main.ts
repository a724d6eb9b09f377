// One-shot provisioning: creates/updates the Kafka topics of the catalogue and applies
// the Cassandra migrations, then exits 0 (non-zero on failure). Run by `npm start`
// and `npm test` before the services, and as the Helm pre-install/pre-upgrade Job.
import { z } from 'zod';
import { cassandraEnv, kafkaEnv, loadConfigOrExit } from '@dmp/config';
import { createCassandra, loadMigrations, migrate, PLATFORM_MIGRATIONS_DIR } from '@dmp/cassandra';
import { TOPIC_CATALOGUE } from '@dmp/contracts';
import { KafkaJsEventBus } from '@dmp/kafka';

const config = loadConfigOrExit(
  'migrate',
  z.object({ ...kafkaEnv, ...cassandraEnv, MIGRATIONS_DIR: z.string().default(PLATFORM_MIGRATIONS_DIR) }),
);

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ level: 'info', service: 'migrate', time: Date.now(), msg, ...extra })}\n`);

async function main(): Promise<void> {
  const bus = new KafkaJsEventBus({ clientId: 'dmp-migrate', brokers: config.KAFKA_BROKERS });
  const cassandra = createCassandra({
    contactPoints: config.CASSANDRA_CONTACT_POINTS,
    localDataCenter: config.CASSANDRA_LOCAL_DC,
    username: config.CASSANDRA_USERNAME,
    password: config.CASSANDRA_PASSWORD,
  });
  try {
    await Promise.all([bus.connect(), cassandra.connect()]);
    const topics = await bus.ensureTopics(TOPIC_CATALOGUE);
    log('kafka topics ensured', { ...topics, catalogue: TOPIC_CATALOGUE.map((t) => t.name) });
    const applied = await migrate(cassandra, loadMigrations(config.MIGRATIONS_DIR), {
      keyspace: config.CASSANDRA_KEYSPACE,
      replicationFactor: config.CASSANDRA_REPLICATION_FACTOR,
      dataCenter: config.CASSANDRA_LOCAL_DC,
      log: (m) => log(m),
    });
    log('cassandra migrations applied', { keyspace: config.CASSANDRA_KEYSPACE, applied });
  } finally {
    await Promise.allSettled([bus.close(), cassandra.shutdown()]);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`migrate failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
