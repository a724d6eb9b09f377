import os from 'node:os';
import { z } from 'zod';
import { commonEnv, envBool, envInt, envList, kafkaEnv, redisEnv } from '@dmp/config';

const listen = /^(udp4|udp6):\/\/(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d{1,5})$/;

export const gatewayEnv = z.object({
  ...commonEnv,
  ...kafkaEnv,
  ...redisEnv,
  HTTP_PORT: envInt(8090, 0, 65535),
  /** Stable instance id: its downlink topic and the owner recorded with each registration. */
  GATEWAY_ID: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,100}$/, 'letters, digits, dot, dash, underscore')
    .default(`${os.hostname()}-${process.pid}`),
  /** Heartbeat period of this instance (`dmp:gw:{id}`, TTL 3 periods): how fast a vanished instance is noticed. */
  GATEWAY_HEARTBEAT_MS: envInt(5000, 100, 600_000),
  /** Sockets to listen on, e.g. `udp4://0.0.0.0:5683,udp6://[::]:5683`. */
  COAP_LISTEN: envList('udp4://127.0.0.1:5683,udp6://[::1]:5683').pipe(
    z.array(z.string().regex(listen, 'each entry must look like udp4://0.0.0.0:5683 or udp6://[::]:5683')),
  ),
  /** Datagrams larger than this are dropped unread (R-SEC-9). */
  COAP_MAX_DATAGRAM: envInt(2048, 64, 65507),
  /** Per source address token bucket: sustained datagrams/s and burst. 0 disables. */
  COAP_RATE_PER_SEC: envInt(50, 0, 1_000_000),
  COAP_RATE_BURST: envInt(100, 1, 1_000_000),
  /** Maximum tracked sources for rate limiting and duplicate detection. */
  COAP_MAX_PEERS: envInt(200_000, 100, 10_000_000),
  /** Registration policy: open | known (EPI in dmp:devices:known) | appkey (EPI in dmp:appkey:{key}:allow). */
  GATEWAY_AUTH_POLICY: z.enum(['open', 'known', 'appkey']).default('open'),
  /**
   * Form A names that do not decrypt with their AppKey's password (configured, else the
   * devices' default 32 × '0'), or whose clear ID1/DMv disagree with the decrypted ones, are
   * forgeries: 4.03. On: accept such 5-part names from their clear fields instead, for
   * fleets whose passwords the platform does not hold. Per AppKey:
   * `dmp:appkey:{key}:clear-fallback` (command API `PUT /appkeys/{key}`) overrides this.
   */
  GATEWAY_FORM_A_CLEAR_FALLBACK: envBool(false),
  /** Answer for an EPN without an EPI: 4.00 (default) or 4.03. */
  GATEWAY_NO_EPI_CODE: z.enum(['4.00', '4.03']).default('4.00'),
  /** Publish `awake` at most once per this many seconds per device. */
  GATEWAY_AWAKE_INTERVAL_S: envInt(60, 0, 86400),
  /** Deadline index shards (dmp:deadlines:{n}); the registry sweeps each shard. */
  GATEWAY_DEADLINE_SHARDS: envInt(16, 1, 1024),
  /** Unacknowledged Kafka events kept in memory before answering 5.03. */
  GATEWAY_MAX_QUEUED_EVENTS: envInt(50_000, 100, 10_000_000),
  /** Max-Age (s) sent with 5.03 when the event queue is full. */
  GATEWAY_RETRY_AFTER_S: envInt(30, 1, 3600),
  /** CoAP transmission parameters for downlink (RFC 7252 §4.8). */
  COAP_ACK_TIMEOUT_MS: envInt(2000, 100, 60000),
  COAP_MAX_RETRANSMIT: envInt(4, 0, 10),
  /** Largest downlink request payload sent in one datagram; larger ones use Block1. */
  COAP_BLOCK_SIZE: z.coerce.number().refine((n) => [16, 32, 64, 128, 256, 512, 1024].includes(n), 'a power of two 16..1024').default(512),
  /** Largest reassembled Block2 response. */
  COAP_MAX_TRANSFER: envInt(1024 * 1024, 1024, 64 * 1024 * 1024),
  /** LwM2M Bootstrap Server on POST /bs (spec §7.1). Off → POST /bs answers 4.05. */
  BOOTSTRAP_ENABLED: envBool(true),
  /**
   * Server pool written to devices when Redis holds no bootstrap configuration
   * (dmp:bootstrap:epi:{epi} / dmp:bootstrap:appkey:{key} / dmp:bootstrap:default):
   * comma-separated `coap://host:port` entries, each optionally `|weight`.
   */
  BOOTSTRAP_DEFAULT_SERVERS: envList('coap://127.0.0.1:5683').pipe(
    z.array(
      z
        .string()
        .regex(/^coaps?:\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:|[\]]+)(:\d{1,5})?(\|(\d+(\.\d+)?))?$/, 'each entry must be coap[s]://host[:port] or coap[s]://host[:port]|weight')
        .refine((e) => !e.includes('|') || Number(e.split('|')[1]) > 0, 'a weight must be > 0'),
    ),
  ),
  /** Defaults of the written Server account (overridable per configuration). */
  BOOTSTRAP_LIFETIME_S: envInt(86400, 1, 0xffffffff),
  BOOTSTRAP_BINDING: z.enum(['U', 'UQ', 'S', 'SQ', 'US', 'UQS']).default('U'),
  BOOTSTRAP_SHORT_SERVER_ID: envInt(1, 1, 65534),
  /** Security / Server instance ids written (the client's bootstrap account is usually /0/0). */
  BOOTSTRAP_SECURITY_INSTANCE_ID: envInt(1, 0, 65534),
  BOOTSTRAP_SERVER_INSTANCE_ID: envInt(0, 0, 65534),
  /** Bootstrap-Delete targets sent first, in order: `/0,/1` (default) or `/`. */
  BOOTSTRAP_DELETE_PATHS: envList('/0,/1').pipe(z.array(z.string().regex(/^\/(\d{1,5}(\/\d{1,5})?)?$/, 'each entry must be /, /o or /o/i'))),
  /** Seconds the last bootstrap outcome (dmp:bs:{epi}) is kept. */
  BOOTSTRAP_RESULT_TTL_S: envInt(30 * 86400, 60, 365 * 86400),
});
export type GatewayConfig = z.infer<typeof gatewayEnv>;

export interface ListenAddress {
  family: 'udp4' | 'udp6';
  host: string;
  port: number;
}

export function parseListen(entries: readonly string[]): ListenAddress[] {
  return entries.map((e) => {
    const m = listen.exec(e)!;
    return { family: m[1] as 'udp4' | 'udp6', host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
  });
}
