import { z } from 'zod';
import { commonEnv, envInt, kafkaEnv, redisEnv } from '@dmp/config';

export const commandEnv = z.object({
  ...commonEnv,
  ...kafkaEnv,
  ...redisEnv,
  HTTP_PORT: envInt(8083, 0, 65535),
  /** Consumer group of dmp.command-results.v1 and dmp.device-events.v1 (same for every replica). */
  COMMAND_GROUP_ID: z.string().min(1).default('dmp-command'),
  /** How long an operation's state stays readable (GET /operations/{id}) after its last change. */
  COMMAND_OP_TTL_S: envInt(86_400, 60, 30 * 86_400),
  /** Default life of a queued command (body `expiresInMs` overrides). */
  COMMAND_QUEUE_TTL_MS: envInt(86_400_000, 1000, 30 * 86_400_000),
  /** Queued commands of one device sent at the same time when it wakes up. */
  COMMAND_QUEUE_MAX_IN_FLIGHT: envInt(4, 1, 64),
  /** Longest queue per device (older commands stay, new ones are refused with 429). */
  COMMAND_QUEUE_MAX: envInt(1000, 1, 100_000),
  /** A UQ device that sent something this recently is sent commands directly. */
  COMMAND_AWAKE_WINDOW_MS: envInt(20_000, 0, 3_600_000),
  /** Upper bound of the in-request wait for a result (timeoutMs beyond this answers 202). */
  COMMAND_MAX_WAIT_MS: envInt(60_000, 100, 600_000),
  /** How long a gateway's heartbeat (`dmp:gw:{id}`) seen present or absent is trusted before it is read again. */
  COMMAND_GATEWAY_CACHE_MS: envInt(1000, 0, 60_000),
  /** Partitions of the consumed topics handled at the same time (order is kept per partition = per device). */
  COMMAND_CONSUMER_CONCURRENCY: envInt(12, 1, 64),
});
export type CommandConfig = z.infer<typeof commandEnv>;
