import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  type KafkaMessage,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import { backoffMs, DEFAULT_RETRY } from './backoff';
import {
  type ConsumerOptions,
  type EventBus,
  type EventProducer,
  type IncomingMessage,
  NonRetryableError,
  type OutgoingMessage,
  type RetryPolicy,
  type RunningConsumer,
  type TopicConfig,
} from './types';

export type BusLogger = (level: 'error' | 'warn' | 'info' | 'debug', msg: string, extra?: Record<string, unknown>) => void;

export interface KafkaJsBusOptions {
  clientId: string;
  brokers: string[];
  logger?: BusLogger;
  /** Called for every message sent to the dead-letter topic (for metrics). */
  onDeadLetter?: (topic: string, reason: string) => void;
  connectionTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function headersToStrings(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    if (v == null) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
  }
  return out;
}

function toIncoming(topic: string, partition: number, m: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers: headersToStrings(m.headers),
    timestamp: m.timestamp,
  };
}

const nextOffset = (offset: string) => (BigInt(offset) + 1n).toString();

/** EventBus on kafkajs: idempotent producer (acks=all), commit-after-success consumers, DLT. */
export class KafkaJsEventBus implements EventBus {
  private readonly kafka: Kafka;
  private readonly producerClient: Producer;
  private readonly admin: Admin;
  private readonly consumers = new Set<RunningConsumer>();
  private producerUp = false;
  private adminUp = false;
  private readonly log: BusLogger;

  constructor(private readonly opts: KafkaJsBusOptions) {
    this.log = opts.logger ?? ((): void => undefined);
    const log = this.log;
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      connectionTimeout: opts.connectionTimeoutMs ?? 3000,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }) => {
          const { message, ...extra } = entry;
          // Known at construction and deliberate (see decision 0002): bounded retries so that
          // callers see a broker outage; ordering is kept by maxInFlightRequests = 1.
          if (message.startsWith('Limiting retries for the idempotent producer')) return;
          const lvl = level <= logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : 'info';
          log(lvl, `kafkajs: ${message}`, extra);
        },
    });
    // DefaultPartitioner = murmur2 like the Java client: a key (EPI) maps to the same
    // partition whichever client produced it.
    this.producerClient = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.admin = this.kafka.admin();
    this.producerClient.on('producer.connect', () => (this.producerUp = true));
    this.producerClient.on('producer.disconnect', () => (this.producerUp = false));
    this.admin.on('admin.connect', () => (this.adminUp = true));
    this.admin.on('admin.disconnect', () => (this.adminUp = false));
  }

  async connect(): Promise<void> {
    await Promise.all([this.producerClient.connect(), this.admin.connect()]);
    this.producerUp = true;
    this.adminUp = true;
  }

  isConnected(): boolean {
    return this.producerUp && this.adminUp;
  }

  producer(): EventProducer {
    return {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        await this.producerClient.send({ topic, messages, acks: -1 });
      },
    };
  }

  /**
   * createTopics, except that the metadata lag right after creation (UNKNOWN_TOPIC_OR_PARTITION
   * while waiting for leaders) and a concurrent creation by another process (TOPIC_ALREADY_EXISTS)
   * are not failures: waitForMetadata decides whether the topics are there.
   */
  private async createTopicsTolerant(args: Parameters<Admin['createTopics']>[0]): Promise<void> {
    try {
      await this.admin.createTopics(args);
    } catch (e) {
      const types = [e, ...((e as { errors?: unknown[] }).errors ?? [])].map((x) => (x as { type?: string }).type);
      if (!types.some((t) => t === 'UNKNOWN_TOPIC_OR_PARTITION' || t === 'TOPIC_ALREADY_EXISTS')) throw e;
    }
  }

  private async waitForMetadata(names: string[], timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      let last: unknown;
      try {
        const meta = await this.admin.fetchTopicMetadata({ topics: names });
        if (names.every((n) => meta.topics.some((t) => t.name === n && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))) return;
      } catch (e) {
        last = e;
      }
      if (Date.now() > until) throw new Error(`topics ${names.join(', ')} not served by the broker after ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async ensureTopics(topics: readonly TopicConfig[]): Promise<{ created: string[]; updated: string[] }> {
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    const created: string[] = [];
    const updated: string[] = [];
    if (missing.length) {
      await this.createTopicsTolerant({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: -1,
          configEntries: [
            { name: 'retention.ms', value: String(t.retentionMs) },
            { name: 'cleanup.policy', value: t.cleanupPolicy },
          ],
        })),
      });
      created.push(...missing.map((t) => t.name));
      // createTopics returns once the controller elected leaders, but the broker's metadata
      // cache may not list the topic yet: a consumer subscribing right away then fails with
      // UNKNOWN_TOPIC_OR_PARTITION (seen on a fresh, busy single-node Kafka). Wait until it does.
      await this.waitForMetadata(created, 30_000);
    }
    const present = topics.filter((t) => existing.has(t.name));
    if (present.length) {
      const meta = await this.admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
      const grow = present.filter((t) => {
        const m = meta.topics.find((x) => x.name === t.name);
        return m !== undefined && m.partitions.length < t.partitions;
      });
      if (grow.length) {
        await this.admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.name, count: t.partitions })) });
      }
      const configs = await this.admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((t) => ({ type: 2 /* TOPIC */, name: t.name, configNames: ['retention.ms', 'cleanup.policy'] })),
      });
      const drift = present.filter((t) => {
        const r = configs.resources.find((x) => x.resourceName === t.name);
        const get = (n: string) => r?.configEntries.find((e) => e.configName === n)?.configValue;
        return get('retention.ms') !== String(t.retentionMs) || get('cleanup.policy') !== t.cleanupPolicy;
      });
      if (drift.length) {
        await this.admin.alterConfigs({
          validateOnly: false,
          resources: drift.map((t) => ({
            type: 2,
            name: t.name,
            configEntries: [
              { name: 'retention.ms', value: String(t.retentionMs) },
              { name: 'cleanup.policy', value: t.cleanupPolicy },
            ],
          })),
        });
      }
      updated.push(...new Set([...grow, ...drift].map((t) => t.name)));
    }
    return { created, updated };
  }

  async runConsumer(opts: ConsumerOptions): Promise<RunningConsumer> {
    const retry: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
    if (retry.attempts < 1) throw new Error('retry.attempts must be >= 1');
    const consumer: Consumer = this.kafka.consumer({
      groupId: opts.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: opts.sessionTimeoutMs ?? 30000,
      heartbeatInterval: Math.min(3000, Math.floor((opts.sessionTimeoutMs ?? 30000) / 3)),
    });
    await consumer.connect();
    await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning ?? false });
    const commitEvery = opts.commitEvery ?? 500;

    const processOne = async (msg: IncomingMessage) => {
      let lastError: unknown;
      for (let attempt = 1; attempt <= retry.attempts; attempt++) {
        if (attempt > 1) await sleep(backoffMs(retry, attempt));
        try {
          await opts.handler(msg);
          return;
        } catch (e) {
          lastError = e;
          this.log('warn', 'handler failed', {
            topic: msg.topic, partition: msg.partition, offset: msg.offset, attempt, error: String(e),
          });
          if (e instanceof NonRetryableError || (e as Error)?.name === 'ContractError') break;
        }
      }
      if (!opts.deadLetterTopic) throw lastError;
      await this.deadLetter(opts, msg, lastError, retry.attempts);
    };

    const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      const { topic, partition } = batch;
      const commit = (offset: string) => consumer.commitOffsets([{ topic, partition, offset: nextOffset(offset) }]);
      const msgs = batch.messages.map((m) => toIncoming(topic, partition, m));
      if (opts.batchHandler && msgs.length > 1) {
        try {
          await opts.batchHandler(msgs);
          const last = msgs[msgs.length - 1]!;
          resolveOffset(last.offset);
          await commit(last.offset);
          return;
        } catch (e) {
          this.log('warn', 'batch handler failed; retrying message by message', { topic, partition, error: String(e) });
        }
      }
      let sinceCommit = 0;
      let lastDone: string | undefined;
      for (const msg of msgs) {
        if (!isRunning() || isStale()) break;
        await processOne(msg);
        resolveOffset(msg.offset);
        lastDone = msg.offset;
        if (++sinceCommit >= commitEvery) {
          await commit(msg.offset);
          sinceCommit = 0;
          await heartbeat();
        }
      }
      if (lastDone !== undefined && sinceCommit > 0) await commit(lastDone);
    };

    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 1,
      eachBatch,
    });

    const running: RunningConsumer = {
      groupId: opts.groupId,
      stop: async () => {
        this.consumers.delete(running);
        await consumer.stop();
        await consumer.disconnect();
      },
    };
    this.consumers.add(running);
    return running;
  }

  private async deadLetter(opts: ConsumerOptions, msg: IncomingMessage, error: unknown, attempts: number) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const value = {
      v: 1,
      sourceTopic: msg.topic,
      partition: msg.partition,
      offset: msg.offset,
      key: msg.key?.toString() ?? null,
      value: msg.value?.toString('base64') ?? null,
      error: reason.slice(0, 4000),
      attempts,
      groupId: opts.groupId,
      ts: Date.now(),
    };
    await this.producerClient.send({
      topic: opts.deadLetterTopic!,
      acks: -1,
      messages: [{ key: msg.key, value: JSON.stringify(value), headers: { 'dmp-dlt-reason': reason.slice(0, 200) } }],
    });
    this.opts.onDeadLetter?.(msg.topic, error instanceof Error ? error.name : 'Error');
    this.log('error', 'message sent to dead-letter topic', { topic: msg.topic, offset: msg.offset, reason });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.stop()));
    await Promise.allSettled([this.producerClient.disconnect(), this.admin.disconnect()]);
    this.producerUp = false;
    this.adminUp = false;
  }
}
