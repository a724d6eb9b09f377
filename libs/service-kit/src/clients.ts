import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit, Optional } from '@nestjs/common';
import { type CassandraClient, createCassandra, loadMigrations, migrate, type Migration } from '@dmp/cassandra';
import { KafkaJsEventBus, type EventBus } from '@dmp/kafka';
import { createRedis, type Redis, ScriptRunner } from '@dmp/redis';
import { PinoLogger } from 'nestjs-pino';
import { Counter } from 'prom-client';
import { MetricsService } from './metrics';
import type { ServiceKitOptions } from './options';
import { CASSANDRA, EVENT_BUS, KIT_OPTIONS, REDIS } from './tokens';

export function makeEventBus(opts: ServiceKitOptions, logger: PinoLogger, metrics: MetricsService): EventBus {
  const dlt = new Counter({
    name: 'dmp_kafka_dead_letters_total',
    help: 'Messages sent to the dead-letter topic, by source topic and error kind',
    labelNames: ['topic', 'reason'],
    registers: [metrics.registry],
  });
  return new KafkaJsEventBus({
    clientId: opts.config.KAFKA_CLIENT_ID ?? `dmp-${opts.service}`,
    brokers: opts.config.KAFKA_BROKERS ?? ['127.0.0.1:9092'],
    logger: (level, msg, extra) => logger[level](extra ?? {}, msg),
    onDeadLetter: (topic, reason) => dlt.inc({ topic, reason }),
  });
}

export function makeRedis(opts: ServiceKitOptions): Redis {
  return createRedis(opts.config.REDIS_URL ?? 'redis://127.0.0.1:6380', { connectionName: `dmp-${opts.service}` });
}

export function makeCassandra(opts: ServiceKitOptions): CassandraClient {
  const c = opts.config;
  return createCassandra({
    contactPoints: c.CASSANDRA_CONTACT_POINTS ?? ['127.0.0.1:9042'],
    localDataCenter: c.CASSANDRA_LOCAL_DC ?? 'datacenter1',
    username: c.CASSANDRA_USERNAME,
    password: c.CASSANDRA_PASSWORD,
  });
}

/**
 * Connects the clients during module init (so a service is not ready before they
 * are), applies Cassandra migrations, loads Lua scripts, and closes everything on
 * shutdown, after Nest has stopped the HTTP server and drained the Kafka consumers.
 */
@Injectable()
export class ClientsLifecycle implements OnModuleInit, OnApplicationShutdown {
  scripts: ScriptRunner | undefined;

  constructor(
    @Inject(KIT_OPTIONS) private readonly opts: ServiceKitOptions,
    private readonly logger: PinoLogger,
    @Optional() @Inject(EVENT_BUS) private readonly bus?: EventBus,
    @Optional() @Inject(REDIS) private readonly redis?: Redis,
    @Optional() @Inject(CASSANDRA) private readonly cassandra?: CassandraClient,
  ) {
    this.logger.setContext('ClientsLifecycle');
  }

  async onModuleInit(): Promise<void> {
    const tasks: Promise<unknown>[] = [];
    if (this.bus) tasks.push(this.bus.connect());
    if (this.redis) {
      const redis = this.redis;
      tasks.push(
        redis.connect().then(async () => {
          const cfg = this.opts.redis;
          if (typeof cfg === 'object') {
            this.scripts = new ScriptRunner(redis, cfg.scripts);
            await this.scripts.load();
          }
        }),
      );
    }
    if (this.cassandra) tasks.push(this.connectCassandra(this.cassandra));
    await Promise.all(tasks);
    this.logger.info('clients connected');
  }

  private async connectCassandra(client: CassandraClient): Promise<void> {
    await client.connect();
    const c = this.opts.config;
    const cfg = this.opts.cassandra;
    const keyspace = c.CASSANDRA_KEYSPACE ?? 'dmp';
    const migrations: Migration[] = typeof cfg === 'object' ? cfg.migrationDirs.flatMap((d) => loadMigrations(d)) : [];
    if (migrations.length) {
      const applied = await migrate(client, migrations, {
        keyspace,
        replicationFactor: c.CASSANDRA_REPLICATION_FACTOR ?? 1,
        dataCenter: c.CASSANDRA_LOCAL_DC ?? 'datacenter1',
        log: (m) => this.logger.info(m),
      });
      if (applied.length) this.logger.info({ applied }, 'cassandra migrations applied');
    }
    await client.execute(`USE ${keyspace}`).catch(() => undefined);
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'closing clients');
    await Promise.allSettled([
      this.bus?.close(),
      this.redis?.quit().catch(() => this.redis?.disconnect()),
      this.cassandra?.shutdown(),
    ]);
  }
}
