// Route keys of API_UPSTREAMS: path segments under /api/v1, `*` matching any one segment
// (`devices`, `devices/*/operations`). A request goes to the most specific key matching a
// prefix of its path: more segments first, then literal before `*` from left to right.
export interface Route {
  key: string;
  segments: string[];
  upstream: string;
}

export const ROUTE_KEY = /^[a-z][a-z0-9-]*(\/([a-z][a-z0-9-]*|\*))*$/;

function specificity(a: Route, b: Route): number {
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  for (let i = 0; i < a.segments.length; i++) {
    const wa = a.segments[i] === '*';
    const wb = b.segments[i] === '*';
    if (wa !== wb) return wa ? 1 : -1;
  }
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Routes ordered most specific first. */
export function compileRoutes(upstreams: Record<string, string>): Route[] {
  return Object.entries(upstreams)
    .map(([key, upstream]) => ({ key, segments: key.split('/'), upstream }))
    .sort(specificity);
}

/**
 * The route for a path below /api/v1 (`/devices/86.../operations?x=1` or an OpenAPI template
 * `/devices/{epi}/operations`, whose `{…}` segments only match `*`).
 */
export function matchRoute(routes: readonly Route[], path: string): Route | undefined {
  const q = path.indexOf('?');
  const segs = (q >= 0 ? path.slice(0, q) : path).split('/').filter((s) => s !== '');
  return routes.find(
    (r) =>
      segs.length >= r.segments.length &&
      r.segments.every((k, i) => {
        const s = segs[i]!;
        if (k === '*') return s !== '';
        return s === k;
      }),
  );
}
