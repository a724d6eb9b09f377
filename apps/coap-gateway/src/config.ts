import os from 'node:os';
import { z } from 'zod';
import { commonEnv, envInt, envList, kafkaEnv, redisEnv } from '@dmp/config';

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
