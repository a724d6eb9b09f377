/** LwM2M CBOR (11544) vectors written from OMA LwM2M 1.2 TS §7.4.7 (nested maps). */
import { Lwm2mCodecError } from '../errors';
import { ObjectModelRegistry } from '../model/registry';
import type { LwM2mMultipleResource, LwM2mObject, LwM2mObjectInstance } from '../node';
import { LwM2mPath } from '../path';
import { lwm2mCborCodec } from './lwm2m-cbor';
import { TEST_OBJECT_MODEL } from '../test/senml-test-models';

const models = ObjectModelRegistry.withDefaults([TEST_OBJECT_MODEL]);
const P = (s: string) => LwM2mPath.parse(s);
const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
function codecError(fn: () => unknown): Lwm2mCodecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Lwm2mCodecError) return e;
    throw new Error(`expected Lwm2mCodecError, got ${String(e)}`);
  }
  throw new Error('expected an error');
}

// {3: {0: {0: "Open Mobile Alliance", 7: {0: 3800, 1: 5000}, 9: 100, 13: 1367491215}}}
const DEVICE = hex(`
  a1 03 a1 00 a4
    00 74 4f70656e204d6f62696c6520416c6c69616e6365
    07 a2 00 19 0ed8 01 19 1388
    09 18 64
    0d 1a 5182428f`);

describe('LwM2M CBOR (11544)', () => {
  it('TS 1.2 §7.4.7: nested maps from the root, decoded type-aware, re-encoded canonically', () => {
    const node = lwm2mCborCodec.decode(DEVICE, P('/3/0'), models) as LwM2mObjectInstance;
    expect(node.resources.get(0)).toEqual({ kind: 'singleResource', id: 0, type: 'STRING', value: 'Open Mobile Alliance' });
    expect([...(node.resources.get(7) as LwM2mMultipleResource).instances.values()].map((i) => i.value)).toEqual([3800, 5000]);
    expect(node.resources.get(13)).toMatchObject({ type: 'TIME', value: new Date(1367491215000) });
    expect(toHex(lwm2mCborCodec.encode(node, P('/3/0'), models))).toBe(toHex(DEVICE));
  });

  it('TS 1.2 §7.4.7: a key may be an array of ids (path fragment)', () => {
    // {[3, 0]: {0: "OMA", [7, 1]: 5000}}
    const node = lwm2mCborCodec.decode(hex('a1 82 03 00 a2 00 63 4f4d41 82 07 01 19 1388'), P('/3/0'), models) as LwM2mObjectInstance;
    expect(node.resources.get(0)).toMatchObject({ value: 'OMA' });
    expect((node.resources.get(7) as LwM2mMultipleResource).instances.get(1)).toMatchObject({ value: 5000 });
    // {[3, 0, 9]: 100} at a resource path
    expect(lwm2mCborCodec.decode(hex('a1 83 03 00 09 18 64'), P('/3/0/9'), models)).toEqual({ kind: 'singleResource', id: 9, type: 'INTEGER', value: 100 });
  });

  it('data types: int, uint64, float, bool, text, bytes, time (int or tag 1), objlnk text', () => {
    // {9999: {0: {1: -5, 2: 18446744073709551615, 3: 1.5, 4: true, 5: h'0102', 6: 1(1600000000), 7: "3:0", 8: "</3>"}}}
    const payload = hex(`a1 19 270f a1 00 a8
      01 24  02 1b ffffffffffffffff  03 fb 3ff8000000000000  04 f5  05 42 0102
      06 c1 1a 5f5e1000  07 63 333a30  08 64 3c2f333e`);
    const node = lwm2mCborCodec.decode(payload, P('/9999/0'), models) as LwM2mObjectInstance;
    const v = (id: number) => (node.resources.get(id) as { value: unknown }).value;
    expect(v(1)).toBe(-5);
    expect(v(2)).toBe(18446744073709551615n);
    expect(v(3)).toBe(1.5);
    expect(v(4)).toBe(true);
    expect(v(5)).toEqual(new Uint8Array([1, 2]));
    expect(v(6)).toEqual(new Date(1600000000000));
    expect(v(7)).toEqual({ objectId: 3, instanceId: 0 });
    expect(v(8)).toBe('</3>');
  });

  it('object path: several instances', () => {
    // {3303: {0: {5700: 21.5}, 1: {5700: -3.25}}}
    const n = lwm2mCborCodec.decode(hex('a1 19 0ce7 a2 00 a1 19 1644 f9 4d60 01 a1 19 1644 f9 c280'), P('/3303'), models) as LwM2mObject;
    expect([...n.instances.keys()]).toEqual([0, 1]);
    expect(n.instances.get(1)?.resources.get(5700)).toMatchObject({ value: -3.25 });
  });

  it('composite: decodeNodes / encodeNodes', () => {
    const paths = [P('/3/0/0'), P('/3/0/7'), P('/3/0/9'), P('/3/0/13'), P('/3/0/1')];
    const nodes = lwm2mCborCodec.decodeNodes(DEVICE, paths, models);
    expect([...nodes.keys()]).toEqual(['/3/0/0', '/3/0/7', '/3/0/9', '/3/0/13']); // /3/0/1 absent
    // 9 and 13 are outside the requested paths
    expect(codecError(() => lwm2mCborCodec.decodeNodes(DEVICE, [P('/3/0/0')], models)).reason).toBe('INVALID_STRUCTURE');
    const again = lwm2mCborCodec.encodeNodes(nodes, models);
    expect(toHex(again)).toBe(toHex(DEVICE));
    expect(lwm2mCborCodec.decodeNodes(again, paths, models)).toEqual(nodes);
  });

  const bad: [string, string, string][] = [
    ['not a map', '80', 'INVALID_STRUCTURE'],
    ['text key', 'a1 61 78 01', 'INVALID_STRUCTURE'],
    ['negative key', 'a1 20 01', 'INVALID_STRUCTURE'],
    ['value above resource level', 'a1 03 a1 00 01', 'INVALID_STRUCTURE'],
    ['map below resource instance', 'a1 84 03 00 07 00 a0', 'INVALID_STRUCTURE'],
    ['too many ids in a key', 'a1 85 03 00 07 00 00 01', 'INVALID_STRUCTURE'],
    ['wrong CBOR type for the resource', 'a1 03 a1 00 a1 00 01', 'INVALID_VALUE'],
    ['tag other than 1', 'a1 03 a1 00 a1 00 c2 41 01', 'INVALID_STRUCTURE'],
    ['deep nesting', 'a1 03'.repeat(30) + '01', 'NESTING_TOO_DEEP'],
    ['truncated', 'a1 03 a1', 'LENGTH_OVERFLOW'],
    ['duplicate path via array key', 'a2 83 03 00 00 61 61 03 a1 00 a1 00 61 62', 'INVALID_STRUCTURE'],
  ];
  it.each(bad)('malformed: %s', (_n, h, reason) => {
    expect(codecError(() => lwm2mCborCodec.decode(hex(h), P('/3/0'), models)).reason).toBe(reason);
  });
});
