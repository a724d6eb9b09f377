import type { OpenAPIObject } from '@nestjs/swagger';

/**
 * Merges the gateway's own OpenAPI document with each upstream's `/api/docs-json`
 * (paths are already absolute under /api/v1). An upstream that does not answer is
 * listed in `x-dmp-unavailable` instead of failing the whole document.
 */
export async function mergedDocument(own: OpenAPIObject, upstreams: Record<string, string>, timeoutMs = 2000): Promise<OpenAPIObject> {
  const doc: OpenAPIObject = structuredClone(own);
  doc.components ??= {};
  doc.components.schemas ??= {};
  const unavailable: string[] = [];
  await Promise.all(
    Object.entries(upstreams).map(async ([prefix, base]) => {
      try {
        const res = await fetch(new URL('/api/docs-json', base), { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) throw new Error(String(res.status));
        const up = (await res.json()) as OpenAPIObject;
        for (const [p, item] of Object.entries(up.paths ?? {})) if (p.startsWith(`/api/v1/${prefix}`)) doc.paths[p] = item;
        Object.assign(doc.components!.schemas!, up.components?.schemas ?? {});
      } catch {
        unavailable.push(prefix);
      }
    }),
  );
  if (unavailable.length) (doc as OpenAPIObject & { 'x-dmp-unavailable': string[] })['x-dmp-unavailable'] = unavailable.sort();
  return doc;
}
