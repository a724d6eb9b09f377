/**
 * Interop vectors: raw traffic captured from a REAL LwM2M client we did not write (Eclipse
 * Leshan, leshan-client-cf) by test/interop/capture_server.py (aiocoap). Regenerate with
 * `bash test/interop/capture.sh`; see test/interop/README.md. Every fixture is decoded with
 * this library's codecs; the values asserted are the ones seen in the capture.
 */
import { decode as cborDecode } from 'cbor-x';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ContentFormat,
  LwM2mPath,
  ObjectModelRegistry,
  createDefaultContentFormatRegistry,
  decodeText,
  decodeTlv,
  discoverRequest,
  encodeTlv,
  interpretResponse,
  lwm2mAttributes,
  lwm2mJsonCodec,
  nodesEqual,
  observeRequest,
  parseLinkFormat,
  parseObjectLinks,
  parseRegisterQuery,
  parseSenmlCbor,
  parseSenmlJson,
  parseTlv,
  parseUpdateQuery,
  readRequest,
  senmlCborCodec,
  senmlJsonCodec,
  type LwM2mNode,
  type LwM2mObjectInstance,
  type LwM2mResource,
  type LwM2mSingleResource,
} from './index';

interface Origin {
  client: string;
  version: string;
  capturedWith: string;
  date: string;
}
interface Downlink {
  code: string;
  contentFormat: number | null;
  payloadHex: string;
  observe?: number;
}
interface ReadFixture {
  origin: Origin;
  request: { method: 'GET'; uriPath: string; uriQuery: string[]; accept: number; observe?: number };
  response: Downlink;
  notifications?: Downlink[];
}
interface UplinkFixture {
  origin: Origin;
  request: { method: string; uriPath: string; uriQuery: string[]; contentFormat: number | null; payloadHex: string; payloadText: string };
  response: { code: string; locationPath?: string[] };
}

const DIR = path.join(__dirname, 'test', 'fixtures', 'interop');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const raw = new Map<string, unknown>(files.map((f) => [f.replace(/\.json$/, ''), JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as unknown]));

function fixture<T>(name: string): T {
  const f = raw.get(name);
  if (f === undefined) throw new Error(`fixture ${name}.json missing from ${DIR}`);
  return f as T;
}
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
const payloadOf = (f: ReadFixture): Uint8Array => bytes(f.response.payloadHex);

const models = ObjectModelRegistry.default();
const formats = createDefaultContentFormatRegistry();
const ctx = { models, formats, lwm2mVersion: '1.1' };
const P30 = LwM2mPath.parse('/3/0');

/** What Leshan reported for /3/0 in the capture (values set by the launcher, encoded by Leshan). */
const DEVICE = {
  0: 'Eclipse Leshan',
  1: 'leshan-client-cf 2.0.0-M15',
  2: 'DMP-INTEROP-0001',
  9: 87,
  10: 15360,
  14: 'Z',
  15: 'Etc/UTC',
  16: 'U',
} as const;

function asInstance(node: LwM2mNode): LwM2mObjectInstance {
  expect(node.kind).toBe('objectInstance');
  return node as LwM2mObjectInstance;
}
function single(inst: LwM2mObjectInstance, id: number): LwM2mSingleResource {
  const r: LwM2mResource | undefined = inst.resources.get(id);
  expect(r?.kind).toBe('singleResource');
  return r as LwM2mSingleResource;
}
/** The instance without resources whose presence differs between formats (empty multi-resource 11). */
function withoutEmptyMulti(inst: LwM2mObjectInstance): LwM2mObjectInstance {
  const resources = new Map([...inst.resources].filter(([, r]) => !(r.kind === 'multipleResource' && r.instances.size === 0)));
  return { ...inst, resources };
}
function expectDeviceValues(inst: LwM2mObjectInstance, currentTimeSeconds: number): void {
  for (const [id, v] of Object.entries(DEVICE)) expect(single(inst, Number(id)).value).toEqual(v);
  const t = single(inst, 13);
  expect(t.type).toBe('TIME');
  expect(t.value).toEqual(new Date(currentTimeSeconds * 1000));
}

/** Current Time (/3/0/13, seconds) as carried by the SenML JSON capture: the cross-format reference. */
function senmlJsonCurrentTime(): number {
  const recs = JSON.parse(Buffer.from(payloadOf(fixture<ReadFixture>('leshan-read-3-0-senml-json'))).toString('utf8')) as { n?: string; v?: number }[];
  const t = recs.find((r) => r.n === '13')?.v;
  if (typeof t !== 'number') throw new Error('no /3/0/13 in the SenML JSON capture');
  return t;
}

const EXPECTED = [
  'leshan-register',
  'leshan-update',
  'leshan-read-3-0-tlv',
  'leshan-read-3-0-senml-json',
  'leshan-read-3-0-senml-cbor',
  'leshan-read-3-0-lwm2m-json',
  'leshan-read-3-0-0-text',
  'leshan-discover-3',
  'leshan-read-3-0-13-tlv',
  'leshan-observe-3-0-13-tlv',
];

describe('interop fixtures: provenance', () => {
  it('has every expected capture, each small', () => {
    for (const name of EXPECTED) expect(raw.has(name)).toBe(true);
    for (const f of files) expect(fs.statSync(path.join(DIR, f)).size).toBeLessThan(4096);
  });

  it.each(files)('%s records its origin (real client, capture tool, date)', (f) => {
    const { origin } = raw.get(f.replace(/\.json$/, '')) as { origin: Origin };
    expect(origin.client).toBe('leshan-client-cf');
    expect(origin.version).toBe('2.0.0-M15');
    expect(origin.capturedWith).toMatch(/^aiocoap \d+\.\d+\.\d+ capture_server\.py$/);
    expect(Number.isNaN(Date.parse(origin.date))).toBe(false);
  });
});

describe('interop: Leshan Register / Update / De-register', () => {
  const reg = fixture<UplinkFixture>('leshan-register');

  it('Register query parses: endpoint, lifetime, LwM2M 1.1, binding U', () => {
    expect(reg.request.method).toBe('POST');
    expect(reg.request.uriPath).toBe('/rd');
    const p = parseRegisterQuery(reg.request.uriQuery);
    expect(p).toMatchObject({ endpoint: 'dmp-interop-leshan', lifetime: 40, lwm2mVersion: '1.1', binding: 'U', queueMode: false });
    expect(Object.keys(p.extra)).toEqual([]);
  });

  it('Register link-format payload parses into supported objects known to the model', () => {
    expect(reg.request.contentFormat).toBe(ContentFormat.LINK_FORMAT);
    const payload = bytes(reg.request.payloadHex);
    expect(Buffer.from(payload).toString('utf8')).toBe(reg.request.payloadText);
    const links = parseObjectLinks(payload);
    expect(links.rootPath).toBe('/');
    expect(links.contentFormats).toEqual([60, 110, 112, 11542, 11543]);
    expect([...links.objects.keys()].sort((a, b) => a - b)).toEqual([1, 3]);
    expect(links.objects.get(1)).toEqual({ id: 1, version: undefined, instances: [0] });
    expect(links.objects.get(3)).toEqual({ id: 3, version: '1.2', instances: [0] });
    for (const id of links.objects.keys()) expect(models.getObjectModel(id)).toBeDefined();
    // The same payload through the plain RFC 6690 parser.
    const raw6690 = parseLinkFormat(payload);
    expect(raw6690.map((l) => l.uri)).toEqual(['/', '/1/0', '/3', '/3/0']);
    expect(raw6690[0]?.attributes['rt']).toBe('oma.lwm2m');
  });

  it('Update (short lifetime) is an empty POST to the Location-Path we returned', () => {
    const upd = fixture<UplinkFixture>('leshan-update');
    expect(upd.request.method).toBe('POST');
    expect(upd.request.uriPath).toBe(`/${(reg.response.locationPath ?? []).join('/')}`);
    expect(parseUpdateQuery(upd.request.uriQuery)).toEqual({});
    expect(upd.request.payloadHex).toBe('');
  });

  it('De-register (when captured) is a DELETE of the registration', () => {
    const f = raw.get('leshan-deregister') as UplinkFixture | undefined;
    if (f === undefined) return; // optional capture
    expect(f.request.method).toBe('DELETE');
    expect(f.request.uriPath).toBe(`/${(reg.response.locationPath ?? []).join('/')}`);
  });
});

describe('interop: Read /3/0 in every format Leshan answered', () => {
  const tNow = senmlJsonCurrentTime();

  it('TLV 11542: decodes against the Device model to the values Leshan reported', () => {
    const f = fixture<ReadFixture>('leshan-read-3-0-tlv');
    expect(f.request.accept).toBe(11542);
    expect(f.response).toMatchObject({ code: '2.05', contentFormat: 11542 });
    const inst = asInstance(decodeTlv(payloadOf(f), P30, models, { strict: true }));
    expect(inst.id).toBe(0);
    expectDeviceValues(inst, tNow);
    // Leshan writes the instance as bare resources (no Object Instance TLV wrapper), in its own
    // order, and sends Error Code (/3/0/11) as an empty Multiple Resource TLV.
    const entries = parseTlv(payloadOf(f));
    expect(entries.every((e) => e.kind !== 0)).toBe(true);
    const err = inst.resources.get(11);
    expect(err?.kind).toBe('multipleResource');
    expect(err?.kind === 'multipleResource' ? err.instances.size : -1).toBe(0);
  });

  it('TLV 11542: re-encoding with our encoder reads back to an equal node (bare and wrapped)', () => {
    const original = decodeTlv(payloadOf(fixture<ReadFixture>('leshan-read-3-0-tlv')), P30, models);
    for (const wrapObjectInstance of [false, true]) {
      const again = encodeTlv(original, P30, models, { wrapObjectInstance });
      expect(nodesEqual(decodeTlv(again, P30, models), original)).toBe(true);
    }
  });

  it('TLV 11542 through readRequest + interpretResponse (the gateway path)', () => {
    const f = fixture<ReadFixture>('leshan-read-3-0-tlv');
    const req = readRequest(ctx, '/3/0', { format: 11542 });
    expect(req).toMatchObject({ method: 'GET', accept: 11542 });
    const out = interpretResponse(req, { code: f.response.code, contentFormat: 11542, payload: payloadOf(f) }, { models, formats });
    expect(out.kind).toBe('success');
    if (out.kind === 'success' && out.node) expectDeviceValues(asInstance(out.node), tNow);
  });

  it('SenML JSON 110: decodes to the same instance as TLV', () => {
    const f = fixture<ReadFixture>('leshan-read-3-0-senml-json');
    expect(f.response).toMatchObject({ code: '2.05', contentFormat: 110 });
    const recs = parseSenmlJson(payloadOf(f));
    expect(recs[0]?.bn).toBe('/3/0/');
    const inst = asInstance(senmlJsonCodec.decode(payloadOf(f), P30, models));
    expectDeviceValues(inst, tNow);
    const tlv = asInstance(decodeTlv(payloadOf(fixture<ReadFixture>('leshan-read-3-0-tlv')), P30, models));
    expect(nodesEqual(inst, withoutEmptyMulti(tlv))).toBe(true);
  });

  it('SenML CBOR 112: raw CBOR structure (cbor-x) and our codec agree with SenML JSON', () => {
    const f = fixture<ReadFixture>('leshan-read-3-0-senml-cbor');
    expect(f.response).toMatchObject({ code: '2.05', contentFormat: 112 });
    // RFC 8428 §6 integer labels: -2 bn, 0 n, 2 v, 3 vs.
    const rawRecs = cborDecode(Buffer.from(payloadOf(f))) as unknown;
    expect(Array.isArray(rawRecs)).toBe(true);
    const first = (rawRecs as Record<number, unknown>[])[0] as Record<number, unknown>;
    expect(first[-2]).toBe('/3/0/');
    expect(first[0]).toBe('0');
    expect(first[3]).toBe('Eclipse Leshan');
    expect(parseSenmlCbor(payloadOf(f))).toHaveLength(9);
    const inst = asInstance(senmlCborCodec.decode(payloadOf(f), P30, models));
    expectDeviceValues(inst, tNow);
    expect(nodesEqual(inst, senmlJsonCodec.decode(payloadOf(fixture<ReadFixture>('leshan-read-3-0-senml-json')), P30, models))).toBe(true);
  });

  it('LwM2M JSON 11543: decodes to the same instance', () => {
    const f = fixture<ReadFixture>('leshan-read-3-0-lwm2m-json');
    expect(f.response).toMatchObject({ code: '2.05', contentFormat: 11543 });
    const doc = JSON.parse(Buffer.from(payloadOf(f)).toString('utf8')) as { bn: string; e: unknown[] };
    expect(doc.bn).toBe('/3/0/');
    expect(doc.e).toHaveLength(9);
    const inst = asInstance(lwm2mJsonCodec.decode(payloadOf(f), P30, models));
    expectDeviceValues(inst, tNow);
  });

  it('text/plain 0: /3/0/0 is the manufacturer string', () => {
    const f = fixture<ReadFixture>('leshan-read-3-0-0-text');
    expect(f.response).toMatchObject({ code: '2.05', contentFormat: 0 });
    const node = decodeText(payloadOf(f), LwM2mPath.parse('/3/0/0'), models);
    expect(node).toMatchObject({ kind: 'singleResource', id: 0, type: 'STRING', value: 'Eclipse Leshan' });
  });
});

describe('interop: Discover, single resource, Observe', () => {
  it('Discover /3 (link-format 40) lists the object (ver 1.2), the instance and modelled resources', () => {
    const f = fixture<ReadFixture>('leshan-discover-3');
    expect(f.response).toMatchObject({ code: '2.05', contentFormat: 40 });
    const out = interpretResponse(discoverRequest(ctx, '/3'), { code: f.response.code, contentFormat: 40, payload: payloadOf(f) }, { models, formats });
    expect(out.kind).toBe('success');
    const links = out.kind === 'success' ? (out.links ?? []) : [];
    expect(links.map((l) => l.uri)).toEqual(['/3', '/3/0', ...[0, 1, 2, 9, 10, 11, 13, 14, 15, 16].map((r) => `/3/0/${r}`)]);
    expect(lwm2mAttributes(links[0] ?? { uri: '', attributes: {} }).ver).toBe('1.2');
    const device = models.getObjectModel(3);
    for (const l of links.slice(2)) expect(device?.resources.has(LwM2mPath.parse(l.uri).resourceId as number)).toBe(true);
  });

  it('Read /3/0/13 TLV is a single TIME resource equal to the /3/0 capture', () => {
    const f = fixture<ReadFixture>('leshan-read-3-0-13-tlv');
    expect(f.response).toMatchObject({ code: '2.05', contentFormat: 11542 });
    const node = decodeTlv(payloadOf(f), LwM2mPath.parse('/3/0/13'), models, { strict: true });
    expect(node).toMatchObject({ kind: 'singleResource', id: 13, type: 'TIME' });
    const secs = ((node as LwM2mSingleResource).value as Date).getTime() / 1000;
    expect(Math.abs(secs - senmlJsonCurrentTime())).toBeLessThanOrEqual(5);
  });

  it('Observe /3/0/13: first response and notifications carry increasing Observe values and decode', () => {
    const f = fixture<ReadFixture>('leshan-observe-3-0-13-tlv');
    expect(f.request.observe).toBe(0);
    const req = observeRequest(ctx, '/3/0/13', { format: 11542 });
    expect(req).toMatchObject({ observe: 0, accept: 11542 });
    const all = [f.response, ...(f.notifications ?? [])];
    expect(all.length).toBeGreaterThanOrEqual(2);
    let lastObs = -1;
    let lastTime = 0;
    for (const msg of all) {
      expect(msg).toMatchObject({ code: '2.05', contentFormat: 11542 });
      expect(typeof msg.observe).toBe('number');
      expect(msg.observe as number).toBeGreaterThan(lastObs);
      lastObs = msg.observe as number;
      const out = interpretResponse(req, { code: msg.code, contentFormat: 11542, payload: bytes(msg.payloadHex), observe: msg.observe }, { models, formats });
      expect(out.kind).toBe('success');
      const node = out.kind === 'success' ? out.node : undefined;
      expect(node).toMatchObject({ kind: 'singleResource', id: 13, type: 'TIME' });
      const t = ((node as LwM2mSingleResource).value as Date).getTime();
      expect(t).toBeGreaterThanOrEqual(lastTime);
      lastTime = t;
    }
  });
});
