// A gateway instance that vanished (kill -9: no graceful shutdown, its heartbeat key expires)
// while its devices' registrations are still live: the command service stops routing to its
// topic (nobody consumes it), queues the command with reason `gateway-unavailable`, and sends
// it when the device's next uplink arrives through another instance. Real processes: two
// gateways, the command service, Kafka, Redis; the device is test/peers/aiocoap_device.py.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, waitUntil } from '@dmp/testing';
import { call, type CommandProcess, type GatewayProcess, peers, post, redisClient, startCommand, startGateway, testImei } from './support';

let a: GatewayProcess;
let b: GatewayProcess;
let cmd: CommandProcess;
let device: ChildProcess | undefined;
let deviceOut = '';
const redis = redisClient();
const imei = testImei();
const HEARTBEAT_MS = 400; // key TTL 1.2 s

const op = (body: Record<string, unknown>) => post(cmd.url, `/devices/${imei}/operations`, body);
const line = (re: RegExp, from: number) =>
  waitUntil(`device output ${re}`, async () => re.test(deviceOut.slice(from)), 15000).catch((e: unknown) => {
    throw new Error(`${String(e)}\ndevice output:\n${deviceOut.slice(-2000)}`);
  });

beforeAll(async () => {
  const gwEnv = { GATEWAY_HEARTBEAT_MS: String(HEARTBEAT_MS) };
  [a, b, cmd] = await Promise.all([startGateway(gwEnv), startGateway(gwEnv), startCommand({ COMMAND_GATEWAY_CACHE_MS: '200' }), redis.connect()]).then(
    ([x, y, c]) => [x, y, c] as const,
  );
  device = spawn(peers.python, [path.join(ROOT, 'test/peers/aiocoap_device.py'), '--server', `coap://127.0.0.1:${a.coapPort}`, '--imei', imei, '--lifetime', '300'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  device.stdout?.on('data', (d: Buffer) => (deviceOut += d.toString()));
  device.stderr?.on('data', (d: Buffer) => (deviceOut += d.toString()));
  await line(/REGISTERED 2\.01/, 0);
  await new Promise((r) => setTimeout(r, 3000)); // the command service's consumer group gets its partitions
}, 120000);

afterAll(async () => {
  if (device && device.exitCode === null) device.kill('SIGKILL');
  await Promise.allSettled([a?.stop(), b?.stop(), cmd?.stop(), redis.quit()]);
});

describe('a vanished gateway (kill -9): commands wait for the device to come back through another gateway', () => {
  it('while A lives: its heartbeat key exists with a TTL of 3 periods and a read goes through A', async () => {
    const ttl = await redis.pttl(`dmp:gw:${a.id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3 * HEARTBEAT_MS);
    expect(await redis.hget(`dmp:reg:${imei}`, 'gw')).toBe(a.id);
    const r = await op({ op: 'read', path: '/3/0/0', format: 'text' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'SUCCESS', content: 'aiocoap-device' });
  });

  it('A killed: 202 QUEUED gateway-unavailable (in the device queue, not in A’s topic), 409 with queue:false; the Update through B delivers it', async () => {
    await a.kill();
    await waitUntil('A’s heartbeat to expire', async () => (await redis.exists(`dmp:gw:${a.id}`)) === 0, 5000);
    await new Promise((r) => setTimeout(r, 300)); // past COMMAND_GATEWAY_CACHE_MS
    // the registration itself is still live and still names A
    expect(await redis.hget(`dmp:reg:${imei}`, 'gw')).toBe(a.id);
    expect(Number(await redis.hget(`dmp:reg:${imei}`, 'dl'))).toBeGreaterThan(Date.now());

    const queued = await op({ op: 'read', path: '/3/0/0', format: 'text', timeoutMs: 5000 });
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ status: 'QUEUED', reason: 'gateway-unavailable' });
    expect(await redis.zrange(`dmp:cmdq:${imei}`, '0', '-1')).toEqual([queued.body.id]);

    const refused = await op({ op: 'read', path: '/3/0/0', format: 'text', queue: false });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ reason: 'gateway-unavailable' });
    expect(refused.body.message).toMatch(new RegExp(`gateway ${a.id}`));

    // still queued a moment later: nothing was sent to A's topic, nothing flushed it
    await new Promise((r) => setTimeout(r, 500));
    expect((await call(cmd.url, 'GET', `/operations/${queued.body.id}`)).body).toMatchObject({ status: 'QUEUED', reason: 'gateway-unavailable' });

    const from = deviceOut.length;
    device?.stdin?.write(`update coap://127.0.0.1:${b.coapPort}\n`);
    await line(/UPDATED 2\.04/, from);
    const done = await waitUntil(
      'the queued read to complete through B',
      async () => {
        const s = (await call(cmd.url, 'GET', `/operations/${queued.body.id}`)).body;
        return s.status === 'SUCCESS' ? s : undefined;
      },
      15000,
    );
    expect(done).toMatchObject({ status: 'SUCCESS', code: '2.05', content: 'aiocoap-device' });
    expect(await redis.hget(`dmp:reg:${imei}`, 'gw')).toBe(b.id);
    expect(await redis.zcard(`dmp:cmdq:${imei}`)).toBe(0);

    // and from now on reads go straight through B
    const direct = await op({ op: 'read', path: '/3/0/2', format: 'text' });
    expect(direct.status).toBe(200);
    expect(direct.body).toMatchObject({ status: 'SUCCESS', content: 'AIOCOAP-0001' });
  });

  it('a gateway stopped gracefully deletes its heartbeat at once', async () => {
    expect(await redis.exists(`dmp:gw:${b.id}`)).toBe(1);
    await b.stop();
    expect(await redis.exists(`dmp:gw:${b.id}`)).toBe(0);
  });
});
