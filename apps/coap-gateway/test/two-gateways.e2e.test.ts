// Two gateway instances on different ports (issue text): a device registered through A has
// its downlink command delivered by A; A stops, the device updates through B, the next
// command goes out through B. The device is test/peers/aiocoap_device.py (aiocoap, a CoAP
// stack we did not write), one UDP socket for everything, so its address stays the same.
// The command's topic is chosen from the registration's `gw` in Redis, as the command
// service will do.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { type CommandResult, commandTopicFor, type DeviceEvent } from '@dmp/contracts';
import { ROOT, waitUntil } from '@dmp/testing';
import { busClient, commandResults, deviceEvents, type GatewayProcess, peers, redisClient, sendCommand, startGateway, testImei, type TopicCollector } from './harness';

let a: GatewayProcess;
let b: GatewayProcess;
let devices: TopicCollector<DeviceEvent>;
let results: TopicCollector<CommandResult>;
let device: ChildProcess | undefined;
let deviceOut = '';
const bus = busClient();
const redis = redisClient();
const imei = testImei();

/** Waits for the next device output line matching `re` (lines after `from` characters). */
async function deviceLine(re: RegExp, from = 0, timeoutMs = 15000): Promise<RegExpExecArray> {
  return waitUntil(`device output ${re}`, async () => re.exec(deviceOut.slice(from)) ?? undefined, timeoutMs, 20).catch((e: unknown) => {
    throw new Error(`${String(e)}\ndevice output:\n${deviceOut.slice(-2000)}`);
  });
}

/** Sends a read to the gateway that Redis names as the device's owner and waits for the result. */
async function readThroughOwner(uriPath: string[], accept: number): Promise<{ owner: string; result: CommandResult }> {
  const owner = await redis.hget(`dmp:reg:${imei}`, 'gw');
  if (!owner) throw new Error('no owner in Redis');
  const id = await sendCommand(bus, owner, { epi: imei, operation: 'read', method: 'GET', uriPath, accept, timeoutMs: 10000 });
  const result = await results.waitFor(`result on ${commandTopicFor(owner)}`, (r) => r.id === id, 20000);
  return { owner, result };
}

beforeAll(async () => {
  [a, b, devices, results] = await Promise.all([startGateway(), startGateway(), deviceEvents(), commandResults(), bus.connect(), redis.connect()]).then(
    ([x, y, d, r]) => [x, y, d, r] as const,
  );
  expect(a.coapPort).not.toBe(b.coapPort);
  device = spawn(peers.python, [path.join(ROOT, 'test/peers/aiocoap_device.py'), '--server', `coap://127.0.0.1:${a.coapPort}`, '--imei', imei, '--lifetime', '300'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  device.stdout?.on('data', (d: Buffer) => (deviceOut += d.toString()));
  device.stderr?.on('data', (d: Buffer) => (deviceOut += d.toString()));
});

afterAll(async () => {
  if (device && device.exitCode === null) {
    const exited = new Promise((r) => device?.once('exit', r));
    device.stdin?.end('quit\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (device.exitCode === null) device.kill('SIGKILL');
  }
  await Promise.allSettled([a?.stop(), b?.stop(), devices?.close(), results?.close(), bus.close(), redis.quit()]);
});

describe('two gateway instances: the command goes out through the gateway that owns the device', () => {
  let port = 0;

  it('the aiocoap device registers through A: 2.01, `registered` from A, Redis gw = A', async () => {
    port = Number((await deviceLine(/^LISTENING (\d+)$/m))[1]);
    const reg = await deviceLine(/^REGISTERED (\S+) (\S+)$/m);
    expect(reg[1]).toBe('2.01');
    expect(reg[2]).toBe(`rd/${imei}`);
    const ev = await devices.waitFor('registered', (e) => e.epi === imei && e.type === 'registered');
    expect(ev).toMatchObject({ gatewayId: a.id, address: { ip: '127.0.0.1', port }, endpoint: `urn:imei:${imei}` });
    expect(await redis.hgetall(`dmp:reg:${imei}`)).toMatchObject({ gw: a.id, a: `127.0.0.1:${port}` });
  });

  it('a read sent to the owner (A) is delivered by A', async () => {
    const { owner, result } = await readThroughOwner(['3', '0', '0'], 0);
    expect(owner).toBe(a.id);
    expect(result).toMatchObject({ status: 'SUCCESS', code: '2.05', gatewayId: a.id, contentFormat: 0 });
    expect(Buffer.from(result.payload ?? '', 'base64').toString()).toBe('aiocoap-device');
    const tlv = await readThroughOwner(['3', '0'], 11542);
    expect(tlv.result).toMatchObject({ status: 'SUCCESS', gatewayId: a.id });
    expect(tlv.result.values).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/3/0/0', value: 'aiocoap-device' }), expect.objectContaining({ path: '/3/0/2', value: 'AIOCOAP-0001' })]),
    );
  });

  it('A stops (SIGTERM → exit 0); the device updates through B from the same address: `updated` from B, Redis gw = B', async () => {
    expect(await a.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const from = deviceOut.length;
    device?.stdin?.write(`update coap://127.0.0.1:${b.coapPort}\n`);
    expect((await deviceLine(/^UPDATED (\S+)$/m, from))[1]).toBe('2.04');
    const ev = await devices.waitFor('updated through B', (e) => e.epi === imei && e.type === 'updated');
    expect(ev).toMatchObject({ gatewayId: b.id, address: { ip: '127.0.0.1', port } });
    expect(await redis.hgetall(`dmp:reg:${imei}`)).toMatchObject({ gw: b.id, a: `127.0.0.1:${port}` });
  });

  it('the next read goes to B (the owner now) and is delivered by B', async () => {
    const { owner, result } = await readThroughOwner(['3', '0', '0'], 0);
    expect(owner).toBe(b.id);
    expect(result).toMatchObject({ status: 'SUCCESS', code: '2.05', gatewayId: b.id });
    expect(Buffer.from(result.payload ?? '', 'base64').toString()).toBe('aiocoap-device');
  });
});
