// Registration policy (`known`, `appkey` allow lists) and the `awake` event for uplinks
// other than Register/Update (here: LwM2M Send from the registered address).
import { CoapCode, CoapType, ContentFormat, encode, OptionNumber, uintOption, uriPathOptions } from '@dmp/coap';
import type { DeviceEvent } from '@dmp/contracts';
import { deviceEvents, type GatewayProcess, redisClient, startGateway, testImei, type TopicCollector } from './harness';
import { codeText, freshMid, registerBytes, token, UdpPeer } from './udp-peer';

const redis = redisClient();
let events: TopicCollector<DeviceEvent>;
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  await redis.connect();
  events = await deviceEvents();
});
afterAll(async () => {
  await Promise.allSettled([...gateways.map((g) => g.stop()), events.close()]);
  await redis.quit();
});

describe('registration policy', () => {
  it('`known`: only EPIs in dmp:devices:known may register (4.03 otherwise)', async () => {
    const gw = await startGateway(undefined, { GATEWAY_AUTH_POLICY: 'known' });
    gateways.push(gw);
    const device = await UdpPeer.open();
    try {
      const imei = testImei();
      expect(codeText(await device.request(registerBytes(imei), gw.coapPort))).toBe('4.03');
      expect(await redis.exists(`dmp:reg:${imei}`)).toBe(0);
      await redis.sadd('dmp:devices:known', imei);
      expect(codeText(await device.request(registerBytes(imei), gw.coapPort))).toBe('2.01');
      await redis.srem('dmp:devices:known', imei);
    } finally {
      await device.close();
    }
  });
});

describe('awake', () => {
  it('a Send from the registered address refreshes it and publishes `awake` (rate-limited per device)', async () => {
    const gw = await startGateway(undefined, { GATEWAY_AWAKE_INTERVAL_S: '3600' });
    gateways.push(gw);
    const device = await UdpPeer.open();
    const send = () =>
      encode({
        type: CoapType.CON,
        code: CoapCode.POST,
        mid: freshMid(),
        token: token(),
        options: [...uriPathOptions(['dp']), uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.SENML_JSON)],
        payload: Buffer.from('[{"bn":"/3/0/","n":"9","v":87}]'),
      });
    try {
      const imei = testImei();
      expect(codeText(await device.request(registerBytes(imei), gw.coapPort))).toBe('2.01');
      // `aw` is set at registration: push it back so that the next uplink is due for an `awake`
      await redis.hset(`dmp:reg:${imei}`, 'aw', '0');
      expect(codeText(await device.request(send(), gw.coapPort))).toBe('2.04');
      const ev = await events.waitFor('awake', (e) => e.epi === imei && e.type === 'awake');
      expect(ev).toMatchObject({ gatewayId: gw.id, address: { ip: '127.0.0.1', port: device.port } });
      // a second uplink within the interval publishes nothing more
      expect(codeText(await device.request(send(), gw.coapPort))).toBe('2.04');
      await new Promise((r) => setTimeout(r, 1500));
      expect(events.items.filter((e) => e.epi === imei && e.type === 'awake')).toHaveLength(1);
    } finally {
      await device.close();
    }
  });
});
