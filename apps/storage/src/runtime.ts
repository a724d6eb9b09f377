import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { CassandraClient } from '@dmp/cassandra';
import { Topics } from '@dmp/contracts';
import type { EventBus, RunningConsumer } from '@dmp/kafka';
import { ObjectModelRegistry } from '@dmp/lwm2m';
import { CASSANDRA, EVENT_BUS, KIT_OPTIONS, MetricsService, type ServiceKitOptions } from '@dmp/service-kit';
import { PinoLogger } from 'nestjs-pino';
import { cipherFromConfig, type StorageConfig } from './config';
import { StorageMetrics } from './metrics';
import { StorageProcessor } from './processor';
import { RowBuilder } from './rows';
import { StorageWriter } from './writer';

/**
 * Runs the DataEvent consumer directly on the kit's EventBus (not through the Nest
 * `@EventPattern` transport, which hands over one message at a time): `batchHandler`
 * gets a whole fetched batch of one partition, written as per-partition Cassandra
 * batches, and the offsets are committed after it resolved (decision 0007).
 */
@Injectable()
export class StorageRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: RunningConsumer | undefined;
  processor: StorageProcessor | undefined;

  constructor(
    @Inject(KIT_OPTIONS) private readonly kit: ServiceKitOptions & { config: StorageConfig },
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(CASSANDRA) private readonly cassandra: CassandraClient,
    private readonly metricsService: MetricsService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('Storage');
  }

  async onApplicationBootstrap(): Promise<void> {
    const cfg = this.kit.config;
    const { cipher, development } = cipherFromConfig(cfg);
    if (development) this.logger.warn('STORAGE_KEYS / STORAGE_ACTIVE_KEY / STORAGE_HASH_KEY not set: using the public development keys (never in production)');
    const builder = new RowBuilder(cipher, ObjectModelRegistry.default(), {
      sensitivePaths: cfg.STORAGE_SENSITIVE_PATHS,
      storeRaw: cfg.STORAGE_STORE_RAW,
      encryptPayloads: cfg.STORAGE_ENCRYPT_PAYLOADS,
      maxFutureMs: cfg.STORAGE_MAX_FUTURE_S * 1000,
      maxPastMs: cfg.STORAGE_MAX_PAST_S * 1000,
    });
    const writer = new StorageWriter(this.cassandra, {
      keyspace: cfg.CASSANDRA_KEYSPACE,
      historyTtlS: cfg.STORAGE_HISTORY_TTL_S,
      latestTtlS: cfg.STORAGE_LATEST_TTL_S,
      rawTtlS: cfg.STORAGE_RAW_TTL_S,
      batchRows: cfg.STORAGE_BATCH_ROWS,
      concurrency: cfg.STORAGE_WRITE_CONCURRENCY,
    });
    await writer.check();
    const processor = new StorageProcessor(builder, writer, this.bus.producer(), new StorageMetrics(this.metricsService.registry), {
      topic: cfg.STORAGE_TOPIC,
      groupId: cfg.STORAGE_GROUP_ID,
      deadLetterTopic: Topics.deadLetter.name,
    });
    this.processor = processor;
    this.consumer = await this.bus.runConsumer({
      groupId: cfg.STORAGE_GROUP_ID,
      topics: [cfg.STORAGE_TOPIC],
      fromBeginning: cfg.STORAGE_FROM_BEGINNING,
      partitionsConsumedConcurrently: cfg.STORAGE_PARTITION_CONCURRENCY,
      sessionTimeoutMs: cfg.STORAGE_SESSION_TIMEOUT_MS,
      // no deadLetterTopic: poison messages are dead-lettered by the processor itself; any
      // other failure (Cassandra unavailable) must stop the partition, not drop valid data
      retry: { attempts: 5, initialBackoffMs: 200, maxBackoffMs: 5000 },
      handler: (m) => processor.process([m]),
      batchHandler: (ms) => processor.process(ms),
    });
    this.logger.info({ topic: cfg.STORAGE_TOPIC, groupId: cfg.STORAGE_GROUP_ID, keyspace: cfg.CASSANDRA_KEYSPACE, activeKey: cipher.activeKeyId }, 'storage consuming');
    process.stdout.write(`STORAGE CONSUMING ${cfg.STORAGE_TOPIC}\n`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
