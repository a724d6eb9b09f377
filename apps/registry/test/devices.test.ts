// Activation (R-ACT-1), device directory, state history and GET /api/v1/devices/{epi},
// directly and through the api-gateway with the bearer token. Real gateway, Kafka, Redis,
// Cassandra.
import { randomBytes } from 'node:crypto';
import { decodeMessage, type DeviceStateEvent, Topics } from '@dmp/contracts';
import { encodeEpn } from '@dmp/identity';
import { createRedis } from '@dmp/redis';
import { stack, uniqueName, waitUntil } from '@dmp/testing';
import { deadlineShard, regKeys } from '../src/redis-layout';
import { Collector, Device, deregisterRequest, getJson, type Proc, registerRequest, runImeis, startApiGateway, startGateway, startRegistry } from './support';

const redis = createRedis(stack.redisUrl);
let gw: Proc & { coapPort: number; id: string };
let registry: Proc;
let api: Proc;
let states: Collector<DeviceStateEvent>;
const token = randomBytes(24).toString('hex');
const [imei, imsiSeed] = runImeis(2) as [string, string];
const imsi = `46000${imsiSeed.slice(-10)}`;
const appKey = `M${String(Date.now()).slice(-9)}`;
const password = randomBytes(8).toString('hex');

beforeAll(async () => {
  await redis.connect();
  await redis.set(regKeys.appkeyPassword(appKey), password);
  [gw, registry, states] = await Promise.all([
    startGateway(),
    startRegistry({ CASSANDRA_KEYSPACE: uniqueName('regdev').toLowerCase(), REGISTRY_GROUP_ID: uniqueName('registry') }),
    Collector.start<DeviceStateEvent>(Topics.deviceState.name, (m) => decodeMessage(Topics.deviceState, m.key, m.value).value),
  ]);
  api = await startApiGateway(token, { devices: registry.url });
  await new Promise((r) => setTimeout(r, 4000)); // the registry's consumer group settles
}, 110000);

afterAll(async () => {
  await Promise.allSettled([gw?.stop(), registry?.stop(), api?.stop(), states?.close()]);
  await redis.del(regKeys.appkeyPassword(appKey), regKeys.reg(imei), regKeys.links(imei), regKeys.known(imei));
  await redis.zrem(regKeys.deadlines(deadlineShard(imei, 16)), imei);
  redis.disconnect();
});

const device = (epi: string) => getJson(`${registry.url}/api/v1/devices/${epi}`);

it('first registration writes the activation record once; re-registration, state history and GET /api/v1/devices/{epi}', async () => {
  // Form A (China Mobile DM v2.x, 5 parts): IMEI + IMSI + version only readable with the AppKey's password
  const epn = encodeEpn({ form: 'A', terminalType: 'I', appKey, password, id1: imei, imsi, version: 'v2.0', parts: 5 });
  const first = await Device.open();
  const second = await Device.open();
  try {
    expect(await first.request(registerRequest(epn, 300, '</1/0>,</3/0>,</4/0>,</19/0>'), gw.coapPort)).toBe('2.01');
    const view1 = await waitUntil(
      'activation and ONLINE',
      async () => {
        const r = await device(imei);
        return r.status === 200 && r.body.activation && r.body.directory?.state === 'ONLINE' ? r.body : undefined;
      },
      30000,
      200,
    );
    expect(view1.activation).toMatchObject({
      imei,
      imsi,
      version: 'v2.0',
      appKey,
      form: 'A',
      endpoint: epn,
      gatewayId: gw.id,
      source: { ip: '127.0.0.1', port: first.port },
      region: { label: 'unknown' }, // loopback source
    });
    expect(view1.registration).toMatchObject({ location: `${imei};v2.0`, lifetime: 300, gatewayId: gw.id, address: { ip: '127.0.0.1', port: first.port } });
    expect(view1.registration.deadline).toBeGreaterThan(Date.now());
    expect(view1.registration.links).toContain('</19/0>');
    expect(view1.directory).toMatchObject({ imei, imsi, dmVersion: 'v2.0', appKey, lifetime: 300, lwm2mVersion: '1.1', binding: 'U', objects: ['/1/0', '/3/0', '/4/0', '/19/0'] });
    expect(view1.directory.firstSeen).toBe(view1.activation.activatedAt);
    expect(view1.history).toHaveLength(1);
    expect(view1.history[0]).toMatchObject({ from: null, to: 'ONLINE', reason: 'registered', gatewayId: gw.id });

    // re-registration from another address: directory follows, activation does not change
    expect(await second.request(registerRequest(epn, 120), gw.coapPort)).toBe('2.01');
    const view2 = await waitUntil(
      'the directory to show the new address',
      async () => {
        const r = await device(imei);
        return r.body.directory?.lastAddress?.port === second.port && r.body.directory?.lifetime === 120 ? r.body : undefined;
      },
      30000,
      200,
    );
    expect(view2.activation).toEqual(view1.activation);
    expect(view2.registration).toMatchObject({ lifetime: 120, address: { port: second.port } });

    // de-register: DEREGISTERED, newest first in the history
    expect(await second.request(deregisterRequest(`${imei};v2.0`), gw.coapPort)).toBe('2.02');
    const view3 = await waitUntil(
      'DEREGISTERED',
      async () => {
        const r = await device(imei);
        return r.body.directory?.state === 'DEREGISTERED' ? r.body : undefined;
      },
      30000,
      200,
    );
    expect(view3.registration).toBeNull();
    expect(view3.history.map((h: { from: string | null; to: string }) => `${h.from}>${h.to}`)).toEqual(['ONLINE>DEREGISTERED', 'null>ONLINE']);

    // derived events: one `activated` (with the region and identity), two state changes
    const mine = () => states.items.map((i) => i.value).filter((e) => e.epi === imei);
    await waitUntil('state events', async () => mine().filter((e) => e.type === 'state-changed').length >= 2, 15000);
    await new Promise((r) => setTimeout(r, 500));
    const activated = mine().filter((e) => e.type === 'activated');
    expect(activated).toHaveLength(1);
    expect(activated[0]).toMatchObject({ imei, imsi, appKey, version: 'v2.0', address: { port: first.port }, region: { country: '', province: '' } });
    expect(mine().filter((e) => e.type === 'state-changed').map((e) => (e.type === 'state-changed' ? e.to : ''))).toEqual(['ONLINE', 'DEREGISTERED']);

    // through the api-gateway: bearer token required, same document
    expect((await getJson(`${api.url}/api/v1/devices/${imei}`)).status).toBe(401);
    const proxied = await getJson(`${api.url}/api/v1/devices/${imei}`, { authorization: `Bearer ${token}` });
    expect(proxied.status).toBe(200);
    expect(proxied.body.activation).toEqual(view3.activation);
    const docs = await getJson(`${api.url}/api/docs-json`);
    expect(Object.keys(docs.body.paths)).toContain('/api/v1/devices/{epi}');
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
});

it('404 for an unknown EPI, 400 for a malformed one; OpenAPI at /api/docs-json', async () => {
  expect((await device(runImeis(1)[0]!)).status).toBe(404);
  expect((await device('not-an-epi!')).status).toBe(400);
  expect((await device('1234')).status).toBe(400);
  const doc = await getJson(`${registry.url}/api/docs-json`);
  expect(doc.status).toBe(200);
  expect(doc.body.paths['/api/v1/devices/{epi}'].get.responses).toHaveProperty('404');
});
