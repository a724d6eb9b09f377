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
/** '1' | '0': the AppKey's override of the gateway's GATEWAY_FORM_A_CLEAR_FALLBACK (absent: the gateway default). */
export const appKeyClearFallbackKey = (appKey: string) => `dmp:appkey:${appKey}:clear-fallback`;

/**
 * `PUT /appkeys/{key}`: the fields given are set, the others kept. `clearFallback: true`
 * lets the gateway accept Form A 5-part names of this AppKey from their clear fields when
 * they do not decrypt (fleets whose passwords the platform does not hold); `false` refuses
 * them (4.03); `null` returns to the gateway-wide default.
 */
export const AppKeySettings = z
  .object({ password: z.string().min(1).max(256).optional(), clearFallback: z.boolean().nullable().optional() })
  .strict()
  .refine((b) => b.password !== undefined || b.clearFallback !== undefined, 'give password and/or clearFallback');
