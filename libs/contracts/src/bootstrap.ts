import { z } from 'zod';

const ServerUri = z
  .string()
  .max(255)
  .regex(/^coaps?:\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:[\]]+)(:\d{1,5})?(\/\S*)?$/, 'a coap:// or coaps:// URI');

/**
 * A bootstrap configuration: the JSON value of the Redis keys `dmp:bootstrap:epi:{epi}`,
 * `dmp:bootstrap:appkey:{key}` and `dmp:bootstrap:default`, written by the command service's
 * API and read by the gateway's bootstrap server. Unknown keys are refused.
 */
export const BootstrapConfig = z
  .object({
    /** Access servers the UE may be given; one is picked per EPI by weighted rendezvous hashing. */
    servers: z.array(z.object({ uri: ServerUri, weight: z.number().positive().max(1_000_000).optional() }).strict()).min(1).max(1000),
    securityMode: z.enum(['nosec', 'psk']).default('nosec'),
    pskIdentity: z.string().min(1).max(128).optional(),
    /** PSK as base64 (write-only in the API: never returned). */
    pskKey: z
      .string()
      .max(1024)
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64')
      .optional(),
    lifetime: z.number().int().positive().max(0xffffffff).optional(),
    binding: z.enum(['U', 'UQ', 'S', 'SQ', 'US', 'UQS']).optional(),
    shortServerId: z.number().int().min(1).max(65534).optional(),
    /** Instance ids written (defaults: Security 1 — the bootstrap account is usually 0 —, Server 0). */
    securityInstanceId: z.number().int().min(0).max(65534).optional(),
    serverInstanceId: z.number().int().min(0).max(65534).optional(),
  })
  .strict()
  .refine((c) => c.securityMode !== 'psk' || (c.pskIdentity !== undefined && c.pskKey !== undefined), 'psk needs pskIdentity and pskKey');
export type BootstrapConfig = z.infer<typeof BootstrapConfig>;

/** A server URI as accepted in a bootstrap configuration. */
export const BootstrapServerUri = ServerUri;
