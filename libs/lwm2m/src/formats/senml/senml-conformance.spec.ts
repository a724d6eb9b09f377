/**
 * Conformance vectors for SenML JSON (110) and SenML CBOR (112), written from RFC 8428
 * and OMA LwM2M 1.1 TS §7.4.4 (SenML JSON) / §7.4.5 (SenML CBOR). Test names cite the
 * section the vector illustrates.
 */
import { Lwm2mCodecError } from '../../errors';
import { ObjectModelRegistry } from '../../model/registry';
import { staticModels } from '../../model/types';
import type { LwM2mMultipleResource, LwM2mNode, LwM2mObjectInstance, LwM2mSingleResource } from '../../node';
import { LwM2mPath } from '../../path';
import { senmlCborCodec, senmlJsonCodec } from './index';
import { TEST_OBJECT_ID, TEST_OBJECT_MODEL } from '../../test/senml-test-models';

const models = ObjectModelRegistry.withDefaults([TEST_OBJECT_MODEL]);
const P = (s: string) => LwM2mPath.parse(s);
const json = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const NOW = { now: 1_700_000_000 };

function codecError(fn: () => unknown): Lwm2mCodecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Lwm2mCodecError) return e;
    throw new Error(`expected Lwm2mCodecError, got ${String(e)}`);
  }
  throw new Error('expected an error, got a result');
}
function res(n: LwM2mNode, id: number) {
  return (n as LwM2mObjectInstance).resources.get(id);
}

/** LwM2M 1.1 TS §7.4.4, Read /3/0 with SenML JSON (Device object instance). */
const DEVICE_SENML_JSON =
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},' +
  '{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},' +
  '{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},' +
  '{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},' +
  '{"n":"14","vs":"+02:00"},{"n":"16","vs":"U"}]';

describe('SenML JSON (110)', () => {
  it('LwM2M 1.1 §7.4.4: Read /3/0 (Device) decodes type-aware and re-encodes byte for byte', () => {
    const node = senmlJsonCodec.decode(json(DEVICE_SENML_JSON), P('/3/0'), models) as LwM2mObjectInstance;
    expect(node.kind).toBe('objectInstance');
    expect(res(node, 0)).toEqual({ kind: 'singleResource', id: 0, type: 'STRING', value: 'Open Mobile Alliance' });
    expect(res(node, 9)).toEqual({ kind: 'singleResource', id: 9, type: 'INTEGER', value: 100 });
    expect(res(node, 13)).toEqual({ kind: 'singleResource', id: 13, type: 'TIME', value: new Date(1367491215000) });
    const r7 = res(node, 7) as LwM2mMultipleResource;
    expect(r7.kind).toBe('multipleResource');
    expect([...r7.instances.values()].map((i) => i.value)).toEqual([3800, 5000]);
    expect(text(senmlJsonCodec.encode(node, P('/3/0'), models))).toBe(DEVICE_SENML_JSON);
  });

  it('LwM2M 1.1 §7.4.4: Read of a single resource /3/0/0 uses bn only', () => {
    const payload = '[{"bn":"/3/0/0","vs":"Open Mobile Alliance"}]';
    const node = senmlJsonCodec.decode(json(payload), P('/3/0/0'), models);
    expect(node).toEqual({ kind: 'singleResource', id: 0, type: 'STRING', value: 'Open Mobile Alliance' });
    expect(text(senmlJsonCodec.encode(node, P('/3/0/0'), models))).toBe(payload);
  });

  it('LwM2M 1.1 §7.4.4: Read of a resource instance /3/0/7/1', () => {
    const node = senmlJsonCodec.decode(json('[{"bn":"/3/0/7/1","v":5000}]'), P('/3/0/7/1'), models);
    expect(node).toEqual({ kind: 'resourceInstance', id: 1, type: 'INTEGER', value: 5000 });
  });

  it('LwM2M 1.1 §7.4.4: value labels per type (vs, v, vb, vd base64url, vlo)', () => {
    const payload =
      '[{"bn":"/9999/0/","n":"0","vs":"s"},{"n":"1","v":-5},{"n":"2","v":7},{"n":"3","v":1.5},' +
      '{"n":"4","vb":true},{"n":"5","vd":"AQL_-w"},{"n":"6","v":1600000000},{"n":"7","vlo":"3:0"},{"n":"8","vs":"</3/0>"}]';
    const node = senmlJsonCodec.decode(json(payload), P(`/${TEST_OBJECT_ID}/0`), models);
    const v = (id: number) => (res(node, id) as LwM2mSingleResource).value;
    expect(v(0)).toBe('s');
    expect(v(1)).toBe(-5);
    expect(v(2)).toBe(7);
    expect(v(3)).toBe(1.5);
    expect(v(4)).toBe(true);
    expect(v(5)).toEqual(new Uint8Array([1, 2, 0xff, 0xfb]));
    expect(v(6)).toEqual(new Date(1600000000000));
    expect(v(7)).toEqual({ objectId: 3, instanceId: 0 });
    expect(v(8)).toBe('</3/0>');
    expect(text(senmlJsonCodec.encode(node, P(`/${TEST_OBJECT_ID}/0`), models))).toBe(payload);
  });

  it('RFC 8428 §4.5.3: base time + time, absolute when ≥ 2^28', () => {
    const payload = '[{"bn":"/3303/0/5700","bt":1367491215,"v":22.4,"t":-5},{"v":22.9,"t":-30},{"v":24.1}]';
    const series = senmlJsonCodec.decodeTimestamped(json(payload), P('/3303/0/5700'), models, NOW);
    expect(series.map((s) => [s.timestamp, (s.node as LwM2mSingleResource).value])).toEqual([
      [1367491210, 22.4],
      [1367491185, 22.9],
      [1367491215, 24.1],
    ]);
    // Non-timestamped decode keeps the latest value.
    expect(senmlJsonCodec.decode(json(payload), P('/3303/0/5700'), models, NOW)).toMatchObject({ value: 24.1 });
  });

  it('RFC 8428 §4.5.3: times below 2^28 are relative to now', () => {
    const series = senmlJsonCodec.decodeTimestamped(json('[{"n":"/3303/0/5700","v":1,"t":-60},{"n":"/3303/0/5700","v":2,"t":0}]'), P('/3303/0/5700'), models, NOW);
    expect(series.map((s) => s.timestamp)).toEqual([NOW.now - 60, NOW.now]);
    const noTime = senmlJsonCodec.decodeTimestamped(json('[{"n":"/3303/0/5700","v":1}]'), P('/3303/0/5700'), models, NOW);
    expect(noTime[0]?.timestamp).toBeUndefined();
  });

  it('RFC 8428 §4.6: base value is added to v; bn carries over until replaced', () => {
    const payload = '[{"bn":"/3303/0/","bv":20,"n":"5700","v":1.5},{"bn":"/3303/1/","n":"5700","v":-1}]';
    const nodes = senmlJsonCodec.decodeNodes(json(payload), undefined, models);
    expect([...nodes.keys()]).toEqual(['/3303/0/5700', '/3303/1/5700']);
    expect(nodes.get('/3303/0/5700')).toMatchObject({ value: 21.5 });
    expect(nodes.get('/3303/1/5700')).toMatchObject({ value: 19 });
  });

  it('LwM2M 1.1 §6.3.8 Read-Composite: request body names paths only', () => {
    const paths = senmlJsonCodec.decodePaths(json('[{"n":"/3/0/1"},{"n":"/3/0/2"},{"n":"/1/0"}]'));
    expect(paths.map(String)).toEqual(['/3/0/1', '/3/0/2', '/1/0']);
  });

  it('LwM2M 1.1 §6.3.8 Read-Composite response: nodes at the requested paths', () => {
    const payload = '[{"bn":"/3/0/","n":"0","vs":"OMA"},{"n":"9","v":88},{"bn":"/3303/0/5700","v":21.5}]';
    const nodes = senmlJsonCodec.decodeNodes(json(payload), [P('/3/0'), P('/3303/0/5700'), P('/1/0')], models);
    expect([...nodes.keys()]).toEqual(['/3/0', '/3303/0/5700']);
    expect(res(nodes.get('/3/0')!, 9)).toMatchObject({ value: 88 });
    const again = senmlJsonCodec.encodeNodes(nodes, models);
    expect(senmlJsonCodec.decodeNodes(again, [P('/3/0'), P('/3303/0/5700')], models)).toEqual(nodes);
  });

  it('timestamped encoding: bt per time group, undefined time first', () => {
    const node = (v: number) => ({ kind: 'singleResource', id: 5700, type: 'FLOAT', value: v }) as LwM2mNode;
    const out = senmlJsonCodec.encodeTimestamped(
      [{ timestamp: 1700000000, node: node(1) }, { timestamp: undefined, node: node(2) }, { timestamp: 1700000060, node: node(3) }],
      P('/3303/0/5700'),
      models,
    );
    expect(text(out)).toBe('[{"bn":"/3303/0/5700","v":2},{"bt":1700000000,"v":1},{"bt":1700000060,"v":3}]');
  });

  describe('malformed → Lwm2mCodecError', () => {
    const cases: [string, string, string][] = [
      ['not JSON', '[{', 'INVALID_STRUCTURE'],
      ['not an array (RFC 8428 §5: a pack is an array)', '{"bn":"/3/0/0","vs":"x"}', 'INVALID_STRUCTURE'],
      ['record not an object', '[1]', 'INVALID_STRUCTURE'],
      ['RFC 8428 example names are not LwM2M paths', '[{"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","v":120.1}]', 'INVALID_STRUCTURE'],
      ['string label with a number', '[{"bn":5,"vs":"x"}]', 'INVALID_STRUCTURE'],
      ['two value labels', '[{"bn":"/3/0/0","vs":"x","v":1}]', 'INVALID_STRUCTURE'],
      ['RFC 8428 §4.4 must-understand label', '[{"bn":"/3/0/0","vs":"x","foo_":1}]', 'INVALID_STRUCTURE'],
      ['RFC 8428 §4.4 bver above 10', '[{"bver":11,"bn":"/3/0/0","vs":"x"}]', 'INVALID_STRUCTURE'],
      ['wrong label for the type (STRING as v)', '[{"bn":"/3/0/0","v":1}]', 'INVALID_VALUE'],
      ['INTEGER with a fraction', '[{"bn":"/3/0/9","v":1.5}]', 'INVALID_VALUE'],
      ['INTEGER beyond 2^53', '[{"bn":"/3/0/9","v":9007199254740993}]', 'INVALID_VALUE'],
      ['UNSIGNED negative', '[{"bn":"/9999/0/2","v":-1}]', 'INVALID_VALUE'],
      ['bad objlnk', '[{"bn":"/9999/0/7","vlo":"3-0"}]', 'INVALID_VALUE'],
      ['bad base64url', '[{"bn":"/9999/0/5","vd":"!!"}]', 'INVALID_VALUE'],
      ['no value', '[{"bn":"/3/0/0"}]', 'INVALID_STRUCTURE'],
      ['single resource as an instance', '[{"bn":"/3/0/0/1","vs":"x"}]', 'INVALID_STRUCTURE'],
      ['multiple resource without an instance', '[{"bn":"/3/0/7","v":1}]', 'INVALID_STRUCTURE'],
      ['outside the requested path', '[{"bn":"/3/1/0","vs":"x"}]', 'INVALID_STRUCTURE'],
      ['time out of range', '[{"bn":"/3/0/0","vs":"x","bt":1e300}]', 'INVALID_VALUE'],
      ['invalid UTF-8', '\u0000', 'INVALID_STRUCTURE'],
    ];
    it.each(cases)('%s', (_name, payload, reason) => {
      expect(codecError(() => senmlJsonCodec.decode(json(payload), P('/3/0/0').parent(), models)).reason).toBe(reason);
    });

    it('invalid UTF-8 bytes', () => {
      expect(codecError(() => senmlJsonCodec.decode(new Uint8Array([0x5b, 0xff, 0x5d]), P('/3/0'), models)).reason).toBe('INVALID_VALUE');
    });
    it('payload and record caps', () => {
      expect(codecError(() => senmlJsonCodec.decode(json(DEVICE_SENML_JSON), P('/3/0'), models, { maxPayloadBytes: 100 })).reason).toBe('PAYLOAD_TOO_LARGE');
      expect(codecError(() => senmlJsonCodec.decode(json(DEVICE_SENML_JSON), P('/3/0'), models, { maxRecords: 5 })).reason).toBe('PAYLOAD_TOO_LARGE');
    });
    it('strict mode: unknown object / resource', () => {
      expect(codecError(() => senmlJsonCodec.decode(json('[{"bn":"/4242/0/0","v":1}]'), P('/4242/0'), models, { strict: true })).reason).toBe('UNKNOWN_OBJECT');
      expect(codecError(() => senmlJsonCodec.decode(json('[{"bn":"/3/0/4242","v":1}]'), P('/3/0'), models, { strict: true })).reason).toBe('UNKNOWN_RESOURCE');
    });
    it('non-strict: unknown resources are typed from the label', () => {
      const n = senmlJsonCodec.decode(json('[{"bn":"/4242/0/","n":"0","v":1},{"n":"1","vs":"a"},{"n":"2","vb":false},{"n":"3/0","vd":"AA"}]'), P('/4242/0'), staticModels([]));
      expect([...(n as LwM2mObjectInstance).resources.values()].map((r) => r.type)).toEqual(['FLOAT', 'STRING', 'BOOLEAN', 'OPAQUE']);
    });
    it('encoder: NaN cannot be written in JSON; node must fit the path', () => {
      const nan = { kind: 'singleResource', id: 5700, type: 'FLOAT', value: Number.NaN } as LwM2mNode;
      expect(codecError(() => senmlJsonCodec.encode(nan, P('/3303/0/5700'), models)).reason).toBe('INVALID_VALUE');
      expect(codecError(() => senmlJsonCodec.encode(nan, P('/3303/0/5701'), models)).reason).toBe('INVALID_STRUCTURE');
      expect(codecError(() => senmlJsonCodec.encode({ kind: 'singleResource', id: 0, type: 'INTEGER', value: 1.5 } as LwM2mNode, P('/3/0/0'), models)).reason).toBe('INVALID_VALUE');
      expect(codecError(() => senmlJsonCodec.encode({ kind: 'singleResource', id: 0, type: 'INTEGER', value: 1 } as LwM2mNode, P('/3/0/0'), models, { strict: true })).reason).toBe('INVALID_VALUE');
    });
  });
});

describe('SenML CBOR (112)', () => {
  // [{-2: "/3/0/", 0: "0", 3: "Open Mobile Alliance"}, {0: "7/0", 2: 3800}, {0: "9", 2: 100}]
  const DEVICE_CBOR = hex(`
    83
    a3 21 65 2f332f302f 00 61 30 03 74 4f70656e204d6f62696c6520416c6c69616e6365
    a2 00 63 372f30 02 19 0ed8
    a2 00 61 39 02 18 64`);

  it('LwM2M 1.1 §7.4.5 / RFC 8428 §6: integer labels; decodes and re-encodes byte for byte', () => {
    const node = senmlCborCodec.decode(DEVICE_CBOR, P('/3/0'), models);
    expect(res(node, 0)).toMatchObject({ type: 'STRING', value: 'Open Mobile Alliance' });
    expect(res(node, 9)).toMatchObject({ type: 'INTEGER', value: 100 });
    expect((res(node, 7) as LwM2mMultipleResource).instances.get(0)).toMatchObject({ value: 3800 });
    expect(Buffer.from(senmlCborCodec.encode(node, P('/3/0'), models)).toString('hex')).toBe(Buffer.from(DEVICE_CBOR).toString('hex'));
  });

  it('LwM2M 1.1 §7.4.5: vd is a byte string, vlo a text label, vb a simple value', () => {
    // [{-2: "/9999/0/", 0: "5", 8: h'0102'}, {0: "7", "vlo": "3:0"}, {0: "4", 4: true}]
    const payload = hex(`83 a3 21 68 2f393939392f302f 00 61 35 08 42 0102  a2 00 61 37 63 766c6f 63 333a30  a2 00 61 34 04 f5`);
    const node = senmlCborCodec.decode(payload, P('/9999/0'), models);
    expect(res(node, 5)).toMatchObject({ type: 'OPAQUE', value: new Uint8Array([1, 2]) });
    expect(res(node, 7)).toMatchObject({ type: 'OBJLNK', value: { objectId: 3, instanceId: 0 } });
    expect(res(node, 4)).toMatchObject({ type: 'BOOLEAN', value: true });
  });

  it('RFC 8428 §6: 64-bit integers and half-precision floats', () => {
    // [{-2: "/9999/0/1", 2: 9223372036854775807}]
    const big = senmlCborCodec.decode(hex('81 a2 21 69 2f393939392f302f31 02 1b 7fffffffffffffff'), P('/9999/0/1'), models);
    expect(big).toMatchObject({ type: 'INTEGER', value: 9223372036854775807n });
    // [{-2: "/3303/0/5700", 2: 1.5 (f16)}]
    const half = senmlCborCodec.decode(hex('81 a2 21 6c 2f333330332f302f35373030 02 f9 3e00'), P('/3303/0/5700'), models);
    expect(half).toMatchObject({ type: 'FLOAT', value: 1.5 });
  });

  it('RFC 8428 §4.5.3: bt / t resolution (same rules as JSON)', () => {
    // [{-2: "/3303/0/5700", -3: 1367491215, 2: 22.5, 6: -5}]
    const payload = hex('81 a4 21 6c 2f333330332f302f35373030 22 1a 5182428f 02 fb 4036800000000000 06 24');
    const series = senmlCborCodec.decodeTimestamped(payload, P('/3303/0/5700'), models);
    expect(series).toEqual([{ timestamp: 1367491210, node: { kind: 'singleResource', id: 5700, type: 'FLOAT', value: 22.5 } }]);
  });

  describe('malformed → Lwm2mCodecError', () => {
    const cases: [string, string, string][] = [
      ['empty', '', 'TRUNCATED'],
      ['truncated header', '81 a1 21 19 01', 'TRUNCATED'],
      ['map longer than the input', '81 a2 21', 'LENGTH_OVERFLOW'],
      ['string longer than the input', '81 a1 21 65 2f33', 'LENGTH_OVERFLOW'],
      ['not an array', 'a1 00 61 30', 'INVALID_STRUCTURE'],
      ['record not a map', '81 01', 'INVALID_STRUCTURE'],
      ['declared length beyond input', '9a 7fffffff 00', 'LENGTH_OVERFLOW'],
      ['trailing bytes', '80 00', 'INVALID_STRUCTURE'],
      ['tags are refused (cbor-x extension tag 105)', 'd8 69 80', 'INVALID_STRUCTURE'],
      ['deep nesting', '81'.repeat(50) + '80', 'NESTING_TOO_DEEP'],
      ['bn not text', '81 a2 21 01 03 61 78', 'INVALID_STRUCTURE'],
      ['vd not bytes', '81 a2 21 68 2f393939392f302f35 08 61 78', 'INVALID_STRUCTURE'],
      ['wrong label for the type', '81 a2 21 66 2f332f302f30 02 01', 'INVALID_VALUE'],
      ['unsupported simple value', '81 a2 21 66 2f332f302f30 04 f0', 'INVALID_STRUCTURE'],
      ['stray break', 'ff', 'INVALID_STRUCTURE'],
    ];
    it.each(cases)('%s', (_name, h, reason) => {
      expect(codecError(() => senmlCborCodec.decode(hex(h), P('/3/0'), models)).reason).toBe(reason);
    });
    it('indefinite-length containers are accepted', () => {
      // [_ {_ -2: "/3/0/0", 3: "x"}]
      const n = senmlCborCodec.decode(hex('9f bf 21 66 2f332f302f30 03 61 78 ff ff'), P('/3/0/0'), models);
      expect(n).toMatchObject({ value: 'x' });
    });
    it('record cap', () => {
      expect(codecError(() => senmlCborCodec.decode(DEVICE_CBOR, P('/3/0'), models, { maxRecords: 2 })).reason).toBe('PAYLOAD_TOO_LARGE');
    });
  });
});
