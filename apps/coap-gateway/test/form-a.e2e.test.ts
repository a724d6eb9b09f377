// China Mobile DM (Form A) devices as their firmware behaves (docs/spec/epn-formats.md),
// against the real gateway, Redis and Kafka, with aiocoap and libcoap as the device's CoAP
// stack: the default password, forged names, the Update `epi=` name, the version carried
// into later flows.
import type { DataEvent, DeviceEvent } from '@dmp/contracts';
import { DEFAULT_DEVICE_PASSWORD, encodeEpn } from '@dmp/identity';
import {
  aiocoap as runAiocoap,
  type AiocoapRequest,
  coapClient,
  dataEvents,
  deviceEvents,
  type GatewayProcess,
  metricValue,
  redisClient,
  responseLine,
  startGateway,
  testImei,
  type TopicCollector,
} from './harness';

let gw: GatewayProcess;
let events: TopicCollector<DeviceEvent>;
let data: TopicCollector<DataEvent>;
const redis = redisClient();
const IMSI = '460041995401123';
const CMEI = '110123450A1B2C3';
const LINKS = '</1/0>,</3/0>';
const run = `${Date.now() % 1e8}`.padStart(8, '0');
let seq = 0;
/** An AppKey no other test or run uses (the gateway caches an AppKey's settings for 60 s). */
const appKey = () => `M${run}${String(seq++).padStart(2, '0')}`;

beforeAll(async () => {
  [gw, events, data] = await Promise.all([startGateway(), deviceEvents(), dataEvents(), redis.connect()]).then(([g, e, d]) => [g, e, d] as const);
});
afterAll(async () => {
  await Promise.allSettled([gw?.stop(), events?.close(), data?.close(), redis.quit()]);
});

const aiocoap = (requests: AiocoapRequest[]) => runAiocoap(gw.coapPort, requests);
const rejects = (reason: string) => metricValue(gw.httpUrl, 'dmp_gateway_rejects_total', { reason });

interface Device {
  imei: string;
  appKey: string;
  password: string;
  cmei?: string;
}
const device = (password = DEFAULT_DEVICE_PASSWORD, cmei?: string): Device => ({ imei: testImei(), appKey: appKey(), password, ...(cmei ? { cmei } : {}) });

/** The Register name: 5-part (clear ID1 + DMv) or 3-part, inner `ID1-ID2-IMSI-v2.0`. */
const registerName = (d: Device, parts: 3 | 5 = 5) =>
  encodeEpn({ form: 'A', terminalType: 'I', appKey: d.appKey, password: d.password, parts, ...(d.cmei ? { id1: d.cmei, id2: d.imei } : { id1: d.imei }), imsi: IMSI, version: 'v2.0' });
/** The Update name (`epi=`): built like the Register name, inner `ID1-ID2-IMSI-****` (or without the 4th field). */
const updateName = (d: Device, version: null | undefined = null) =>
  encodeEpn({ form: 'A', terminalType: 'I', appKey: d.appKey, password: d.password, parts: 3, ...(d.cmei ? { id1: d.cmei, id2: d.imei } : { id1: d.imei }), imsi: IMSI, version });
const epiOf = (d: Device) => (d.cmei ?? '') + d.imei;

const register = (name: string, extra: Partial<AiocoapRequest> = {}): AiocoapRequest => ({
  name: 'register',
  path: '/rd',
  query: [`ep=${name}`, 'lt=300', 'lwm2m=1.1', 'b=U'],
  cf: 40,
  payload: LINKS,
  ...extra,
});

describe('Form A (China Mobile DM v2.x) registration and update', () => {
  it('5- and 3-part names, with the default 32 × 0 (no password configured) or a configured password: EPI = CMEI+IMEI, not CMEI only', async () => {
    for (const configured of [false, true]) {
      for (const parts of [5, 3] as const) {
        const d = device(configured ? `Cfg-${run}` : DEFAULT_DEVICE_PASSWORD, CMEI);
        if (configured) await redis.set(`dmp:appkey:${d.appKey}:password`, d.password);
        const r = await aiocoap([register(registerName(d, parts))]);
        const epi = epiOf(d);
        expect({ configured, parts, ...r['register'] }).toMatchObject({ configured, parts, code: '2.01', locationPath: ['rd', `${epi};v2.0`] });
        expect(await redis.hget(`dmp:reg:${epi}`, 'loc')).toBe(`${epi};v2.0`);
        await events.waitFor(`registered ${parts}-part`, (e) => e.epi === epi && e.type === 'registered');
      }
    }
  });

  it('Update with `epi=` alone and beside lt= → 2.04 (lifetime refreshed); another device’s name → 4.03; the version stays', async () => {
    const d = device('Pw-' + run);
    await redis.set(`dmp:appkey:${d.appKey}:password`, d.password);
    const other = { ...device(d.password), appKey: d.appKey };
    const epi = epiOf(d);
    const mismatchBefore = await rejects('update_epi_mismatch');
    const r = await aiocoap([
      register(registerName(d)),
      { name: 'update-epi', path: '/{location}', query: [`epi=${updateName(d)}`] },
      { name: 'update-epi-lt', path: '/{location}', query: ['lt=120', `epi=${updateName(d, undefined)}`] },
      // firmware reuses the Location; one without `;version` must not lose the version
      { name: 'update-no-version', path: `/rd/${epi}`, query: [`epi=${updateName(d)}`] },
      { name: 'update-other', path: '/{location}', query: [`epi=${updateName(other)}`] },
      { name: 'update-garbage', path: '/{location}', query: ['epi=not-a-name'] },
      { name: 'update-empty', path: '/{location}', query: ['epi='] },
    ]);
    const codes = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.code ?? v.error]));
    expect(codes).toEqual({
      register: '2.01',
      'update-epi': '2.04',
      'update-epi-lt': '2.04',
      'update-no-version': '2.04',
      'update-other': '4.03',
      'update-garbage': '4.00',
      'update-empty': '4.00',
    });
    expect(r['register']?.locationPath).toEqual(['rd', `${epi};v2.0`]);
    expect(await redis.hgetall(`dmp:reg:${epi}`)).toMatchObject({ lt: '120', loc: `${epi};v2.0` });
    expect(await rejects('update_epi_mismatch')).toBe(mismatchBefore + 1);
    const updated = await events.waitFor('updated lt=120', (e) => e.epi === epi && e.type === 'updated' && e.lifetime === 120);
    expect(updated).toMatchObject({ version: 'v2.0' });
    expect(events.items.filter((e) => e.epi === epi && e.type === 'updated')).toHaveLength(3);
  });

  it('forged 5-part names → 4.03 counted by reason, nothing registered; the clear-field fallback is per AppKey', async () => {
    const genuine = device('Real-' + run);
    await redis.set(`dmp:appkey:${genuine.appKey}:password`, genuine.password);
    // made with another password than the AppKey's
    const wrongPassword = registerName({ ...genuine, password: 'guessed' });
    // the genuine ciphertext with the clear ID1 of another device
    const parts = registerName(genuine).split('@#@');
    const victim = testImei();
    parts[3] = victim;
    const swappedId1 = parts.join('@#@');
    // no password configured, made with a password the platform does not hold
    const foreign = device('their-own');
    const before = { decrypt: await rejects('register_forged_decrypt_failed'), mismatch: await rejects('register_forged_clear_mismatch') };
    const r = await aiocoap([
      register(wrongPassword, { name: 'wrong-password' }),
      register(swappedId1, { name: 'swapped-id1' }),
      register(registerName(foreign), { name: 'foreign-default' }),
    ]);
    expect(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.code]))).toEqual({ 'wrong-password': '4.03', 'swapped-id1': '4.03', 'foreign-default': '4.03' });
    expect(r['swapped-id1']?.payload).toMatch(/CLEAR_MISMATCH/);
    for (const epi of [genuine.imei, victim, foreign.imei]) expect(await redis.exists(`dmp:reg:${epi}`)).toBe(0);
    expect(await rejects('register_forged_decrypt_failed')).toBe(before.decrypt + 2);
    expect(await rejects('register_forged_clear_mismatch')).toBe(before.mismatch + 1);

    // a fleet whose passwords the platform does not hold: fallback on for its AppKey only
    const fleet = device('unknown-to-us');
    await redis.set(`dmp:appkey:${fleet.appKey}:clear-fallback`, '1');
    const f = await aiocoap([register(registerName(fleet), { name: 'fallback-5' }), register(registerName(fleet, 3), { name: 'fallback-3' })]);
    expect(f['fallback-5']).toMatchObject({ code: '2.01', locationPath: ['rd', `${fleet.imei};v2.0`] });
    expect(f['fallback-3']?.code).toBe('4.03'); // the 3-part form has no clear identity
  });

  it('libcoap coap-client: a 5-part Register with the default password, then an Update with `epi=` and lt=', async () => {
    const d = device();
    // '#' cannot stand in a URI, so the query goes as raw Uri-Query options (-O 15,…), as firmware sends it
    const reg = await coapClient(['-m', 'post', '-t', '40', '-e', LINKS, '-O', `15,ep=${registerName(d)}`, '-O', '15,lt=300', `coap://127.0.0.1:${gw.coapPort}/rd`]);
    expect(responseLine(reg)).toMatch(new RegExp(`c:2\\.01 .*Location-Path:rd, Location-Path:${d.imei};v2\\.0`));
    const upd = await coapClient(['-m', 'post', '-O', `15,epi=${updateName(d)}`, '-O', '15,lt=90', `coap://127.0.0.1:${gw.coapPort}/rd/${d.imei};v2.0`]);
    expect(responseLine(upd)).toMatch(/c:2\.04/);
    expect(await redis.hget(`dmp:reg:${d.imei}`, 'lt')).toBe('90');
    const forged = await coapClient(['-m', 'post', '-O', `15,epi=${updateName({ ...d, password: 'nope' })}`, `coap://127.0.0.1:${gw.coapPort}/rd/${d.imei};v2.0`]);
    expect(responseLine(forged)).toMatch(/c:4\.03/);
  });

  it('R-EPI-2: the version travels with the device’s data (LwM2M Send from the registered address)', async () => {
    const d = device();
    const r = await aiocoap([
      register(registerName(d)),
      { name: 'send', path: '/dp', cf: 110, payload: JSON.stringify([{ bn: '/3/0/', n: '9', v: 87 }]) },
    ]);
    expect(r['send']?.code).toBe('2.04');
    const ev = await data.waitFor('send data event', (e) => e.epi === d.imei && e.source === 'send');
    expect(ev).toMatchObject({ version: 'v2.0', values: [expect.objectContaining({ path: '/3/0/9', value: 87 })] });
  });
});
