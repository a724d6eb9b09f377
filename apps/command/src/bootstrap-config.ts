// Bootstrap configurations and AppKey passwords as the CoAP gateway reads them
// (apps/coap-gateway/src/bootstrap.ts, registration-store.ts). The schema below mirrors the
// gateway's BootstrapConfig (an app cannot import another app); test/bootstrap.e2e.test.ts
// checks that what this service stores is what the gateway resolves.
import { z } from 'zod';
import { Epi } from '@dmp/contracts';

const ServerUri = z
  .string()
  .max(255)
  .regex(/^coaps?:\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:[\]]+)(:\d{1,5})?(\/\S*)?$/, 'a coap:// or coaps:// URI');

export const BootstrapConfig = z
  .object({
    servers: z.array(z.object({ uri: ServerUri, weight: z.number().positive().max(1_000_000).optional() }).strict()).min(1).max(1000),
    securityMode: z.enum(['nosec', 'psk']).default('nosec'),
    pskIdentity: z.string().min(1).max(128).optional(),
    /** PSK as base64 (write-only: never returned). */
    pskKey: z
      .string()
      .max(1024)
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64')
      .optional(),
    lifetime: z.number().int().positive().max(0xffffffff).optional(),
    binding: z.enum(['U', 'UQ', 'S', 'SQ', 'US', 'UQS']).optional(),
    shortServerId: z.number().int().min(1).max(65534).optional(),
    securityInstanceId: z.number().int().min(0).max(65534).optional(),
    serverInstanceId: z.number().int().min(0).max(65534).optional(),
  })
  .strict()
  .refine((c) => c.securityMode !== 'psk' || (c.pskIdentity !== undefined && c.pskKey !== undefined), 'psk needs pskIdentity and pskKey');
export type BootstrapConfig = z.infer<typeof BootstrapConfig>;

export const AppKey = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'AppKey: 1-128 letters, digits, . _ -');

/** `{epi}`, `appkey:{KEY}` or `default` → the gateway's Redis key; undefined when malformed. */
export function bootstrapKey(target: string): string | undefined {
  if (target === 'default') return 'dmp:bootstrap:default';
  if (target.startsWith('appkey:')) {
    const k = target.slice('appkey:'.length);
    return AppKey.safeParse(k).success ? `dmp:bootstrap:appkey:${k}` : undefined;
  }
  return Epi.safeParse(target).success ? `dmp:bootstrap:epi:${target}` : undefined;
}

export const appKeyPasswordKey = (appKey: string) => `dmp:appkey:${appKey}:password`;

export const AppKeyPassword = z.object({ password: z.string().min(1).max(256) }).strict();
