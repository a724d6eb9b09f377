import { z } from 'zod';
import { cassandraEnv, commonEnv, envBool, envInt, kafkaEnv, redisEnv } from '@dmp/config';

export const registryEnv = z.object({
  ...commonEnv,
  ...kafkaEnv,
  ...redisEnv,
  ...cassandraEnv,
  HTTP_PORT: envInt(8081, 0, 65535),
  /** Consumer group of dmp.device-events.v1 (every replica uses the same one). */
  REGISTRY_GROUP_ID: z.string().min(1).default('dmp-registry'),
  /** Partitions of dmp.device-events.v1 processed in parallel by one replica. */
  REGISTRY_CONSUMER_CONCURRENCY: envInt(4, 1, 64),
  /** Must equal the gateway's GATEWAY_DEADLINE_SHARDS (dmp:deadlines:{n}). */
  REGISTRY_DEADLINE_SHARDS: envInt(16, 1, 1024),
  /** Run the lifetime sweeper in this replica. */
  REGISTRY_SWEEP_ENABLED: envBool(true),
  /** Grace after the deadline before a registration is timed out: max(GRACE_MIN_MS, GRACE_PERCENT % of the lifetime). */
  REGISTRY_GRACE_MIN_MS: envInt(10_000, 0, 86_400_000),
  REGISTRY_GRACE_PERCENT: z.coerce.number().min(0).max(100).default(5),
  /** Pause between two sweeps of every shard. */
  REGISTRY_SWEEP_INTERVAL_MS: envInt(200, 10, 60_000),
  /** Deadline entries examined per Lua call (bounds the time Redis is blocked by one call; ≤ 2000: Lua unpack limit). */
  REGISTRY_SWEEP_BATCH: envInt(1000, 1, 2000),
  /** A claimed expiry whose `offline` event was not acknowledged after this long is published again. */
  REGISTRY_PENDING_RETRY_MS: envInt(30_000, 1000, 3_600_000),
});
export type RegistryConfig = z.infer<typeof registryEnv>;
