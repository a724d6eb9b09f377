// Spec §7.2–§7.4 flows with libcoap's coap-client as the device, against the real
// gateway, Redis and Kafka: the CoAP answers AND the Kafka events are asserted.
import type { DeviceEvent } from '@dmp/contracts';
import { coapClient, deviceEvents, type GatewayProcess, redisClient, responseLine, startGateway, testImei, type TopicCollector } from './harness';

let gw: GatewayProcess;
let events: TopicCollector<DeviceEvent>;
const redis = redisClient();

beforeAll(async () => {
  [gw, events] = await Promise.all([startGateway(), deviceEvents(), redis.connect()]).then(([g, e]) => [g, e] as const);
});
afterAll(async () => {
  await Promise.allSettled([gw?.stop(), events?.close(), redis.quit()]);
});

const uri = (p: string) => `coap://127.0.0.1:${gw.coapPort}${p}`;

describe('spec §7.2 registration, §7.3 update, §7.4 de-registration (libcoap coap-client)', () => {
  it('§7.2 Register: 2.01 with Location rd/EPI, registration in Redis before the answer, `registered` event', async () => {
    const imei = testImei();
    const out = await coapClient(['-m', 'post', '-t', '40', '-e', '</1/0>,</3/0>,</4/0>', uri(`/rd?ep=urn:imei:${imei}&lt=300&lwm2m=1.1&b=U`)]);
    expect(responseLine(out)).toMatch(new RegExp(`c:2\\.01 .*Location-Path:rd, Location-Path:${imei}`));
    const reg = await redis.hgetall(`dmp:reg:${imei}`);
    expect(reg).toMatchObject({ loc: imei, lt: '300', v: '1.1', b: 'U', gw: gw.id });
    expect(await redis.get(`dmp:links:${imei}`)).toBe('</1/0>,</3/0>,</4/0>');
    const ev = await events.waitFor('registered', (e) => e.epi === imei && e.type === 'registered');
    expect(ev).toMatchObject({ type: 'registered', gatewayId: gw.id, lifetime: 300, lwm2mVersion: '1.1', binding: 'U', replaced: false, links: '</1/0>,</3/0>,</4/0>' });
  });

  it('§7.2 a second Register replaces the first and says so', async () => {
    const imei = testImei();
    await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', uri(`/rd?ep=urn:imei:${imei}&lt=300`)]);
    const out = await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>,</5/0>', uri(`/rd?ep=urn:imei:${imei}&lt=600`)]);
    expect(responseLine(out)).toMatch(/c:2\.01/);
    const ev = await events.waitFor('replaced', (e) => e.epi === imei && e.type === 'registered' && e.replaced);
    expect(ev).toMatchObject({ lifetime: 600, links: '</3/0>,</5/0>' });
  });

  it('§7.3 Update refreshes lifetime and links → 2.04 and `updated`', async () => {
    const imei = testImei();
    await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', uri(`/rd?ep=urn:imei:${imei}&lt=300`)]);
    const before = Number(await redis.hget(`dmp:reg:${imei}`, 'dl'));
    const out = await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>,</6/0>', uri(`/rd/${imei}?lt=900`)]);
    expect(responseLine(out)).toMatch(/c:2\.04/);
    expect(Number(await redis.hget(`dmp:reg:${imei}`, 'dl'))).toBeGreaterThan(before + 500_000);
    const ev = await events.waitFor('updated', (e) => e.epi === imei && e.type === 'updated');
    expect(ev).toMatchObject({ lifetime: 900, links: '</3/0>,</6/0>', gatewayId: gw.id });
  });

  it('§7.3 / R-OFF-2 Update of an unknown registration → 4.04', async () => {
    const out = await coapClient(['-m', 'post', uri(`/rd/${testImei()}`)]);
    expect(responseLine(out)).toMatch(/c:4\.04/);
  });

  it('§7.4 De-register → 2.02, removed, `deregistered`; again → 4.04', async () => {
    const imei = testImei();
    await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', uri(`/rd?ep=urn:imei:${imei}&lt=300`)]);
    expect(responseLine(await coapClient(['-m', 'delete', uri(`/rd/${imei}`)]))).toMatch(/c:2\.02/);
    expect(await redis.exists(`dmp:reg:${imei}`)).toBe(0);
    await events.waitFor('deregistered', (e) => e.epi === imei && e.type === 'deregistered');
    expect(responseLine(await coapClient(['-m', 'delete', uri(`/rd/${imei}`)]))).toMatch(/c:4\.04/);
  });

  it('rejects an EPN without an EPI with 4.00 and a diagnostic, and bad queries/links with 4.00', async () => {
    expect(responseLine(await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', uri('/rd?ep=not-a-device&lt=60')]))).toMatch(/c:4\.00 .*no EPI/);
    expect(responseLine(await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', uri(`/rd?ep=urn:imei:${testImei()}&lt=-5`)]))).toMatch(/c:4\.00/);
    expect(responseLine(await coapClient(['-m', 'post', '-t', '40', '-e', '<<<garbage', uri(`/rd?ep=urn:imei:${testImei()}`)]))).toMatch(/c:4\.00/);
    expect(responseLine(await coapClient(['-m', 'post', uri('/rd')]))).toMatch(/c:4\.00/);
  });

  it('denies an EPI on the deny list with 4.03', async () => {
    const imei = testImei();
    await redis.sadd('dmp:devices:denied', imei);
    try {
      expect(responseLine(await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', uri(`/rd?ep=urn:imei:${imei}`)]))).toMatch(/c:4\.03/);
      expect(await redis.exists(`dmp:reg:${imei}`)).toBe(0);
    } finally {
      await redis.srem('dmp:devices:denied', imei);
    }
  });
});
