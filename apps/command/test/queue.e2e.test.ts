// Queue mode end to end: a device that stops answering (aiocoap device, SIGSTOP) or is offline
// gets its queued commands, in order, when it next updates / registers. Real gateway, Kafka,
// Redis; the device is test/peers/aiocoap_device.py (aiocoap, a CoAP stack we did not write).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, waitUntil } from '@dmp/testing';
import { call, type CommandProcess, type GatewayProcess, type OpView, peers, post, redisClient, startCommand, startGateway, testImei } from './support';

let gw: GatewayProcess;
let cmd: CommandProcess;
const redis = redisClient();
const imei = testImei();
const devices: ChildProcess[] = [];

interface Device {
  child: ChildProcess;
  out: () => string;
  send(line: string): void;
}

async function startDevice(): Promise<Device> {
  let out = '';
  const child = spawn(peers.python, [path.join(ROOT, 'test/peers/aiocoap_device.py'), '--server', `coap://127.0.0.1:${gw.coapPort}`, '--imei', imei, '--lifetime', '300'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  devices.push(child);
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await waitUntil('aiocoap device registered', async () => /REGISTERED 2\.01/.test(out), 30000).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${out}`);
  });
  return { child, out: () => out, send: (l) => child.stdin?.write(`${l}\n`) };
}

const op = (body: Record<string, unknown>) => post(cmd.url, `/devices/${imei}/operations`, body);
const state = async (id: string) => (await call(cmd.url, 'GET', `/operations/${id}`)).body;
const until = (id: string, status: string, ms = 15000) =>
  waitUntil(`operation ${id} ${status}`, async () => {
    const s = await state(id);
    return s.status === status ? s : undefined;
  }, ms);

beforeAll(async () => {
  [gw, cmd] = await Promise.all([startGateway(), startCommand({ COMMAND_AWAKE_WINDOW_MS: '1500' }), redis.connect()]).then(([a, b]) => [a, b] as const);
  // let the command service's consumer group get its partitions
  await new Promise((r) => setTimeout(r, 4000));
}, 120000);

afterAll(async () => {
  for (const d of devices) if (d.exitCode === null) d.kill('SIGKILL');
  await Promise.allSettled([gw?.stop(), cmd?.stop(), redis.quit()]);
});

describe('queue mode (command service + gateway + aiocoap device)', () => {
  it('a device that stops answering: queue:true commands go back to the queue and are delivered in order after its next Update', async () => {
    const d = await startDevice();
    const ok = await op({ op: 'read', path: '/3/0/0', format: 'text' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'SUCCESS', code: '2.05', content: 'aiocoap-device' });

    d.child.kill('SIGSTOP'); // registered, not answering
    const first = await op({ op: 'read', path: '/3/0/0', format: 'text', queue: true, timeoutMs: 1500 });
    expect(first.status).toBe(202);
    const second = await op({ op: 'read', path: '/3/0/2', format: 'text', queue: true, timeoutMs: 1500 });
    expect(second.status).toBe(202);
    // the gateway gives up after timeoutMs: both are back in the device's queue, oldest first
    await until(first.body.id, 'QUEUED');
    await until(second.body.id, 'QUEUED');
    expect(await redis.zrange(`dmp:cmdq:${imei}`, '0', '-1')).toEqual([first.body.id, second.body.id]);

    d.child.kill('SIGCONT');
    d.send(`update coap://127.0.0.1:${gw.coapPort}`);
    await waitUntil('update answered', async () => /UPDATED 2\.04/.test(d.out()), 10000);
    const a = await until(first.body.id, 'SUCCESS');
    const b = await until(second.body.id, 'SUCCESS');
    expect(a).toMatchObject({ code: '2.05', content: 'aiocoap-device' });
    expect(b).toMatchObject({ code: '2.05', content: 'AIOCOAP-0001' });
    expect(await redis.zcard(`dmp:cmdq:${imei}`)).toBe(0);
    expect(await redis.scard(`dmp:cmdq:${imei}:inflight`)).toBe(0);

    d.send(`deregister coap://127.0.0.1:${gw.coapPort}`);
    await waitUntil('deregistered', async () => /DEREGISTERED 2\.02/.test(d.out()), 10000);
    d.send('quit');
  });

  it('offline: queue false → 409; queue true → 202 QUEUED, delivered when it registers again; a cancelled one is not sent', async () => {
    await waitUntil('registration gone', async () => (await redis.exists(`dmp:reg:${imei}`)) === 0, 10000);
    const refused = await op({ op: 'read', path: '/3/0/0', format: 'text' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/offline/);

    const queued = await op({ op: 'read', path: '/3/0/2', format: 'text', queue: true });
    expect(queued.status).toBe(202);
    expect(queued.body.status).toBe('QUEUED');
    const dropped = await op({ op: 'read', path: '/3/0/0', format: 'text', queue: true });
    const cancelled = await call<OpView>(cmd.url, 'DELETE', `/operations/${dropped.body.id}`);
    expect(cancelled.body.status).toBe('CANCELLED');
    const expiring = await op({ op: 'read', path: '/3/0/0', format: 'text', queue: true, expiresInMs: 1000 });
    expect(expiring.body.status).toBe('QUEUED');
    await new Promise((r) => setTimeout(r, 1200));

    await startDevice();
    const got = await until(queued.body.id, 'SUCCESS');
    expect(got).toMatchObject({ code: '2.05', content: 'AIOCOAP-0001' });
    expect(await until(expiring.body.id, 'TIMEOUT')).toMatchObject({ error: 'expired in the queue' });
    expect((await state(dropped.body.id)).status).toBe('CANCELLED');
    // cancelling something already done is refused with its final state kept
    expect((await call(cmd.url, 'DELETE', `/operations/${got.id}`)).body.status).toBe('SUCCESS');
  });

  it('binding UQ: a device asleep longer than the awake window gets queued commands (no `queue` flag); its Update flushes them', async () => {
    const uq = testImei();
    // libcoap's coap-client registers with b=UQ and exits: nothing answers at that address
    const coap = (args: string[]) =>
      new Promise<string>((resolve) => execFile(peers.coapClient, ['-B', '3', ...args], { timeout: 8000 }, (_e, out, err) => resolve(`${out}${err}`)));
    await coap(['-m', 'post', '-t', '40', '-e', '</3/0>', `coap://127.0.0.1:${gw.coapPort}/rd?ep=urn:imei:${uq}&lt=300&b=UQ`]);
    await waitUntil('UQ registration', async () => (await redis.hget(`dmp:reg:${uq}`, 'q')) === '1', 10000);
    await new Promise((r) => setTimeout(r, 1700)); // past COMMAND_AWAKE_WINDOW_MS
    const r = await post(cmd.url, `/devices/${uq}/operations`, { op: 'read', path: '/3/0/0', format: 'text', timeoutMs: 1000 });
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('QUEUED');
    expect(await redis.zrange(`dmp:cmdq:${uq}`, '0', '-1')).toEqual([r.body.id]);
    // an Update (from a port that does not answer either) flushes it: sent, unanswered, back in the queue
    await coap(['-m', 'post', `coap://127.0.0.1:${gw.coapPort}/rd/${uq}`]);
    await waitUntil('sent after the update', async () => (await state(r.body.id)).status === 'SENT', 10000);
    const back = await until(r.body.id, 'QUEUED', 10000);
    expect(back.error).toMatch(/no answer/);
    expect(await redis.zrange(`dmp:cmdq:${uq}`, '0', '-1')).toEqual([r.body.id]);
    await call(cmd.url, 'DELETE', `/operations/${r.body.id}`);
  });

  it('offline: a queued command keeps the LwM2M version of the last registration (1.1 → SenML CBOR), not the TLV default', async () => {
    const v11 = testImei();
    const coap = (args: string[]) =>
      new Promise<string>((resolve) => execFile(peers.coapClient, ['-B', '3', ...args], { timeout: 8000 }, (_e, out, err) => resolve(`${out}${err}`)));
    await coap(['-m', 'post', '-t', '40', '-e', '</3/0>', `coap://127.0.0.1:${gw.coapPort}/rd?ep=urn:imei:${v11}&lt=300&lwm2m=1.1&b=U`]);
    // written by the command service from the `registered` event
    await waitUntil('dmp:ver written', async () => (await redis.get(`dmp:ver:${v11}`)) === '1.1', 10000);
    await coap(['-m', 'delete', `coap://127.0.0.1:${gw.coapPort}/rd/${v11}`]);
    await waitUntil('registration gone', async () => (await redis.exists(`dmp:reg:${v11}`)) === 0, 10000);
    const r = await post(cmd.url, `/devices/${v11}/operations`, { op: 'read', path: '/3/0', queue: true });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'QUEUED', reason: 'device-offline' });
    const queuedCmd = JSON.parse((await redis.hget(`dmp:op:${r.body.id}`, 'cmd')) ?? '{}') as { accept?: number };
    expect(queuedCmd.accept).toBe(112);
    await call(cmd.url, 'DELETE', `/operations/${r.body.id}`);
    await redis.del(`dmp:ver:${v11}`, `dmp:known:${v11}`);
  });

  it('unknown EPI → 404', async () => {
    expect((await post(cmd.url, `/devices/${testImei()}/operations`, { op: 'read', path: '/3/0', queue: true })).status).toBe(404);
  });
});
