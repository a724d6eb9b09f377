import { CoapCode, type CoapMessage, CoapType, decode, encode, MidGenerator, piggybacked, rst, uriPathOptions, uriQueryOptions } from '@dmp/coap';
import { encodeEpn } from '@dmp/identity';
import { createDefaultContentFormatRegistry, decodeTlv, type LwM2mObjectInstance, LwM2mPath, ObjectModelRegistry } from '@dmp/lwm2m';
import { Registry } from 'prom-client';
import {
  type BootstrapConfig,
  type BootstrapResult,
  BootstrapService,
  type BootstrapSettings,
  type BootstrapStore,
  bootstrapKeys,
  parseServerList,
  resolveBootstrapConfig,
} from './bootstrap';
import type { Peer } from './coap-server';
import { Requester, type RequestTransport } from './requester';
import { EpnResolver } from './epn-resolver';

const models = ObjectModelRegistry.default();
const formats = createDefaultContentFormatRegistry();
const peer: Peer = { address: '127.0.0.1', port: 40000, family: 'udp4' };
const IMEI = '868120301234560';
const IMEI2 = '490154203237518';

const settings: BootstrapSettings = {
  defaultServers: ['coap://10.9.9.9:5683'],
  lifetime: 86400,
  binding: 'U',
  shortServerId: 1,
  securityInstanceId: 1,
  serverInstanceId: 0,
  deletePaths: ['/0', '/1'],
  resultTtlSeconds: 3600,
  gatewayId: 'gw-test',
  noEpiCode: '4.00',
};

class MemoryStore implements BootstrapStore {
  readonly kv = new Map<string, string>();
  readonly outcomes = new Map<string, Record<string, string>>();
  async mget(keys: string[]): Promise<Array<string | null>> {
    return keys.map((k) => this.kv.get(k) ?? null);
  }
  async saveOutcome(epi: string, fields: Record<string, string>): Promise<void> {
    this.outcomes.set(epi, fields);
  }
}

/** A fake LwM2M client: records every request and answers with `answer(msg)` (undefined: silence, 'RST': reset). */
class FakeClient implements RequestTransport {
  readonly mids = new MidGenerator();
  readonly seen: CoapMessage[] = [];
  requester!: Requester;
  constructor(public answer: (m: CoapMessage) => number | 'RST' | undefined) {}
  send(buf: Uint8Array, to: Peer): void {
    const m = decode(Buffer.from(buf)).clone();
    if (m.type !== CoapType.CON) return;
    if (!this.seen.some((s) => s.mid === m.mid)) this.seen.push(m);
    const a = this.answer(m);
    if (a === undefined) return;
    const reply = a === 'RST' ? rst(m.mid) : encode(piggybacked(m, a));
    setImmediate(() => this.requester.onMessage(decode(reply), to));
  }
}

const lwm2mOk = (m: CoapMessage) => (m.code === CoapCode.DELETE ? CoapCode.DELETED : CoapCode.CHANGED);

function setup(answer: (m: CoapMessage) => number | 'RST' | undefined = lwm2mOk, s: Partial<BootstrapSettings> = {}) {
  const client = new FakeClient(answer);
  const requester = new Requester(client, { ackTimeoutMs: 15, maxRetransmit: 1, random: () => 0 });
  client.requester = requester;
  const store = new MemoryStore();
  const registry = new Registry();
  const logs: Array<{ level: string; o: object; m: string }> = [];
  const log = {
    info: (o: object, m: string) => logs.push({ level: 'info', o, m }),
    warn: (o: object, m: string) => logs.push({ level: 'warn', o, m }),
    error: (o: object, m: string) => logs.push({ level: 'error', o, m }),
  };
  const identities = new EpnResolver({ appKeySettings: async () => ({}) }, { clearFallbackDefault: false });
  const service = new BootstrapService({ ...settings, ...s }, store, identities, requester, { models, formats }, registry, log);
  return { client, store, service, registry, logs };
}

function bsRequest(query: string[]): CoapMessage {
  return decode(encode({ type: CoapType.CON, code: CoapCode.POST, mid: 1, token: Buffer.from([1, 2]), options: [...uriPathOptions('/bs'), ...uriQueryOptions(query)] }));
}

async function settled(service: BootstrapService): Promise<BootstrapResult[]> {
  return Promise.all([...service.running]);
}

const res = (inst: LwM2mObjectInstance, id: number): unknown => {
  const r = inst.resources.get(id);
  return r && r.kind === 'singleResource' ? r.value : undefined;
};

async function counter(registry: Registry, outcome: string): Promise<number> {
  const m = await registry.getSingleMetric('dmp_gateway_bootstrap_total')!.get();
  return m.values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;
}

describe('spec §7.1 / §8.2 bootstrap sequence (R-BS-1..3)', () => {
  it('POST /bs?ep= → 2.04, then Delete /0, Delete /1, Write /0/1, Write /1/0 (TLV), Finish; outcome success', async () => {
    const { client, store, service, registry, logs } = setup();
    const reply = await service.onBootstrapRequest(bsRequest([`ep=urn:imei:${IMEI}`]), peer);
    expect(reply).toMatchObject({ code: CoapCode.CHANGED, operation: 'bootstrap' });
    // nothing is sent before the answer has gone out
    expect(client.seen).toHaveLength(0);
    const [result] = await settled(service);
    expect(result).toMatchObject({ outcome: 'success', serverUri: 'coap://10.9.9.9:5683', source: 'env' });
    const name = { [CoapCode.DELETE]: 'DELETE', [CoapCode.PUT]: 'PUT', [CoapCode.POST]: 'POST' } as Record<number, string>;
    expect(client.seen.map((m) => `${name[m.code]} /${m.uriPath.join('/')}`)).toEqual(['DELETE /0', 'DELETE /1', 'PUT /0/1', 'PUT /1/0', 'POST /bs']);
    const [, , secMsg, srvMsg, finish] = client.seen;
    expect(secMsg!.contentFormat).toBe(11542);
    const sec = decodeTlv(secMsg!.payload, LwM2mPath.parse('/0/1'), models) as LwM2mObjectInstance;
    expect(sec.kind).toBe('objectInstance');
    expect(res(sec, 0)).toBe('coap://10.9.9.9:5683');
    expect(res(sec, 1)).toBe(false);
    expect(res(sec, 2)).toBe(3); // NoSec
    expect(res(sec, 10)).toBe(1);
    const srv = decodeTlv(srvMsg!.payload, LwM2mPath.parse('/1/0'), models) as LwM2mObjectInstance;
    expect([res(srv, 0), res(srv, 1), res(srv, 7)]).toEqual([1, 86400, 'U']);
    expect(finish!.payloadLength).toBe(0);
    expect(store.outcomes.get(IMEI)).toMatchObject({ status: 'success', server: 'coap://10.9.9.9:5683', source: 'env', endpoint: `urn:imei:${IMEI}`, gw: 'gw-test', ip: '127.0.0.1', port: '40000' });
    expect(await counter(registry, 'success')).toBe(1);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'info', m: 'bootstrap', o: expect.objectContaining({ event: 'bootstrap', epi: IMEI, outcome: 'success' }) }));
  });

  it('PSK configuration: Security Mode 0, identity and key, lifetime/binding/ssid/instances from the configuration', async () => {
    const { client, store, service } = setup();
    const cfg: BootstrapConfig = {
      servers: [{ uri: 'coaps://dm.example:5684' }],
      securityMode: 'psk',
      pskIdentity: 'dev-1',
      pskKey: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'),
      lifetime: 300,
      binding: 'UQ',
      shortServerId: 42,
      securityInstanceId: 5,
      serverInstanceId: 3,
    };
    store.kv.set(bootstrapKeys.epi(IMEI), JSON.stringify(cfg));
    await service.onBootstrapRequest(bsRequest([`ep=${IMEI}`]), peer);
    await settled(service);
    const sec = decodeTlv(client.seen[2]!.payload, LwM2mPath.parse('/0/5'), models) as LwM2mObjectInstance;
    expect(client.seen[2]!.uriPath).toEqual(['0', '5']);
    expect(res(sec, 2)).toBe(0);
    expect(Buffer.from(res(sec, 3) as Uint8Array).toString()).toBe('dev-1');
    expect([...(res(sec, 5) as Uint8Array)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(res(sec, 10)).toBe(42);
    const srv = decodeTlv(client.seen[3]!.payload, LwM2mPath.parse('/1/3'), models) as LwM2mObjectInstance;
    expect([res(srv, 0), res(srv, 1), res(srv, 7)]).toEqual([42, 300, 'UQ']);
    expect(store.outcomes.get(IMEI)).toMatchObject({ status: 'success', source: 'epi', server: 'coaps://dm.example:5684' });
  });

  it('BOOTSTRAP_DELETE_PATHS=/ sends one Delete on the root', async () => {
    const { client, service } = setup(lwm2mOk, { deletePaths: ['/'] });
    await service.onBootstrapRequest(bsRequest([`ep=${IMEI}`]), peer);
    await settled(service);
    expect(client.seen[0]).toMatchObject({ code: CoapCode.DELETE, uriPath: [] });
    expect(client.seen[1]!.code).toBe(CoapCode.PUT);
  });

  it('bad query → 4.00, EPN without EPI → 4.00 (or GATEWAY_NO_EPI_CODE 4.03); nothing is sent', async () => {
    const { client, service, store } = setup();
    expect(await service.onBootstrapRequest(bsRequest([]), peer)).toMatchObject({ code: CoapCode.BAD_REQUEST });
    expect(await service.onBootstrapRequest(bsRequest([`ep=${IMEI}`, 'lt=5']), peer)).toMatchObject({ code: CoapCode.BAD_REQUEST });
    const noEpi = await service.onBootstrapRequest(bsRequest(['ep=not-valid']), peer);
    expect(noEpi.code).toBe(CoapCode.BAD_REQUEST);
    expect(noEpi.payload?.toString()).toMatch(/^no EPI/);
    const strict = setup(lwm2mOk, { noEpiCode: '4.03' });
    expect(await strict.service.onBootstrapRequest(bsRequest(['ep=not-valid']), peer)).toMatchObject({ code: CoapCode.FORBIDDEN });
    await new Promise((r) => setImmediate(r));
    expect(client.seen).toHaveLength(0);
    expect(service.running.size).toBe(0);
    expect(store.outcomes.size).toBe(0);
  });

  it('an error answer stops the session: failed, with the step and the code', async () => {
    const { client, store, service, registry } = setup((m) => (m.code === CoapCode.PUT && m.uriPath[0] === '1' ? CoapCode.BAD_REQUEST : lwm2mOk(m)));
    await service.onBootstrapRequest(bsRequest([`ep=${IMEI}`]), peer);
    const [r] = await settled(service);
    expect(r).toMatchObject({ outcome: 'failed', step: 'bootstrap-write /1/0', code: '4.00' });
    expect(client.seen).toHaveLength(4); // no Finish
    expect(store.outcomes.get(IMEI)).toMatchObject({ status: 'failed', step: 'bootstrap-write /1/0', code: '4.00' });
    expect(await counter(registry, 'failed')).toBe(1);
  });

  it('Bootstrap-Delete answered 4.04 (nothing to delete) is accepted; Finish 4.06 fails', async () => {
    const { service } = setup((m) => (m.code === CoapCode.DELETE ? CoapCode.NOT_FOUND : m.code === CoapCode.POST ? CoapCode.NOT_ACCEPTABLE : CoapCode.CHANGED));
    await service.onBootstrapRequest(bsRequest([`ep=${IMEI}`]), peer);
    expect(await settled(service)).toEqual([expect.objectContaining({ outcome: 'failed', step: 'bootstrap-finish /', code: '4.06' })]);
  });

  it('no answer → timeout after the retransmissions; Reset → reset', async () => {
    const silent = setup(() => undefined);
    await silent.service.onBootstrapRequest(bsRequest([`ep=${IMEI}`]), peer);
    expect(await settled(silent.service)).toEqual([expect.objectContaining({ outcome: 'timeout', step: 'bootstrap-delete /0' })]);
    expect(silent.store.outcomes.get(IMEI)).toMatchObject({ status: 'timeout', server: 'coap://10.9.9.9:5683' });
    const reset = setup(() => 'RST');
    await reset.service.onBootstrapRequest(bsRequest([`ep=${IMEI}`]), peer);
    expect(await settled(reset.service)).toEqual([expect.objectContaining({ outcome: 'reset' })]);
  });

  it('a new Bootstrap-Request from the same device supersedes the running session', async () => {
    let first = true;
    const { service, store } = setup((m) => {
      // the first session's first Delete is never answered until the second one started
      if (first && m.code === CoapCode.DELETE) return undefined;
      return lwm2mOk(m);
    });
    await service.onBootstrapRequest(bsRequest([`ep=${IMEI}`]), peer);
    await new Promise((r) => setImmediate(r));
    first = false;
    await service.onBootstrapRequest(bsRequest([`ep=${IMEI}`]), peer);
    const results = await settled(service);
    expect(results.map((r) => r.outcome).sort()).toEqual(['success', 'superseded']);
    expect(store.outcomes.get(IMEI)).toMatchObject({ status: 'success' });
  });
});

describe('spec §7.1 bootstrap configuration levels: per EPI, then per AppKey, then default, then env', () => {
  const fallback: BootstrapConfig = { servers: parseServerList(['coap://env:5683']), securityMode: 'nosec' };
  const kv = new Map<string, string>();
  const mget = async (keys: string[]) => keys.map((k) => kv.get(k) ?? null);
  const conf = (uri: string) => JSON.stringify({ servers: [{ uri }] });
  beforeEach(() => kv.clear());

  it('per-EPI configuration wins over the AppKey and the default ones', async () => {
    kv.set('dmp:bootstrap:epi:86812030123456', conf('coap://epi:5683'));
    kv.set('dmp:bootstrap:appkey:AK1', conf('coap://appkey:5683'));
    kv.set('dmp:bootstrap:default', conf('coap://default:5683'));
    expect(await resolveBootstrapConfig(mget, '86812030123456', 'AK1', fallback)).toMatchObject({ source: 'epi', config: { servers: [{ uri: 'coap://epi:5683' }] } });
    expect(await resolveBootstrapConfig(mget, '99999999999999', 'AK1', fallback)).toMatchObject({ source: 'appkey', config: { servers: [{ uri: 'coap://appkey:5683' }] } });
    expect(await resolveBootstrapConfig(mget, '99999999999999', undefined, fallback)).toMatchObject({ source: 'default', config: { servers: [{ uri: 'coap://default:5683' }] } });
    kv.delete('dmp:bootstrap:default');
    expect(await resolveBootstrapConfig(mget, '99999999999999', 'AK2', fallback)).toEqual({ source: 'env', config: fallback, invalid: [] });
  });

  it('an invalid value is skipped and reported, the next level applies', async () => {
    kv.set('dmp:bootstrap:epi:11111111', '{not json');
    kv.set('dmp:bootstrap:appkey:AK1', JSON.stringify({ servers: [{ uri: 'http://wrong' }] }));
    kv.set('dmp:bootstrap:default', JSON.stringify({ servers: [{ uri: 'coap://d:5683' }], securityMode: 'psk' })); // psk without key
    const r = await resolveBootstrapConfig(mget, '11111111', 'AK1', fallback);
    expect(r.source).toBe('env');
    expect(r.invalid).toEqual(['dmp:bootstrap:epi:11111111', 'dmp:bootstrap:appkey:AK1', 'dmp:bootstrap:default']);
  });

  it('the AppKey of the EPN selects the AppKey configuration during a real Bootstrap-Request', async () => {
    const { store, service } = setup();
    store.kv.set(bootstrapKeys.appKey('M100000329'), conf('coap://by-appkey:5683'));
    store.kv.set(bootstrapKeys.epi(IMEI2), conf('coap://by-epi:5683'));
    const epn = (imei: string) => encodeEpn({ form: 'D', brand: 'acme', model: 'm1', appKey: 'M100000329', sdkVersion: '4.0', apiVersion: '4.0', terminalType: 'A', templateId: 'T1', imei1: imei });
    await service.onBootstrapRequest(bsRequest([`ep=${epn(IMEI)}`]), peer);
    await service.onBootstrapRequest(bsRequest([`ep=${epn(IMEI2)}`]), { ...peer, port: 40001 });
    await settled(service);
    expect(store.outcomes.get(IMEI)).toMatchObject({ source: 'appkey', server: 'coap://by-appkey:5683' });
    expect(store.outcomes.get(IMEI2)).toMatchObject({ source: 'epi', server: 'coap://by-epi:5683' });
  });

  it('parseServerList reads `uri` and `uri|weight`', () => {
    expect(parseServerList(['coap://a:5683', 'coap://[::1]:5683|3'])).toEqual([{ uri: 'coap://a:5683' }, { uri: 'coap://[::1]:5683', weight: 3 }]);
    expect(() => parseServerList(['coap://a|0'])).toThrow();
    expect(() => parseServerList(['http://a'])).toThrow();
  });
});
