import {
  ContentFormat,
  createRequest,
  deleteRequest,
  discoverRequest,
  executeRequest,
  newMultipleResource,
  newObjectInstance,
  newSingleResource,
  observeRequest,
  cancelObserveRequest,
  parseObjectLinks,
  readRequest,
  writeAttributesRequest,
  writeRequest,
  LwM2mPath,
  type LwM2mObject,
} from '@dmp/lwm2m';
import { createIdentityFactory } from './identity';
import { Code, createDeviceModel, FW_DOWNLOAD_MS, FW_UPDATE_MS, type SimDeviceModel } from './model';
import { MAX_CREATED_INSTANCES } from './objects';
import { MODULE_CATALOG } from './profile';
import { ctx10, ctx11, decodeAt, exchange, flatten, formats, models, raw, valueOf } from './test/support';

const SEED = 11;
const NOW = Date.UTC(2025, 5, 1, 8, 30, 15, 250);
const UE = 1234;
const text = (s: string) => Buffer.from(s, 'utf8');
const str = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('utf8');

let model: SimDeviceModel;
beforeEach(() => {
  model = createDeviceModel({ seed: SEED, lifetime: 300, binding: 'UQ' });
});

function read(path: string, accept?: number, index = UE, now = NOW) {
  return model.handle(index, raw(1, path, accept !== undefined ? { accept } : {}), now);
}

describe('registerLinks', () => {
  it('lists the exposed object instances like a Leshan client, without the Security object', () => {
    const links = model.registerLinks(UE);
    expect(links).toBe('</>;rt="oma.lwm2m",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</19/0>');
    const parsed = parseObjectLinks(links);
    expect([...parsed.objects.keys()]).toEqual([1, 3, 4, 5, 6, 19]);
    expect(parsed.objects.has(0)).toBe(false);
  });
});

describe('read', () => {
  it('/3/0 in TLV by default: values consistent with the UE identity (same seed)', () => {
    const id = createIdentityFactory({ seed: SEED, forms: { B: 1 } })(UE);
    const res = read('/3/0');
    expect(res).toMatchObject({ code: Code.CONTENT, contentFormat: ContentFormat.TLV });
    const v = flatten(decodeAt(res, '/3/0'));
    expect(MODULE_CATALOG.map((m) => m.manufacturer)).toContain(v[0]);
    expect(MODULE_CATALOG.map((m) => m.model)).toContain(v[1]);
    expect(v[2]).toBe(id.imei);
    expect(typeof v[3]).toBe('string');
    expect(v[9]).toEqual(expect.any(Number));
    expect(v[9] as number).toBeGreaterThanOrEqual(0);
    expect(v[9] as number).toBeLessThanOrEqual(100);
    expect(v[10] as number).toBeGreaterThan(0);
    expect(v[11]).toEqual([0]);
    expect(v[13]).toEqual(new Date(Math.floor(NOW / 1000) * 1000));
    expect(v[14]).toBe('+08:00');
    expect(v[15]).toBe('Asia/Shanghai');
    expect(v[16]).toBe('UQ');
    // Executables are never in a Read.
    expect(v[4]).toBeUndefined();
    expect(v[5]).toBeUndefined();
  });

  it.each([
    ['TLV', ContentFormat.TLV],
    ['SenML JSON', ContentFormat.SENML_JSON],
    ['SenML CBOR', ContentFormat.SENML_CBOR],
    ['LwM2M CBOR', ContentFormat.LWM2M_CBOR],
    ['LwM2M JSON', ContentFormat.JSON],
  ])('/3/0, /4/0, /6/0, /1/0, /5/0 in %s decode to the same values', (_name, format) => {
    for (const path of ['/3/0', '/4/0', '/6/0', '/1/0', '/5/0']) {
      const res = read(path, format);
      expect(res.contentFormat).toBe(format);
      const tlv = flatten(decodeAt(read(path), path));
      const got = flatten(decodeAt(res, path));
      // Time values: SenML carries seconds too; compare whole structure.
      expect(got).toEqual(tlv);
    }
  });

  it('answers what the platform asks: readRequest / interpretResponse for 1.0 (TLV) and 1.1 (SenML CBOR)', () => {
    for (const ctx of [ctx10, ctx11]) {
      const { outcome } = exchange(model, UE, readRequest(ctx, '/3/0'), NOW);
      expect(outcome.kind).toBe('success');
      const obj = exchange(model, UE, readRequest(ctx, '/3'), NOW).outcome;
      expect(obj.kind === 'success' && obj.node?.kind).toBe('object');
      const single = exchange(model, UE, readRequest(ctx, '/3/0/0', { format: ContentFormat.TEXT }), NOW).outcome;
      expect(single.kind === 'success' && single.node && valueOf(single.node)).toBe(str(read('/3/0/0', 0).payload));
    }
  });

  it('single resources and resource instances, text/plain where it fits', () => {
    expect(str(read('/3/0/13', ContentFormat.TEXT).payload)).toBe(String(Math.floor(NOW / 1000)));
    expect(read('/3/0/13', ContentFormat.TEXT).contentFormat).toBe(ContentFormat.TEXT);
    expect(valueOf(decodeAt(read('/1/0/1'), '/1/0/1'))).toBe(300);
    expect(valueOf(decodeAt(read('/1/0/7', 0), '/1/0/7'))).toBe('UQ');
    expect(valueOf(decodeAt(read('/3/0/11/0', ContentFormat.TLV), '/3/0/11/0'))).toBe(0);
    expect(valueOf(decodeAt(read('/3/0/11/0', ContentFormat.TEXT), '/3/0/11/0'))).toBe(0);
    const r19 = decodeAt(read('/19/0/0/0', ContentFormat.OPAQUE), '/19/0/0/0');
    expect(valueOf(r19)).toBeInstanceOf(Uint8Array);
  });

  it('4.06 for formats that cannot carry the node or are unknown', () => {
    expect(read('/3/0', ContentFormat.TEXT).code).toBe(Code.NOT_ACCEPTABLE);
    expect(read('/3/0/6', ContentFormat.TEXT).code).toBe(Code.NOT_ACCEPTABLE);
    expect(read('/3/0/0', ContentFormat.OPAQUE).code).toBe(Code.NOT_ACCEPTABLE);
    expect(read('/3/0/0', 9999).code).toBe(Code.NOT_ACCEPTABLE);
    expect(read('/3/0/0', ContentFormat.CBOR).code).toBe(Code.NOT_ACCEPTABLE);
  });

  it('4.04 for what does not exist, 4.05 for what cannot be read', () => {
    for (const p of ['/0', '/0/0', '/2', '/3303', '/3/1', '/19/7', '/3/0/99', '/3/0/6/9', '/1/0/2', '/abc', '/3/x', '/3/0/1/2/3', '/65536']) {
      expect([p, read(p).code]).toEqual([p, Code.NOT_FOUND]);
    }
    expect(read('/').code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(read('/3/0/4').code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(read('/5/0/0').code).toBe(Code.METHOD_NOT_ALLOWED);
  });

  it('connectivity: China Mobile cell, IMSI MNC, private IPv4, NB-IoT signal range', () => {
    const id = createIdentityFactory({ seed: SEED, forms: { C: 1 } })(UE);
    const v = flatten(decodeAt(read('/4/0'), '/4/0'));
    expect([6, 7]).toContain(v[0]);
    expect(v[2] as number).toBeGreaterThanOrEqual(-113);
    expect(v[2] as number).toBeLessThanOrEqual(-51);
    expect(v[4]).toEqual([expect.stringMatching(/^10\.\d+\.\d+\.\d+$/)]);
    expect(v[8] as number).toBeGreaterThan(0);
    expect(v[9]).toBe(Number(id.imsi.slice(3, 5)));
    expect(v[10]).toBe(460);
  });

  it('location: inside China, drifting slowly, stable within a minute', () => {
    const at = (t: number) => flatten(decodeAt(read('/6/0', ContentFormat.SENML_JSON, UE, t), '/6/0'));
    const a = at(NOW);
    expect(a[0] as number).toBeGreaterThan(18);
    expect(a[0] as number).toBeLessThan(54);
    expect(a[1] as number).toBeGreaterThan(73);
    expect(a[1] as number).toBeLessThan(135);
    const minuteStart = Math.floor(NOW / 60_000) * 60_000;
    expect(at(minuteStart + 59_000)).toEqual(at(minuteStart));
    const later = at(NOW + 3_600_000);
    expect(later[0]).not.toBe(a[0]);
    expect(Math.abs((later[0] as number) - (a[0] as number))).toBeLessThan(0.01);
    expect(later[5]).toEqual(new Date(Math.floor((NOW + 3_600_000) / 60_000) * 60_000));
  });

  it('different UEs differ, the same UE is stable', () => {
    expect(read('/3/0').payload).toEqual(read('/3/0').payload);
    expect(read('/3/0/2', 0, 1).payload).not.toEqual(read('/3/0/2', 0, 2).payload);
  });
});

describe('observe', () => {
  it('Observe 0 starts with the current content; Observe 1 cancels; observeValue gives later values', () => {
    const { res, outcome } = exchange(model, UE, observeRequest(ctx10, '/3/0/13'), NOW);
    expect(res.observe).toBe('start');
    expect(outcome.kind).toBe('success');
    const later = model.observeValue(UE, '/3/0/13', res.contentFormat as number, NOW + 5000);
    expect(later?.contentFormat).toBe(ContentFormat.TLV);
    expect(later && valueOf(decodeAt({ code: Code.CONTENT, ...later }, '/3/0/13'))).toEqual(new Date(Math.floor(NOW / 1000) * 1000 + 5000));
    const cancel = exchange(model, UE, cancelObserveRequest(ctx10, '/3/0/13'), NOW);
    expect(cancel.res.observe).toBe('cancel');
    expect(model.statefulUes()).toBe(0);
  });

  it('no observation on an error; observeValue is undefined once the path is gone', () => {
    const res = model.handle(UE, raw(1, '/3/0/99', { observe: 0 }), NOW);
    expect(res).toEqual({ code: Code.NOT_FOUND });
    expect(model.observeValue(UE, '/19/4', ContentFormat.TLV, NOW)).toBeUndefined();
    expect(model.observeValue(UE, 'garbage', ContentFormat.TLV, NOW)).toBeUndefined();
    expect(model.observeValue(UE, '/6/0', ContentFormat.SENML_CBOR, NOW)?.contentFormat).toBe(ContentFormat.SENML_CBOR);
  });
});

describe('write', () => {
  it('PUT a resource in text, read it back; a write makes the UE stateful until a reset', () => {
    expect(model.handle(UE, raw(3, '/3/0/14', { contentFormat: 0, payload: text('+09:00') }), NOW)).toEqual({ code: Code.CHANGED });
    expect(str(read('/3/0/14', 0).payload)).toBe('+09:00');
    expect(str(read('/3/0/14', 0, UE + 1).payload)).toBe('+08:00');
    expect(model.statefulUes()).toBe(1);
    model.reset(UE);
    expect(model.statefulUes()).toBe(0);
    expect(str(read('/3/0/14', 0).payload)).toBe('+08:00');
  });

  it('Current Time keeps running from the written value', () => {
    const set = new Date(Date.UTC(2030, 0, 1));
    const w = exchange(model, UE, writeRequest(ctx10, '/3/0/13', newSingleResource(13, 'TIME', set)), NOW);
    expect(w.outcome.kind).toBe('success');
    const after = valueOf(decodeAt(read('/3/0/13', undefined, UE, NOW + 10_000), '/3/0/13')) as Date;
    expect(after.getTime()).toBe(set.getTime() + 10_000);
  });

  it.each([
    ['TLV', ContentFormat.TLV],
    ['SenML JSON', ContentFormat.SENML_JSON],
    ['SenML CBOR', ContentFormat.SENML_CBOR],
  ])('instance write in %s: POST updates, PUT replaces (unlisted writable resources back to defaults)', (_n, format) => {
    const inst = newObjectInstance(0, [newSingleResource(1, 'INTEGER', 600), newSingleResource(7, 'STRING', 'U')]);
    const update = exchange(model, UE, writeRequest(ctx11, '/1/0', inst, { format, mode: 'update' }), NOW);
    expect(update.outcome.kind).toBe('success');
    // Lifetime / binding changes make a real client send a Registration Update.
    expect(update.res.effect).toBe('registration-update');
    expect(model.lifetime(UE)).toBe(600);
    expect(model.binding(UE)).toBe('U');
    expect(flatten(decodeAt(read('/1/0', format), '/1/0'))).toMatchObject({ 0: 1, 1: 600, 6: true, 7: 'U' });
    const replace = newObjectInstance(0, [newSingleResource(1, 'INTEGER', 900)]);
    expect(exchange(model, UE, writeRequest(ctx11, '/1/0', replace, { format, mode: 'replace' }), NOW).outcome.kind).toBe('success');
    expect(model.lifetime(UE)).toBe(900);
    expect(model.binding(UE)).toBe('UQ');
  });

  it('type-checked against the model: 4.05 read-only / executable, 4.00 garbage or wrong type, 4.04 unknown', () => {
    const put = (path: string, contentFormat: number | undefined, payload: Uint8Array) =>
      model.handle(UE, raw(3, path, { payload, ...(contentFormat !== undefined ? { contentFormat } : {}) }), NOW).code;
    expect(put('/3/0/0', 0, text('ACME'))).toBe(Code.METHOD_NOT_ALLOWED);
    expect(put('/3/0/4', 0, text('1'))).toBe(Code.METHOD_NOT_ALLOWED);
    expect(put('/3/0/99', 0, text('1'))).toBe(Code.NOT_FOUND);
    expect(put('/3/1/14', 0, text('x'))).toBe(Code.NOT_FOUND);
    expect(put('/1/0/1', 0, text('abc'))).toBe(Code.BAD_REQUEST);
    expect(put('/1/0/1', 0, text('0'))).toBe(Code.BAD_REQUEST);
    expect(put('/1/0/7', 0, text('X!'))).toBe(Code.BAD_REQUEST);
    expect(put('/1/0', ContentFormat.TLV, Uint8Array.of(0xff, 0x01))).toBe(Code.BAD_REQUEST);
    expect(put('/1/0', ContentFormat.SENML_JSON, text('{not json'))).toBe(Code.BAD_REQUEST);
    expect(put('/1/0/1', undefined, text('60'))).toBe(Code.BAD_REQUEST);
    expect(put('/1/0/1', 9999, text('60'))).toBe(Code.UNSUPPORTED_CONTENT_FORMAT);
    expect(put('/3', ContentFormat.TLV, new Uint8Array(0))).toBe(Code.METHOD_NOT_ALLOWED);
    // A TLV instance carrying a read-only resource (/3/0/0) is refused as a whole.
    const inst = newObjectInstance(0, [newSingleResource(0, 'STRING', 'ACME'), newSingleResource(14, 'STRING', '+01:00')]);
    const payload = formats.encode(ContentFormat.TLV, inst, LwM2mPath.parse('/3/0'), models);
    expect(put('/3/0', ContentFormat.TLV, payload)).toBe(Code.METHOD_NOT_ALLOWED);
    expect(str(read('/3/0/14', 0).payload)).toBe('+08:00');
    expect(model.statefulUes()).toBe(0);
  });

  it('multiple resource instance write (PUT /o/i/r/ri) and created-instance values', () => {
    const c = exchange(model, UE, createRequest(ctx10, 19, [newMultipleResource(0, 'OPAQUE', { 0: Uint8Array.of(1, 2) })]), NOW);
    expect(c.res.code).toBe(Code.CREATED);
    const w = model.handle(UE, raw(3, '/19/1/0/3', { contentFormat: ContentFormat.OPAQUE, payload: Uint8Array.of(9, 9) }), NOW);
    expect(w.code).toBe(Code.CHANGED);
    expect(flatten(decodeAt(read('/19/1'), '/19/1'))).toEqual({ 0: [Uint8Array.of(1, 2), Uint8Array.of(9, 9)] });
  });
});

describe('execute', () => {
  it('reboot, factory reset (clears state), registration update trigger', () => {
    expect(exchange(model, UE, executeRequest(ctx10, '/3/0/4'), NOW).res).toEqual({ code: Code.CHANGED, effect: 'reboot' });
    expect(exchange(model, UE, executeRequest(ctx10, '/1/0/8'), NOW).res).toEqual({ code: Code.CHANGED, effect: 'registration-update' });
    expect(exchange(model, UE, executeRequest(ctx10, '/3/0/12'), NOW).res).toEqual({ code: Code.CHANGED });
    model.handle(UE, raw(3, '/3/0/15', { contentFormat: 0, payload: text('Asia/Urumqi') }), NOW);
    expect(model.statefulUes()).toBe(1);
    expect(exchange(model, UE, executeRequest(ctx10, '/3/0/5'), NOW).res).toEqual({ code: Code.CHANGED, effect: 'factory-reset' });
    expect(model.statefulUes()).toBe(0);
    expect(str(read('/3/0/15', 0).payload)).toBe('Asia/Shanghai');
  });

  it('4.05 on non-executable resources, 4.04 on missing ones', () => {
    expect(model.handle(UE, raw(2, '/3/0/0'), NOW).code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(model.handle(UE, raw(2, '/3/0/99'), NOW).code).toBe(Code.NOT_FOUND);
    expect(model.handle(UE, raw(2, '/1/0/9'), NOW).code).toBe(Code.NOT_FOUND);
    expect(model.handle(UE, raw(2, '/3/0/0/0'), NOW).code).toBe(Code.METHOD_NOT_ALLOWED);
  });

  it('firmware update: URI → Downloading → Downloaded → Update (reboot) → Idle with result 1 and the new version', () => {
    const fw = (t: number) => flatten(decodeAt(read('/5/0', ContentFormat.TLV, UE, t), '/5/0'));
    const uri = 'coap://fota.example.cn/pkg/BC26NBR01A10.bin';
    expect(model.handle(UE, raw(2, '/5/0/2'), NOW).code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(model.handle(UE, raw(3, '/5/0/1', { contentFormat: 0, payload: text('not a uri') }), NOW).code).toBe(Code.BAD_REQUEST);
    expect(exchange(model, UE, writeRequest(ctx10, '/5/0/1', newSingleResource(1, 'STRING', uri)), NOW).outcome.kind).toBe('success');
    expect(fw(NOW)).toMatchObject({ 1: uri, 3: 1, 5: 0, 6: 'BC26NBR01A10.bin', 7: 'BC26NBR01A10' });
    expect(model.changeIntervalMs(UE, '/5/0/3')).toBe(1000);
    expect(fw(NOW + FW_DOWNLOAD_MS)).toMatchObject({ 3: 2 });
    const t1 = NOW + FW_DOWNLOAD_MS + 1;
    expect(model.handle(UE, raw(2, '/5/0/2'), t1)).toEqual({ code: Code.CHANGED, effect: 'reboot' });
    expect(fw(t1)).toMatchObject({ 3: 3 });
    expect(fw(t1 + FW_UPDATE_MS)).toMatchObject({ 3: 0, 5: 1 });
    expect(str(read('/3/0/3', 0, UE, t1 + FW_UPDATE_MS).payload)).toBe('BC26NBR01A10');
  });

  it('firmware cancel and reset by an empty URI', () => {
    const uri = 'http://fota.example.cn/a.bin';
    model.handle(UE, raw(3, '/5/0/1', { contentFormat: 0, payload: text(uri) }), NOW);
    expect(model.handle(UE, raw(2, '/5/0/10'), NOW).code).toBe(Code.CHANGED);
    expect(flatten(decodeAt(read('/5/0'), '/5/0'))).toMatchObject({ 3: 0, 5: 10 });
    model.handle(UE, raw(3, '/5/0/1', { contentFormat: 0, payload: text('') }), NOW);
    expect(flatten(decodeAt(read('/5/0'), '/5/0'))).toMatchObject({ 3: 0, 5: 0 });
    expect(model.statefulUes()).toBe(0);
  });
});

describe('discover and write-attributes', () => {
  it('discover lists object, instance and resources with dim and the written attributes', () => {
    const d = exchange(model, UE, discoverRequest(ctx10, '/3'), NOW);
    expect(d.outcome.kind).toBe('success');
    const payload = str(d.res.payload);
    expect(d.res.contentFormat).toBe(ContentFormat.LINK_FORMAT);
    expect(payload.startsWith('</3>,</3/0>,</3/0/0>,')).toBe(true);
    expect(payload).toMatch(/<\/3\/0\/11>;dim=1/);
    expect(payload).toContain('</3/0/13>');
    expect(exchange(model, UE, writeAttributesRequest(ctx10, '/3/0/9', { pmin: 10, pmax: 60, gt: 80 }), NOW).res.code).toBe(Code.CHANGED);
    expect(exchange(model, UE, writeAttributesRequest(ctx10, '/3', { pmax: 300 }), NOW).res.code).toBe(Code.CHANGED);
    expect(str(read('/3/0', ContentFormat.LINK_FORMAT).payload)).toContain('</3/0/9>;pmin=10;pmax=60;gt=80');
    // On a resource, inherited attributes are shown too.
    expect(str(read('/3/0/10', ContentFormat.LINK_FORMAT).payload)).toBe('</3/0/10>;pmax=300');
    expect(str(read('/3', ContentFormat.LINK_FORMAT).payload).startsWith('</3>;pmax=300,')).toBe(true);
    expect(read('/', ContentFormat.LINK_FORMAT).code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(read('/3/0/99', ContentFormat.LINK_FORMAT).code).toBe(Code.NOT_FOUND);
  });

  it('attributes inherit object < instance < resource; /1/0/2 and /1/0/3 give the defaults', () => {
    expect(model.attributes(UE, '/3/0/9')).toEqual({});
    const wa = (path: string, ...query: string[]) => model.handle(UE, raw(3, path, { query }), NOW).code;
    expect(wa('/3', 'pmin=5', 'pmax=600')).toBe(Code.CHANGED);
    expect(wa('/3/0', 'pmax=120')).toBe(Code.CHANGED);
    expect(wa('/3/0/9', 'pmin=30', 'lt=20', 'stp=5')).toBe(Code.CHANGED);
    expect(model.attributes(UE, '/3/0/9')).toEqual({ pmin: 30, pmax: 120, lt: 20, st: 5 });
    expect(model.attributes(UE, '/3/0/10')).toEqual({ pmin: 5, pmax: 120 });
    expect(model.attributes(UE, '/3')).toEqual({ pmin: 5, pmax: 600 });
    expect(model.attributes(UE, '/4/0/2')).toEqual({});
    model.handle(UE, raw(3, '/1/0/2', { contentFormat: 0, payload: text('15') }), NOW);
    expect(model.attributes(UE, '/4/0/2')).toEqual({ pmin: 15 });
    expect(model.attributes(UE, 'nonsense')).toEqual({});
  });

  it('4.00 for bad attribute values, 4.04 for missing targets; unsetting the last attribute drops the state', () => {
    const wa = (path: string, ...query: string[]) => model.handle(UE, raw(3, path, { query }), NOW).code;
    for (const q of [['pmin=-1'], ['pmin=abc'], ['pmin=1.5'], ['pmax=99999999999'], ['foo=1'], ['gt=x'], ['st=-1'], ['pmin=10', 'pmin=20'], ['pmin=60', 'pmax=10'], ['gt=10', 'lt=20'], ['gt=10', 'lt=5', 'st=3']]) {
      expect([q, wa('/3/0/9', ...q)]).toEqual([q, Code.BAD_REQUEST]);
    }
    expect(wa('/3/0', 'gt=5')).toBe(Code.BAD_REQUEST);
    expect(wa('/3/0/0', 'gt=5')).toBe(Code.BAD_REQUEST);
    expect(wa('/3/0/99', 'pmin=5')).toBe(Code.NOT_FOUND);
    expect(wa('/7', 'pmin=5')).toBe(Code.NOT_FOUND);
    expect(wa('/', 'pmin=5')).toBe(Code.METHOD_NOT_ALLOWED);
    expect(model.handle(UE, raw(3, '/3/0/9', { query: ['pmin=5'], contentFormat: 0, payload: text('1') }), NOW).code).toBe(Code.BAD_REQUEST);
    expect(model.statefulUes()).toBe(0);
    expect(wa('/3/0/9', 'pmin=5')).toBe(Code.CHANGED);
    expect(model.statefulUes()).toBe(1);
    expect(wa('/3/0/9', 'pmin')).toBe(Code.CHANGED);
    expect(model.attributes(UE, '/3/0/9')).toEqual({});
    expect(model.statefulUes()).toBe(0);
  });
});

describe('create and delete', () => {
  it('TLV create without an id: the UE picks one and returns it in Location-Path; links include it; delete removes it', () => {
    const res = [newMultipleResource(0, 'OPAQUE', { 0: Uint8Array.of(0xab) }), newSingleResource(3, 'STRING', 'downlink')];
    const c = exchange(model, UE, createRequest(ctx10, 19, res), NOW);
    expect(c.res).toEqual({ code: Code.CREATED, locationPath: ['19', '1'] });
    expect(c.outcome).toMatchObject({ kind: 'success', location: ['19', '1'] });
    expect(model.registerLinks(UE)).toBe('</>;rt="oma.lwm2m",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</19/0>,</19/1>');
    expect(model.registerLinks(UE + 1)).not.toContain('</19/1>');
    const obj = decodeAt(read('/19', ContentFormat.SENML_JSON), '/19') as LwM2mObject;
    expect([...obj.instances.keys()]).toEqual([0, 1]);
    expect(flatten(decodeAt(read('/19/1'), '/19/1'))).toEqual({ 0: [Uint8Array.of(0xab)], 3: 'downlink' });
    expect(exchange(model, UE, deleteRequest(ctx10, '/19/1'), NOW).res).toEqual({ code: Code.DELETED });
    expect(read('/19/1').code).toBe(Code.NOT_FOUND);
    expect(model.statefulUes()).toBe(0);
  });

  it('create with an explicit id in SenML CBOR; 4.00 when the id is taken or a mandatory resource is missing', () => {
    const res = [newMultipleResource(0, 'OPAQUE', { 0: Uint8Array.of(1) })];
    const c = exchange(model, UE, createRequest(ctx11, 19, res, { instanceId: 5, format: ContentFormat.SENML_CBOR }), NOW);
    expect(c.res).toEqual({ code: Code.CREATED, locationPath: ['19', '5'] });
    expect(exchange(model, UE, createRequest(ctx11, 19, res, { instanceId: 5, format: ContentFormat.SENML_CBOR }), NOW).res.code).toBe(Code.BAD_REQUEST);
    expect(exchange(model, UE, createRequest(ctx10, 19, res, { instanceId: 0 }), NOW).res.code).toBe(Code.BAD_REQUEST);
    expect(exchange(model, UE, createRequest(ctx10, 19, [newSingleResource(3, 'STRING', 'x')]), NOW).res.code).toBe(Code.BAD_REQUEST);
    expect(model.handle(UE, raw(2, '/19', { contentFormat: ContentFormat.TLV, payload: Uint8Array.of(0xc8) }), NOW).code).toBe(Code.BAD_REQUEST);
  });

  it('caps what a server can make one UE store (created instances)', () => {
    const res = [newMultipleResource(0, 'OPAQUE', { 0: Uint8Array.of(1) })];
    for (let i = 1; i <= MAX_CREATED_INSTANCES; i++) {
      expect(exchange(model, UE, createRequest(ctx10, 19, res), NOW).res.locationPath).toEqual(['19', String(i)]);
    }
    expect(exchange(model, UE, createRequest(ctx10, 19, res), NOW).res.code).toBe(Code.INTERNAL_SERVER_ERROR);
    expect(model.statefulUes()).toBe(1);
  });

  it('4.05 for Create on single-instance objects and Delete of built-in instances, 4.04 for unknown ones', () => {
    const r = exchange(model, UE, createRequest(ctx10, 6, [newSingleResource(0, 'FLOAT', 1)]), NOW);
    expect(r.res.code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(exchange(model, UE, createRequest(ctx10, 1, [newSingleResource(1, 'INTEGER', 60)]), NOW).res.code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(exchange(model, UE, deleteRequest(ctx10, '/3/0'), NOW).res.code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(exchange(model, UE, deleteRequest(ctx10, '/19/0'), NOW).res.code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(exchange(model, UE, deleteRequest(ctx10, '/19/9'), NOW).res.code).toBe(Code.NOT_FOUND);
    expect(model.handle(UE, raw(4, '/3'), NOW).code).toBe(Code.METHOD_NOT_ALLOWED);
    expect(model.handle(UE, raw(4, '/2/0'), NOW).code).toBe(Code.NOT_FOUND);
    expect(model.statefulUes()).toBe(0);
  });
});

describe('change intervals and memory', () => {
  it('changeIntervalMs: 1 s for the clock, 30–60 s for radio / battery / location, Infinity for static values', () => {
    expect(model.changeIntervalMs(UE, '/3/0/13')).toBe(1000);
    expect(model.changeIntervalMs(UE, '/3/0')).toBe(1000);
    expect(model.changeIntervalMs(UE, '/3/0/0')).toBe(Infinity);
    expect(model.changeIntervalMs(UE, '/3/0/9')).toBe(60_000);
    expect(model.changeIntervalMs(UE, '/4/0/2')).toBe(30_000);
    expect(model.changeIntervalMs(UE, '/6/0')).toBe(60_000);
    expect(model.changeIntervalMs(UE, '/6/0/0')).toBe(60_000);
    expect(model.changeIntervalMs(UE, '/1/0')).toBe(Infinity);
    expect(model.changeIntervalMs(UE, '/5/0/3')).toBe(Infinity);
    expect(model.changeIntervalMs(UE, '/99/0/0')).toBe(Infinity);
    expect(model.changeIntervalMs(UE, '???')).toBe(Infinity);
    // A written value no longer changes by itself.
    model.handle(UE, raw(3, '/1/0/1', { contentFormat: 0, payload: text('120') }), NOW);
    expect(model.changeIntervalMs(UE, '/1/0/1')).toBe(Infinity);
  });

  it('100,000 UEs that only register, get read, observed and discovered hold no state', () => {
    const obs = raw(1, '/3/0/9', { observe: 0 });
    const disc = raw(1, '/4', { accept: ContentFormat.LINK_FORMAT });
    for (let i = 0; i < 100_000; i++) {
      model.registerLinks(i);
      model.attributes(i, '/3/0/9');
      model.changeIntervalMs(i, '/3/0/9');
      if (i % 10 === 0) {
        model.handle(i, obs, NOW);
        model.handle(i, disc, NOW);
      }
    }
    expect(model.statefulUes()).toBe(0);
  });
});
