import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { exitOf, ROOT, spawnTs, waitUntil } from '@dmp/testing';

const TOKEN = 'test-token-0123456789-abcdefghijklmnop';

/** A stand-in upstream service: records what reaches it and serves an OpenAPI document. */
function upstreamServer(paths: Record<string, unknown> = { '/api/v1/devices/{epi}': { get: { summary: 'device' } } }) {
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/api/docs-json') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ openapi: '3.0.0', paths, components: { schemas: { Device: { type: 'object' } } } }));
        return;
      }
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.statusCode = req.url?.includes('missing') ? 404 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ echoed: req.url }));
    });
  });
  return { server, seen };
}

describe('api-gateway (one base URL, bearer auth, proxy, merged OpenAPI)', () => {
  const up = upstreamServer();
  // a second service owning `devices/*/operations` and `operations` (the command service's shape);
  // it also lists a path under `devices/{epi}` it does not own, which the merge must leave out
  const cmd = upstreamServer({
    '/api/v1/devices/{epi}/operations': { post: { summary: 'operation' } },
    '/api/v1/operations/{id}': { get: { summary: 'operation state' } },
    '/api/v1/devices/{epi}/not-routed-here': { get: { summary: 'x' } },
  });
  let base = '';
  let output = '';
  let child: ReturnType<typeof spawnTs>;

  beforeAll(async () => {
    await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => cmd.server.listen(0, '127.0.0.1', r));
    const upUrl = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}`;
    const cmdUrl = `http://127.0.0.1:${(cmd.server.address() as AddressInfo).port}`;
    child = spawnTs(
      path.join(ROOT, 'apps/api-gateway/src/main.ts'),
      { HTTP_PORT: '0', API_ADMIN_TOKEN: TOKEN, API_UPSTREAMS: JSON.stringify({ devices: upUrl, 'devices/*/operations': cmdUrl, operations: cmdUrl, gone: 'http://127.0.0.1:1' }), LOG_LEVEL: 'info' },
      (s) => (output += s),
    );
    base = await waitUntil('api-gateway to listen', async () => /API at (http:\/\/\S+)\/api\/v1/.exec(output)?.[1], 60000);
    base = base.replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    child.kill('SIGTERM');
    await exitOf(child);
    up.server.close();
    cmd.server.close();
  });

  const auth = { authorization: `Bearer ${TOKEN}` };

  it.each([
    ['no header', {}, 'missing'],
    ['wrong token', { authorization: 'Bearer nope' }, 'invalid'],
    ['not bearer', { authorization: `Basic ${TOKEN}` }, 'malformed'],
  ])('refuses %s with 401', async (_n, headers, reason) => {
    const res = await fetch(`${base}/api/v1/devices/861234567890123`, { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(((await res.json()) as { message: string }).message).toBe(`bearer token ${reason}`);
  });

  it('forwards an authenticated request to the owning service with its path, query and body', async () => {
    const before = up.seen.length;
    const res = await fetch(`${base}/api/v1/devices/861234567890123/config?wait=1`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ op: 'read', path: '/3/0' }),
    });
    expect(res.status).toBe(200);
    const got = up.seen[before]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/api/v1/devices/861234567890123/config?wait=1');
    expect(JSON.parse(got.body)).toEqual({ op: 'read', path: '/3/0' });
    expect(got.headers['x-forwarded-for']).toBeDefined();
    const missing = await fetch(`${base}/api/v1/devices/missing`, { headers: auth });
    expect(missing.status).toBe(404);
  });

  it('routes by the most specific key: devices/*/operations to one service, devices/{epi} to another', async () => {
    const [upBefore, cmdBefore] = [up.seen.length, cmd.seen.length];
    const op = await fetch(`${base}/api/v1/devices/861234567890123/operations`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ op: 'read', path: '/3/0' }),
    });
    expect(op.status).toBe(200);
    expect(cmd.seen.slice(cmdBefore).map((s) => `${s.method} ${s.url}`)).toEqual(['POST /api/v1/devices/861234567890123/operations']);
    expect(JSON.parse(cmd.seen[cmdBefore]!.body)).toEqual({ op: 'read', path: '/3/0' });
    expect((await fetch(`${base}/api/v1/operations/abc?x=1`, { headers: auth })).status).toBe(200);
    expect(cmd.seen[cmd.seen.length - 1]!.url).toBe('/api/v1/operations/abc?x=1');
    expect((await fetch(`${base}/api/v1/devices/861234567890123`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/api/v1/devices/861234567890123/observations`, { headers: auth })).status).toBe(200);
    expect(up.seen.slice(upBefore).map((s) => s.url)).toEqual(['/api/v1/devices/861234567890123', '/api/v1/devices/861234567890123/observations']);
    expect(cmd.seen.length).toBe(cmdBefore + 2);
    // the bearer check still guards the wildcard routes
    expect((await fetch(`${base}/api/v1/devices/861234567890123/operations`, { method: 'POST' })).status).toBe(401);
    expect(cmd.seen.length).toBe(cmdBefore + 2);
  });

  it('answers 502 when a service is down and 404 for an unknown prefix', async () => {
    expect((await fetch(`${base}/api/v1/gone/x`, { headers: auth })).status).toBe(502);
    expect((await fetch(`${base}/api/v1/nothing-here`, { headers: auth })).status).toBe(404);
  });

  it('lists routes with upstream readiness at /api/v1', async () => {
    const body = (await (await fetch(`${base}/api/v1`, { headers: auth })).json()) as { routes: Array<{ prefix: string; ready: boolean }> };
    expect(body.routes.map((r) => r.prefix).sort()).toEqual(['devices', 'devices/*/operations', 'gone', 'operations']);
  });

  it('serves the merged OpenAPI document and Swagger UI', async () => {
    const doc = (await (await fetch(`${base}/api/docs-json`)).json()) as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> }; 'x-dmp-unavailable'?: string[] };
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/v1', '/api/v1/devices/{epi}', '/api/v1/devices/{epi}/operations', '/api/v1/operations/{id}']);
    expect(doc.components.schemas['Device']).toBeDefined();
    expect(doc['x-dmp-unavailable']).toEqual(['gone']);
    expect((await fetch(`${base}/api/docs`)).status).toBe(200);
  });

  it('counts rejected and proxied requests without device ids in labels', async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/dmp_api_auth_rejected_total\{reason="missing",service="api-gateway"\} [1-9]/);
    expect(metrics).toMatch(/dmp_api_proxied_total\{route="devices",status="200",service="api-gateway"\} [1-9]/);
    expect(metrics).toMatch(/dmp_api_proxied_total\{route="devices\/\*\/operations",status="200",service="api-gateway"\} [1-9]/);
    expect(metrics).not.toContain('861234567890123');
  });
});
