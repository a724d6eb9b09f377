// Bootstrap configurations and AppKey passwords through the command service's API, used by a
// real CoAP gateway bootstrapping the Eclipse Leshan client; plus the service behind the real
// api-gateway (routing of devices/*/operations, merged OpenAPI).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { exitOf, ROOT, spawnTs, waitUntil } from '@dmp/testing';
import { call, type CommandProcess, type GatewayProcess, peers, redisClient, startCommand, startGateway, testImei } from './support';

/** Where the gateway reads AppKey passwords (apps/coap-gateway/src/registration-store.ts). */
const passwordKey = (k: string) => `dmp:appkey:${k}:password`;

const TOKEN = 'test-token-0123456789-abcdefghijklmnop';
let cmd: CommandProcess;
let gw: GatewayProcess;
let leshan: ChildProcess | undefined;
let leshanOut = '';
let apiGw: ReturnType<typeof spawnTs>;
let apiBase = '';
const redis = redisClient();
const epi = testImei();
const appKey = `AK${Date.now().toString(36)}`;

async function put(p: string, body: unknown) {
  const res = await fetch(`${cmd.url}/api/v1${p}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>) };
}

beforeAll(async () => {
  [cmd, gw] = await Promise.all([
    startCommand(),
    startGateway({ COAP_ACK_TIMEOUT_MS: '500', COAP_MAX_RETRANSMIT: '2', BOOTSTRAP_DEFAULT_SERVERS: 'coap://127.0.0.1:9' }),
    redis.connect(),
  ]);
  const routes = ['operations', 'devices/*/operations', 'devices/*/observations', 'bootstrap', 'appkeys'];
  let out = '';
  apiGw = spawnTs(
    path.join(ROOT, 'apps/api-gateway/src/main.ts'),
    {
      HTTP_PORT: '0',
      API_ADMIN_TOKEN: TOKEN,
      // the registry is not running here: `devices/{epi}` would answer 502, the command routes must not
      API_UPSTREAMS: JSON.stringify({ devices: 'http://127.0.0.1:1', ...Object.fromEntries(routes.map((r) => [r, cmd.url])) }),
    },
    (s) => (out += s),
  );
  apiBase = (await waitUntil('api-gateway to listen', async () => /API at (http:\/\/\S+)\/api\/v1/.exec(out)?.[1], 60000)).replace('[::1]', '127.0.0.1');
}, 120000);

afterAll(async () => {
  apiGw?.kill('SIGTERM');
  if (leshan && leshan.exitCode === null) leshan.kill('SIGTERM');
  await Promise.allSettled([
    cmd?.stop(),
    gw?.stop(),
    apiGw ? exitOf(apiGw) : undefined,
    redis.del(`dmp:bootstrap:epi:${epi}`, `dmp:bootstrap:appkey:${appKey}`, passwordKey(appKey), `dmp:bs:${epi}`),
  ]);
  await redis.quit();
});

describe('bootstrap configuration and AppKey passwords', () => {
  it('PUT /bootstrap/{epi} → the gateway bootstraps the Leshan client with that server (source epi), which then registers there', async () => {
    const server = `coap://127.0.0.1:${gw.coapPort}`;
    const put1 = await put(`/bootstrap/${epi}`, { servers: [{ uri: server }], lifetime: 120 });
    expect(put1.status).toBe(200);
    leshan = spawn(
      peers.java,
      ['-cp', `${peers.leshanLib}/*`, 'test/interop/LeshanInteropClient.java', '-bs', server, '-n', `urn:imei:${epi}`, '-t', '40', '-b', '127.0.0.1'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    leshan.stdout?.on('data', (d: Buffer) => (leshanOut += d.toString()));
    leshan.stderr?.on('data', (d: Buffer) => (leshanOut += d.toString()));
    const bs = await waitUntil('bootstrap outcome', async () => {
      const h = await redis.hgetall(`dmp:bs:${epi}`);
      return h['status'] && h['status'] !== 'running' ? h : undefined;
    }, 45000).catch((e: unknown) => {
      throw new Error(`${String(e)}\nleshan:\n${leshanOut.slice(-3000)}`);
    });
    expect(bs).toMatchObject({ status: 'success', source: 'epi', server });
    await waitUntil('registered at the configured server', async () => (await redis.hget(`dmp:reg:${epi}`, 'gw')) === gw.id, 30000);
    expect(await redis.hget(`dmp:reg:${epi}`, 'lt')).toBe('120');
  }, 90000);

  it('PUT per AppKey / default store what the gateway reads; GET never returns the PSK; DELETE removes', async () => {
    const psk = { servers: [{ uri: 'coap://127.0.0.1:5684', weight: 2 }], securityMode: 'psk', pskIdentity: 'dev-1', pskKey: Buffer.from('secret-key').toString('base64'), lifetime: 600 };
    const a = await put(`/bootstrap/appkey:${appKey}`, psk);
    expect(a.status).toBe(200);
    expect(a.body).not.toHaveProperty('pskKey');
    expect(a.body).toMatchObject({ pskKeySet: true, pskIdentity: 'dev-1' });
    expect(JSON.parse((await redis.get(`dmp:bootstrap:appkey:${appKey}`)) ?? 'null')).toEqual(psk);

    const got = await call<Record<string, unknown>>(cmd.url, 'GET', `/bootstrap/appkey:${appKey}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ servers: psk.servers, pskKeySet: true });
    expect(JSON.stringify(got.body)).not.toContain(psk.pskKey);

    expect((await fetch(`${cmd.url}/api/v1/bootstrap/appkey:${appKey}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(cmd.url, 'GET', `/bootstrap/appkey:${appKey}`)).status).toBe(404);
    expect(await redis.exists(`dmp:bootstrap:appkey:${appKey}`)).toBe(0);
    expect((await fetch(`${cmd.url}/api/v1/bootstrap/appkey:${appKey}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses invalid configurations and targets with 400 (nothing stored)', async () => {
    const fresh = testImei();
    for (const [target, body] of [
      [fresh, { servers: [] }],
      [fresh, { servers: [{ uri: 'http://x' }] }],
      [fresh, { servers: [{ uri: 'coap://x' }], securityMode: 'psk' }],
      [fresh, { servers: [{ uri: 'coap://x' }], surprise: 1 }],
      ['not an epi!', { servers: [{ uri: 'coap://x' }] }],
      ['appkey:', { servers: [{ uri: 'coap://x' }] }],
    ] as const) {
      expect({ target, status: (await put(`/bootstrap/${encodeURIComponent(target)}`, body)).status }).toEqual({ target, status: 400 });
    }
    expect(await redis.exists(`dmp:bootstrap:epi:${fresh}`)).toBe(0);
  });

  it('PUT /appkeys/{key} stores the password and the clear-field fallback where the gateway reads them; GET never shows the password', async () => {
    const get = async () => {
      const r = await fetch(`${cmd.url}/api/v1/appkeys/${appKey}`);
      return { status: r.status, body: r.status === 200 ? await r.json() : undefined };
    };
    expect((await get()).status).toBe(404);
    expect((await put(`/appkeys/${appKey}`, { password: 'p@ss-1' })).status).toBe(204);
    expect(await redis.get(passwordKey(appKey))).toBe('p@ss-1');
    expect(await get()).toEqual({ status: 200, body: { appKey, passwordSet: true, clearFallback: null } });
    // the fallback alone leaves the password as it is
    expect((await put(`/appkeys/${appKey}`, { clearFallback: true })).status).toBe(204);
    expect(await redis.get(`dmp:appkey:${appKey}:clear-fallback`)).toBe('1');
    expect(await redis.get(passwordKey(appKey))).toBe('p@ss-1');
    expect((await put(`/appkeys/${appKey}`, { clearFallback: false })).status).toBe(204);
    expect((await get()).body).toEqual({ appKey, passwordSet: true, clearFallback: false });
    expect((await put(`/appkeys/${appKey}`, { clearFallback: null })).status).toBe(204);
    expect(await redis.exists(`dmp:appkey:${appKey}:clear-fallback`)).toBe(0);
    for (const body of [{ password: '' }, {}, { clearFallback: 'yes' }, { password: 'x', surprise: 1 }]) {
      const r = await put(`/appkeys/${appKey}`, body);
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
    }
    expect(JSON.stringify((await get()).body)).not.toContain('p@ss-1');
    expect((await fetch(`${cmd.url}/api/v1/appkeys/${appKey}`, { method: 'DELETE' })).status).toBe(204);
    expect(await redis.exists(passwordKey(appKey))).toBe(0);
    expect((await fetch(`${cmd.url}/api/v1/appkeys/${appKey}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('behind the api-gateway: devices/{epi}/operations and bootstrap reach the command service; merged OpenAPI lists its paths', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const op = await fetch(`${apiBase}/api/v1/devices/${testImei()}/operations`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ op: 'read', path: '/3/0' }),
    });
    expect(op.status).toBe(404); // answered by the command service (unknown EPI), not 502 from the registry route
    expect(((await op.json()) as { message: string }).message).toMatch(/unknown/);
    expect((await fetch(`${apiBase}/api/v1/devices/${epi}`, { headers: auth })).status).toBe(502);
    expect((await fetch(`${apiBase}/api/v1/bootstrap/default`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"servers":[]}' })).status).toBe(400);
    const doc = (await (await fetch(`${apiBase}/api/docs-json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/devices/{epi}/operations',
        '/api/v1/operations/{id}',
        '/api/v1/devices/{epi}/observations',
        '/api/v1/bootstrap/{target}',
        '/api/v1/appkeys/{appKey}',
      ]),
    );
  });
});
