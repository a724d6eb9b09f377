// Spec §7.5 (device offline) as far as the gateway is concerned, R-OFF-1 / R-OFF-2: once a
// UE's lifetime has passed without a message, any non-Register message is refused with an
// LwM2M error (4.04), and a new Register is accepted. The device is one raw UDP socket, so
// every message comes from the same source address, as from a real UE.
//
// The registry service sweeps dmp:deadlines:* and removes timed-out registrations (§7.5
// step 2). Until it has, a timed-out registration stays in Redis past its deadline: the
// gateway refuses Update, Send and De-register for it all the same (the deadline is checked
// in the Lua scripts; the address key expires with the lifetime). The second test emulates
// the registry's removal.
import { CoapCode, CoapType, ContentFormat, encode, uintOption, OptionNumber, uriPathOptions } from '@dmp/coap';
import type { DeviceEvent } from '@dmp/contracts';
import { waitUntil } from '@dmp/testing';
import { deadlineShard, keys } from '../src/registration-store';
import { deviceEvents, type GatewayProcess, redisClient, startGateway, testImei, type TopicCollector } from './harness';
import { codeText, deregisterBytes, freshMid, registerBytes, token, UdpPeer, updateBytes } from './udp-peer';

let gw: GatewayProcess;
let events: TopicCollector<DeviceEvent>;
const redis = redisClient();

beforeAll(async () => {
  [gw, events] = await Promise.all([startGateway(), deviceEvents(), redis.connect()]).then(([g, e]) => [g, e] as const);
});
afterAll(async () => {
  await Promise.allSettled([gw?.stop(), events?.close(), redis.quit()]);
});

/** LwM2M 1.1 Send (POST /dp) of one SenML JSON value (4.04 for a source with no live registration). */
const sendBytes = () =>
  encode({
    type: CoapType.CON,
    code: CoapCode.POST,
    mid: freshMid(),
    token: token(),
    options: [...uriPathOptions(['dp']), uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.SENML_JSON)],
    payload: Buffer.from('[{"bn":"/3/0/","n":"13","v":1700000000}]'),
  });

/** Registers with lt=2 and waits until the deadline recorded in Redis has passed. */
async function registerAndTimeOut(device: UdpPeer, imei: string): Promise<void> {
  const reg = await device.request(registerBytes(imei, { lt: 2 }), gw.coapPort);
  expect(codeText(reg)).toBe('2.01');
  expect(reg.msg?.locationPath).toEqual(['rd', imei]);
  // while registered, Send from the device's address is accepted
  expect(codeText(await device.request(sendBytes(), gw.coapPort))).toBe('2.04');
  const deadline = Number(await redis.hget(keys.reg(imei), 'dl'));
  expect(deadline).toBeGreaterThan(Date.now());
  expect(deadline).toBeLessThanOrEqual(Date.now() + 2000);
  // §7.5 step 1: no message within the lifetime (plus the address key's 1 s TTL granularity)
  await waitUntil('the lifetime to pass', async () => Date.now() > deadline + 300 && (await redis.exists(keys.addr(`127.0.0.1:${device.port}`))) === 0, 5000, 100);
}

describe('spec §7.5 device offline (R-OFF-1, R-OFF-2)', () => {
  it('§7.5 steps 3–5: after the lifetime, Update, Send and De-register are refused with 4.04 (even before the sweep); Register → 2.01 again', async () => {
    const device = await UdpPeer.open();
    try {
      const imei = testImei();
      await registerAndTimeOut(device, imei);
      // the registry has not swept it (there is no registry service yet): the record is still there
      expect(await redis.exists(keys.reg(imei))).toBe(1);

      expect(codeText(await device.request(updateBytes(imei), gw.coapPort))).toBe('4.04');
      expect(codeText(await device.request(updateBytes(imei, { query: ['lt=300'] }), gw.coapPort))).toBe('4.04');
      expect(codeText(await device.request(sendBytes(), gw.coapPort))).toBe('4.04');
      // a refused Update did not revive it
      expect(Number(await redis.hget(keys.reg(imei), 'dl'))).toBeLessThan(Date.now());

      // De-register of the timed-out registration is refused too (R-OFF-2); the sweep removes it
      expect(codeText(await device.request(deregisterBytes(imei), gw.coapPort))).toBe('4.04');
      expect(await redis.exists(keys.reg(imei))).toBe(1);

      // the UE registers again (§7.2) and is served
      const again = await device.request(registerBytes(imei, { lt: 300 }), gw.coapPort);
      expect(codeText(again)).toBe('2.01');
      expect(again.msg?.locationPath).toEqual(['rd', imei]);
      expect(codeText(await device.request(updateBytes(imei), gw.coapPort))).toBe('2.04');
      expect(codeText(await device.request(sendBytes(), gw.coapPort))).toBe('2.04');
      const ev = await events.waitFor('second registered', (e) => e.epi === imei && e.type === 'registered' && e.lifetime === 300);
      expect(ev).toMatchObject({ replaced: false, gatewayId: gw.id });
    } finally {
      await device.close();
    }
  });

  it('§7.5 step 2 then 3–5: once the time-out has removed the registration (as the registry will), Update, Send and De-register → 4.04; Register → 2.01', async () => {
    const device = await UdpPeer.open();
    try {
      const imei = testImei();
      await registerAndTimeOut(device, imei);
      // §7.5 step 2, done here as the registry service will do it (R-OFF-1): remove the
      // registration record and its deadline entry (the address key has already expired)
      await redis
        .multi()
        .del(keys.reg(imei), keys.links(imei))
        .zrem(keys.deadlines(deadlineShard(imei, 16)), imei)
        .exec();

      expect(codeText(await device.request(updateBytes(imei), gw.coapPort))).toBe('4.04');
      expect(codeText(await device.request(sendBytes(), gw.coapPort))).toBe('4.04');
      const del = await device.request(deregisterBytes(imei), gw.coapPort);
      expect(codeText(del)).toBe('4.04');
      // the refusals are LwM2M responses: piggybacked ACKs with the request's MID and token
      expect(del.msg?.type).toBe(CoapType.ACK);

      expect(codeText(await device.request(registerBytes(imei, { lt: 300 }), gw.coapPort))).toBe('2.01');
      expect(codeText(await device.request(updateBytes(imei), gw.coapPort))).toBe('2.04');
    } finally {
      await device.close();
    }
  });
});
