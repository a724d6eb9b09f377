// Bootstrap configurations and AppKey passwords as the CoAP gateway reads them
// (apps/coap-gateway/src/bootstrap.ts, registration-store.ts). The schema is the shared
// contract BootstrapConfig (@dmp/contracts); test/bootstrap.e2e.test.ts checks that what
// this service stores is what the gateway resolves.
import { z } from 'zod';
import { BootstrapConfig, Epi } from '@dmp/contracts';

export { BootstrapConfig };

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
