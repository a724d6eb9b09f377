/**
 * The platform's own Kafka interface. Services depend on these types only; the
 * kafkajs implementation (kafkajs-bus.ts) can be replaced by a faster client
 * (kafkajs is in maintenance mode) without touching them.
 */
export interface OutgoingMessage {
  key: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  /** Offset as a decimal string (64-bit). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Broker/producer timestamp, epoch ms as a string. */
  timestamp: string;
}

export interface EventProducer {
  /** Resolves once every message is acknowledged by all in-sync replicas. */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
}

export interface RetryPolicy {
  /** Attempts per message including the first one (>= 1). */
  attempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** Throw (or wrap) this from a handler for a message that no retry can fix: it goes straight to the DLT. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Handles one message; must be idempotent (at-least-once delivery). */
  handler: (msg: IncomingMessage) => Promise<void>;
  /**
   * Optional bulk path: handles a whole fetched batch of one partition at once (e.g. one
   * Cassandra batch). If it throws, the batch falls back to `handler` message by message.
   */
  batchHandler?: (msgs: IncomingMessage[]) => Promise<void>;
  retry?: Partial<RetryPolicy>;
  /** Where messages go after the last failed attempt; without one a failure stops the partition. */
  deadLetterTopic?: string;
  fromBeginning?: boolean;
  /** Partitions processed in parallel by this consumer (default 1). */
  partitionsConsumedConcurrently?: number;
  /** Group session timeout: how long a dead member holds its partitions (default 30 s, min 6 s). */
  sessionTimeoutMs?: number;
  /** Commit at least every N processed messages within a batch (default 500). */
  commitEvery?: number;
}

export interface RunningConsumer {
  readonly groupId: string;
  /** Stops fetching, waits for the in-flight batch, commits what was processed, leaves the group. */
  stop(): Promise<void>;
}

export interface TopicConfig {
  name: string;
  partitions: number;
  retentionMs: number;
  cleanupPolicy: 'delete' | 'compact';
}

export interface EventBus {
  connect(): Promise<void>;
  producer(): EventProducer;
  runConsumer(opts: ConsumerOptions): Promise<RunningConsumer>;
  /** Creates missing topics, grows partitions, and aligns retention/cleanup (idempotent). */
  ensureTopics(topics: readonly TopicConfig[]): Promise<{ created: string[]; updated: string[] }>;
  /** True while the producer and admin connections are up (readiness). */
  isConnected(): boolean;
  /** Stops every consumer (draining in-flight work), flushes and disconnects. */
  close(): Promise<void>;
}
