// Downlink end to end with a real LwM2M client we did not write (the Eclipse Leshan client
// library, through test/interop/LeshanInteropClient.java): commands published on the
// gateway's own Kafka topic go out over CoAP, and the Kafka `command-result` / `data`
// events are asserted, together with the Redis state (registration, observation).
import { type ChildProcess, spawn } from 'node:child_process';
import type { CommandResult, DataEvent, DeviceEvent } from '@dmp/contracts';
import type { KafkaJsEventBus } from '@dmp/kafka';
import { createDefaultContentFormatRegistry, newSingleResource, ObjectModelRegistry, writeRequest } from '@dmp/lwm2m';
import { ROOT, waitUntil } from '@dmp/testing';
import {
  busClient,
  coapClient,
  commandResults,
  dataEvents,
  deviceEvents,
  type GatewayProcess,
  peers,
  redisClient,
  responseLine,
  sendCommand,
  startGateway,
  testImei,
  type TopicCollector,
} from './harness';

const TLV = 11542;
const SENML_JSON = 110;
const SENML_CBOR = 112;
const LINK_FORMAT = 40;

let gw: GatewayProcess;
/** A second gateway with short CoAP timers, for the no-answer case (RFC 7252 §4.8 parameters). */
let fastGw: GatewayProcess;
let devices: TopicCollector<DeviceEvent>;
let data: TopicCollector<DataEvent>;
let results: TopicCollector<CommandResult>;
let leshan: ChildProcess | undefined;
let leshanOut = '';
const bus: KafkaJsEventBus = busClient();
const redis = redisClient();
const imei = testImei();

type Cmd = Parameters<typeof sendCommand>[2];

/** Publishes a command to `target`'s topic and waits for its result. */
async function command(target: GatewayProcess, cmd: Omit<Cmd, 'epi'> & { epi?: string }, waitMs = 20000): Promise<CommandResult> {
  const id = await sendCommand(bus, target.id, { epi: imei, ...cmd });
  return results.waitFor(`result of ${cmd.operation} ${cmd.uriPath.join('/')}`, (r) => r.id === id, waitMs);
}

const valueAt = (r: CommandResult, path: string) => r.values?.find((v) => v.path === path)?.value;
const text = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');

async function metric(g: GatewayProcess, name: string): Promise<number> {
  const body = await (await fetch(`${g.httpUrl}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}

beforeAll(async () => {
  [gw, fastGw, devices, data, results] = await Promise.all([
    startGateway(),
    startGateway(undefined, { COAP_ACK_TIMEOUT_MS: '200', COAP_MAX_RETRANSMIT: '2' }),
    deviceEvents(),
    dataEvents(),
    commandResults(),
    bus.connect(),
    redis.connect(),
  ]).then(([a, b, c, d, e]) => [a, b, c, d, e] as const);
  // the Leshan client registers with `ep=urn:imei:<imei>` (EPI = the IMEI) and runs long enough for the file
  leshan = spawn(
    peers.java,
    ['-cp', `${peers.leshanLib}/*`, 'test/interop/LeshanInteropClient.java', '-u', `coap://127.0.0.1:${gw.coapPort}`, '-n', `urn:imei:${imei}`, '-l', '300', '-t', '110', '-b', '127.0.0.1'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  leshan.stdout?.on('data', (d: Buffer) => (leshanOut += d.toString()));
  leshan.stderr?.on('data', (d: Buffer) => (leshanOut += d.toString()));
});

afterAll(async () => {
  if (leshan && leshan.exitCode === null) {
    const exited = new Promise((r) => leshan?.once('exit', r));
    leshan.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  await Promise.allSettled([gw?.stop(), fastGw?.stop(), devices?.close(), data?.close(), results?.close(), bus.close(), redis.quit()]);
});

describe('downlink through a real gateway to the Eclipse Leshan client (spec §7.6–§7.10)', () => {
  it('Leshan registers: `registered` carries its object links, dmp:reg:{epi} exists and names this gateway', async () => {
    const ev = await devices
      .waitFor('Leshan registered', (e) => e.epi === imei && e.type === 'registered', 60000)
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\nleshan output:\n${leshanOut.slice(-3000)}`);
      });
    if (ev.type !== 'registered') throw new Error('unreachable');
    expect(ev.gatewayId).toBe(gw.id);
    expect(ev.endpoint).toBe(`urn:imei:${imei}`);
    expect(ev.links).toContain('</3/0>');
    expect(ev.links).toContain('</1/0>');
    expect(ev.links).toMatch(/rt="oma\.lwm2m"/);
    const reg = await redis.hgetall(`dmp:reg:${imei}`);
    expect(reg).toMatchObject({ gw: gw.id, loc: imei });
    expect(reg['a']).toBe(`${ev.address.ip}:${ev.address.port}`);
  }, 90000);

  it('spec §7.6 Read /3/0 in TLV, SenML CBOR and SenML JSON → 2.05 with the manufacturer decoded', async () => {
    for (const accept of [TLV, SENML_CBOR, SENML_JSON]) {
      const r = await command(gw, { operation: 'read', method: 'GET', uriPath: ['3', '0'], accept });
      expect({ accept, status: r.status, code: r.code, cf: r.contentFormat, gw: r.gatewayId }).toEqual({ accept, status: 'SUCCESS', code: '2.05', cf: accept, gw: gw.id });
      expect(valueAt(r, '/3/0/0')).toBe('Eclipse Leshan');
      expect(valueAt(r, '/3/0/2')).toBe('DMP-INTEROP-0001');
    }
  });

  it('Write /3/0/14 (UTC offset) with a TLV PUT → 2.04, read back → the new value', async () => {
    const ctx = { models: ObjectModelRegistry.default(), formats: createDefaultContentFormatRegistry() };
    const offset = `+0${1 + Math.floor(Math.random() * 8)}:00`;
    const req = writeRequest(ctx, '/3/0/14', newSingleResource(14, 'STRING', offset), { format: TLV });
    expect(req.method).toBe('PUT');
    const w = await command(gw, {
      operation: 'write',
      method: 'PUT',
      uriPath: req.uriPath,
      contentFormat: TLV,
      payload: Buffer.from(req.payload ?? []).toString('base64'),
    });
    expect(w).toMatchObject({ status: 'SUCCESS', code: '2.04' });
    const r = await command(gw, { operation: 'read', method: 'GET', uriPath: ['3', '0', '14'], accept: TLV });
    expect(r).toMatchObject({ status: 'SUCCESS', code: '2.05' });
    expect(valueAt(r, '/3/0/14')).toBe(offset);
  });

  it('Execute /1/0/8 (Registration Update Trigger) → 2.04, and the client then sends an Update', async () => {
    const r = await command(gw, { operation: 'execute', method: 'POST', uriPath: ['1', '0', '8'] });
    expect(r).toMatchObject({ status: 'SUCCESS', code: '2.04' });
    const ev = await devices.waitFor('update after the trigger', (e) => e.epi === imei && e.type === 'updated', 15000);
    expect(ev).toMatchObject({ gatewayId: gw.id, lifetime: 300 });
  });

  it('Execute /3/0/0 (Manufacturer, not executable) → FAILED with the device\'s own error code passed through', async () => {
    // the command service would refuse this before sending (object model); sent anyway, the
    // Leshan client refuses it itself and the gateway must report the device's answer as it is
    const r = await command(gw, { operation: 'execute', method: 'POST', uriPath: ['3', '0', '0'] });
    expect(r).toMatchObject({ status: 'FAILED', code: '4.05', gatewayId: gw.id });
    // the client is still there and answering
    const again = await command(gw, { operation: 'read', method: 'GET', uriPath: ['3', '0', '0'], accept: 0 });
    expect(again).toMatchObject({ status: 'SUCCESS', code: '2.05' });
    expect(text(again.payload)).toBe('Eclipse Leshan');
  });

  it('Discover /3 (Accept 40) → 2.05 link-format listing the Device resources', async () => {
    const r = await command(gw, { operation: 'discover', method: 'GET', uriPath: ['3'], accept: LINK_FORMAT });
    expect(r).toMatchObject({ status: 'SUCCESS', code: '2.05', contentFormat: LINK_FORMAT });
    const links = text(r.payload);
    expect(links).toContain('</3/0/0>');
    expect(links).toContain('</3/0/13>');
  });

  it('spec §7.7 observe, §7.10 notify, §7.8 cancel: Observe /3/0/13 → token, ordered notifications as `data` events, dmp:obs:{token}; cancel stops them', async () => {
    const o = await command(gw, { operation: 'observe', method: 'GET', uriPath: ['3', '0', '13'], accept: TLV, observe: 0 });
    expect(o).toMatchObject({ status: 'SUCCESS', code: '2.05' });
    expect(typeof valueAt(o, '/3/0/13')).toBe('number');
    const token = o.token;
    if (!token) throw new Error('observe result without a token');
    expect(await redis.hgetall(`dmp:obs:${token}`)).toMatchObject({ epi: imei, path: '/3/0/13' });

    const notifications = () => data.items.filter((d) => d.epi === imei && d.source === 'notify' && d.path === '/3/0/13');
    await waitUntil('two notifications', async () => notifications().length >= 2, 6000);
    const seen = notifications();
    for (const n of seen) {
      expect(n.contentFormat).toBe(TLV);
      expect(n.values).toEqual([expect.objectContaining({ path: '/3/0/13', type: 'time', value: expect.any(Number) })]);
    }
    const seqs = seen.map((n) => n.observeSeq ?? -1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    const times = seen.map((n) => Number(n.values[0]?.value));
    expect(times[times.length - 1]).toBeGreaterThan(times[0]!);

    const c = await command(gw, { operation: 'cancel-observe', method: 'GET', uriPath: ['3', '0', '13'], accept: TLV, observe: 1, token });
    expect(c).toMatchObject({ status: 'SUCCESS', code: '2.05' });
    expect(await redis.exists(`dmp:obs:${token}`)).toBe(0);
    // notifications already in flight may still land; after that, none
    await new Promise((r) => setTimeout(r, 1500));
    const settled = notifications().length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(notifications().length).toBe(settled);
  });

  it('a command for an EPI that is not registered → UNREACHABLE', async () => {
    const r = await command(gw, { epi: testImei(), operation: 'read', method: 'GET', uriPath: ['3', '0'], accept: TLV });
    expect(r).toMatchObject({ status: 'UNREACHABLE', gatewayId: gw.id });
    expect(r.code).toBeUndefined();
  });

  it('a registered address where nothing answers → retransmissions, then TIMEOUT well within timeoutMs', async () => {
    const dead = testImei();
    const reg = await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', `coap://127.0.0.1:${fastGw.coapPort}/rd?ep=urn:imei:${dead}&lt=300`]);
    expect(responseLine(reg)).toMatch(/c:2\.01/); // coap-client has exited: its port is closed now
    expect(fastGw.httpUrl).toMatch(/^http:\/\//);
    const before = await metric(fastGw, 'dmp_gateway_retransmissions_total');
    const timeoutMs = 10000;
    const sentAt = Date.now();
    const r = await command(fastGw, { epi: dead, operation: 'read', method: 'GET', uriPath: ['3', '0'], accept: TLV, timeoutMs });
    expect(r).toMatchObject({ status: 'TIMEOUT', gatewayId: fastGw.id });
    // ACK_TIMEOUT 200 ms (random factor 1.5), MAX_RETRANSMIT 2: the exchange gives up after
    // 200+400+800 … 300+600+1200 ms, long before the command's own deadline
    expect(r.ts - sentAt).toBeGreaterThanOrEqual(1400);
    expect(r.ts - sentAt).toBeLessThan(timeoutMs / 2);
    expect(await metric(fastGw, 'dmp_gateway_retransmissions_total')).toBe(before + 2);
  });
});
