// Spec §7.2–§7.4 with aiocoap (a CoAP implementation we did not write) as the device's
// CoAP stack, against the real gateway, Redis and Kafka; plus malformed requests that
// aiocoap can express. The peer is test/peers/aiocoap_client.py (prints JSON).
import type { DeviceEvent } from '@dmp/contracts';
import { type AiocoapRequest, aiocoap as runAiocoap, deviceEvents, type GatewayProcess, redisClient, startGateway, testImei, type TopicCollector } from './harness';

let gw: GatewayProcess;
let events: TopicCollector<DeviceEvent>;
const redis = redisClient();

beforeAll(async () => {
  [gw, events] = await Promise.all([startGateway(), deviceEvents(), redis.connect()]).then(([g, e]) => [g, e] as const);
});
afterAll(async () => {
  await Promise.allSettled([gw?.stop(), events?.close(), redis.quit()]);
});

const aiocoap = (requests: AiocoapRequest[]) => runAiocoap(gw.coapPort, requests);

const LINKS = '</1/0>,</3/0>,</4/0>';
const register = (imei: string, extra: Partial<AiocoapRequest> = {}): AiocoapRequest => ({
  name: 'register',
  path: '/rd',
  query: [`ep=urn:imei:${imei}`, 'lt=300', 'lwm2m=1.1', 'b=U'],
  cf: 40,
  payload: LINKS,
  ...extra,
});

describe('spec §7.2–§7.4 with aiocoap as the device', () => {
  it('§7.2 Register (link-format, Content-Format 40) → 2.01 Location rd/EPI; §7.3 Update → 2.04; §7.4 De-register → 2.02; events published', async () => {
    const imei = testImei();
    const r = await aiocoap([
      register(imei),
      { name: 'update', path: '/{location}', query: ['lt=600'], cf: 40, payload: '</1/0>,</3/0>,</5/0>' },
      { name: 'empty-update', path: '/{location}' },
      { name: 'deregister', method: 'DELETE', path: '/{location}' },
      { name: 'deregister-again', method: 'DELETE', path: '/{location}' },
      { name: 'update-after', path: '/{location}' },
    ]);
    expect(r['register']).toMatchObject({ code: '2.01', type: 'ACK', locationPath: ['rd', imei] });
    expect(r['update']).toMatchObject({ code: '2.04' });
    expect(r['empty-update']).toMatchObject({ code: '2.04' });
    expect(r['deregister']).toMatchObject({ code: '2.02' });
    expect(r['deregister-again']).toMatchObject({ code: '4.04' });
    expect(r['update-after']).toMatchObject({ code: '4.04' });
    expect(await redis.exists(`dmp:reg:${imei}`)).toBe(0);
    const reg = await events.waitFor('registered', (e) => e.epi === imei && e.type === 'registered');
    expect(reg).toMatchObject({ lifetime: 300, lwm2mVersion: '1.1', binding: 'U', links: LINKS, gatewayId: gw.id, address: { ip: '127.0.0.1' } });
    const upd = await events.waitFor('updated', (e) => e.epi === imei && e.type === 'updated' && e.lifetime === 600);
    expect(upd).toMatchObject({ links: '</1/0>,</3/0>,</5/0>' });
    await events.waitFor('deregistered', (e) => e.epi === imei && e.type === 'deregistered');
  });

  it('§7.2 Register as NON gets a NON 2.01 with the Location; registration stored', async () => {
    const imei = testImei();
    const r = await aiocoap([register(imei, { nonConfirmable: true })]);
    expect(r['register']).toMatchObject({ code: '2.01', type: 'NON', locationPath: ['rd', imei] });
    expect(await redis.hget(`dmp:reg:${imei}`, 'lt')).toBe('300');
  });

  it('§7.2 Register without Content-Format (links still link-format) is accepted', async () => {
    const imei = testImei();
    const r = await aiocoap([{ name: 'register', path: '/rd', query: [`ep=urn:imei:${imei}`], payload: '</3/0>' }]);
    expect(r['register']).toMatchObject({ code: '2.01', locationPath: ['rd', imei] });
  });

  it('malformed registrations are refused with 4.00 / 4.15 / 4.05 and nothing is stored', async () => {
    const imei = testImei();
    const r = await aiocoap([
      { name: 'missing-ep', path: '/rd', query: ['lt=300'], cf: 40, payload: LINKS },
      register(imei, { name: 'lt-not-a-number', query: [`ep=urn:imei:${imei}`, 'lt=abc'] }),
      register(imei, { name: 'lt-zero', query: [`ep=urn:imei:${imei}`, 'lt=0'] }),
      register(imei, { name: 'bad-version', query: [`ep=urn:imei:${imei}`, 'lwm2m=9.9'] }),
      register(imei, { name: 'bad-binding', query: [`ep=urn:imei:${imei}`, 'b=X'] }),
      register(imei, { name: 'duplicate-param', query: [`ep=urn:imei:${imei}`, 'lt=60', 'lt=70'] }),
      register(imei, { name: 'text-plain', cf: 0 }),
      register(imei, { name: 'cbor', cf: 60 }),
      register(imei, { name: 'bad-links', payload: '<<<not links' }),
      register(imei, { name: 'no-epi', query: ['ep=some-device-name', 'lt=300'] }),
      { name: 'get-rd', method: 'GET', path: '/rd' },
      { name: 'delete-rd', method: 'DELETE', path: '/rd' },
      { name: 'update-unknown', path: `/rd/${testImei()}` },
      { name: 'update-bad-param', path: `/rd/${testImei()}`, query: ['ep=x'] },
      { name: 'unknown-resource', method: 'GET', path: '/nothing/here' },
    ]);
    const codes = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.code ?? v.error]));
    expect(codes).toEqual({
      'missing-ep': '4.00',
      'lt-not-a-number': '4.00',
      'lt-zero': '4.00',
      'bad-version': '4.00',
      'bad-binding': '4.00',
      'duplicate-param': '4.00',
      'text-plain': '4.15',
      cbor: '4.15',
      'bad-links': '4.00',
      'no-epi': '4.00',
      'get-rd': '4.05',
      'delete-rd': '4.05',
      'update-unknown': '4.04',
      'update-bad-param': '4.00',
      'unknown-resource': '4.04',
    });
    expect(r['missing-ep']?.payload).toMatch(/ep/);
    expect(r['no-epi']?.payload).toMatch(/no EPI/);
    expect(await redis.exists(`dmp:reg:${imei}`)).toBe(0);
  });
});
