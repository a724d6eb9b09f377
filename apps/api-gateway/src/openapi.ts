import type { OpenAPIObject } from '@nestjs/swagger';
import { compileRoutes, matchRoute } from './routes';

/**
 * Merges the gateway's own OpenAPI document with each upstream's `/api/docs-json`
 * (paths are already absolute under /api/v1; a path is kept when the gateway routes it to
 * that upstream). An upstream that does not answer is
 * listed in `x-dmp-unavailable` instead of failing the whole document.
 */
export async function mergedDocument(own: OpenAPIObject, upstreams: Record<string, string>, timeoutMs = 2000): Promise<OpenAPIObject> {
  const doc: OpenAPIObject = structuredClone(own);
  doc.components ??= {};
  doc.components.schemas ??= {};
  const unavailable: string[] = [];
  const routes = compileRoutes(upstreams);
  // one fetch per upstream; a path is taken from an upstream only when the gateway routes it there
  const byUpstream = new Map<string, string[]>();
  for (const r of routes) byUpstream.set(r.upstream, [...(byUpstream.get(r.upstream) ?? []), r.key]);
  await Promise.all(
    [...byUpstream].map(async ([base, keys]) => {
      try {
        const res = await fetch(new URL('/api/docs-json', base), { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) throw new Error(String(res.status));
        const up = (await res.json()) as OpenAPIObject;
        for (const [p, item] of Object.entries(up.paths ?? {})) {
          if (!p.startsWith('/api/v1/')) continue;
          if (matchRoute(routes, p.slice('/api/v1'.length))?.upstream === base) doc.paths[p] = item;
        }
        Object.assign(doc.components!.schemas!, up.components?.schemas ?? {});
      } catch {
        unavailable.push(...keys);
      }
    }),
  );
  if (unavailable.length) (doc as OpenAPIObject & { 'x-dmp-unavailable': string[] })['x-dmp-unavailable'] = unavailable.sort();
  return doc;
}
