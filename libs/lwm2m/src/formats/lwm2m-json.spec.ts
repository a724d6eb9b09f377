/** LwM2M JSON (11543 / legacy 1543) vectors written from OMA LwM2M 1.0 TS §6.4.4. */
import { Lwm2mCodecError } from '../errors';
import { ObjectModelRegistry } from '../model/registry';
import type { LwM2mMultipleResource, LwM2mNode, LwM2mObjectInstance } from '../node';
import { LwM2mPath } from '../path';
import { lwm2mJsonCodec } from './lwm2m-json';
import { TEST_OBJECT_MODEL } from '../test/senml-test-models';

const models = ObjectModelRegistry.withDefaults([TEST_OBJECT_MODEL]);
const P = (s: string) => LwM2mPath.parse(s);
const json = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
function codecError(fn: () => unknown): Lwm2mCodecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Lwm2mCodecError) return e;
    throw new Error(`expected Lwm2mCodecError, got ${String(e)}`);
  }
  throw new Error('expected an error');
}

/** LwM2M 1.0 TS §6.4.4, Read /3/0 (Device) in JSON. */
const DEVICE_JSON =
  '{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},' +
  '{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},' +
  '{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},' +
  '{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},' +
  '{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}';

describe('LwM2M JSON (11543)', () => {
  it('registers 11543 and the legacy 1543', () => {
    expect(lwm2mJsonCodec.formats).toEqual([11543, 1543]);
  });

  it('TS 1.0 §6.4.4: Read /3/0 (Device) decodes type-aware and re-encodes byte for byte', () => {
    const node = lwm2mJsonCodec.decode(json(DEVICE_JSON), P('/3/0'), models) as LwM2mObjectInstance;
    expect(node.resources.get(0)).toEqual({ kind: 'singleResource', id: 0, type: 'STRING', value: 'Open Mobile Alliance' });
    expect(node.resources.get(13)).toMatchObject({ type: 'TIME', value: new Date(1367491215000) });
    expect([...(node.resources.get(6) as LwM2mMultipleResource).instances.values()].map((i) => i.value)).toEqual([1, 5]);
    expect(text(lwm2mJsonCodec.encode(node, P('/3/0'), models))).toBe(DEVICE_JSON);
  });

  it('TS 1.0 §6.4.4: single resource, bn = resource path, empty n', () => {
    const node = lwm2mJsonCodec.decode(json('{"bn":"/3/0/0","e":[{"n":"","sv":"Open Mobile Alliance"}]}'), P('/3/0/0'), models);
    expect(node).toEqual({ kind: 'singleResource', id: 0, type: 'STRING', value: 'Open Mobile Alliance' });
    expect(text(lwm2mJsonCodec.encode(node, P('/3/0/0'), models))).toBe('{"bn":"/3/0/0","e":[{"n":"","sv":"Open Mobile Alliance"}]}');
  });

  it('TS 1.0 §6.4.4: time series with bt and negative t (Notify of /3303/0/5700)', () => {
    const payload = '{"bn":"/3303/0/5700","bt":25462634,"e":[{"n":"","v":22.4,"t":-5},{"n":"","v":22.9,"t":-30},{"n":"","v":24.1,"t":-50}]}';
    const series = lwm2mJsonCodec.decodeTimestamped(json(payload), P('/3303/0/5700'), models);
    expect(series.map((s) => [s.timestamp, (s.node as { value: number }).value])).toEqual([
      [25462629, 22.4],
      [25462604, 22.9],
      [25462584, 24.1],
    ]);
    expect(lwm2mJsonCodec.decode(json(payload), P('/3303/0/5700'), models)).toMatchObject({ value: 22.4 });
  });

  it('without bt a negative t is relative to now', () => {
    const s = lwm2mJsonCodec.decodeTimestamped(json('{"bn":"/3303/0/5700","e":[{"v":1,"t":-10}]}'), P('/3303/0/5700'), models, { now: 1_700_000_000 });
    expect(s[0]?.timestamp).toBe(1_699_999_990);
  });

  it('TS 1.0 §6.4.4 value keys: sv (string, opaque base64), v, bv, ov', () => {
    const payload =
      '{"bn":"/9999/0/","e":[{"n":"0","sv":"s"},{"n":"1","v":-5},{"n":"2","v":7},{"n":"3","v":1.5},{"n":"4","bv":false},' +
      '{"n":"5","sv":"AQL/+w=="},{"n":"6","v":1600000000},{"n":"7","ov":"3:0"},{"n":"8","sv":"</3/0>"}]}';
    const node = lwm2mJsonCodec.decode(json(payload), P('/9999/0'), models) as LwM2mObjectInstance;
    expect(node.resources.get(5)).toMatchObject({ type: 'OPAQUE', value: new Uint8Array([1, 2, 0xff, 0xfb]) });
    expect(node.resources.get(7)).toMatchObject({ type: 'OBJLNK', value: { objectId: 3, instanceId: 0 } });
    expect(text(lwm2mJsonCodec.encode(node, P('/9999/0'), models))).toBe(payload);
  });

  it('timestamped encoding writes absolute t per record', () => {
    const node = (v: number) => ({ kind: 'singleResource', id: 5700, type: 'FLOAT', value: v }) as LwM2mNode;
    const out = lwm2mJsonCodec.encodeTimestamped([{ timestamp: 1700000000, node: node(1.5) }, { timestamp: 1700000060, node: node(2) }], P('/3303/0/5700'), models);
    expect(text(out)).toBe('{"bn":"/3303/0/5700","e":[{"n":"","v":1.5,"t":1700000000},{"n":"","v":2,"t":1700000060}]}');
  });

  const bad: [string, string, string][] = [
    ['not an object', '[]', 'INVALID_STRUCTURE'],
    ['e missing', '{"bn":"/3/0/"}', 'INVALID_STRUCTURE'],
    ['bn not a string', '{"bn":3,"e":[]}', 'INVALID_STRUCTURE'],
    ['record without value', '{"bn":"/3/0/","e":[{"n":"0"}]}', 'INVALID_STRUCTURE'],
    ['two values', '{"bn":"/3/0/","e":[{"n":"0","sv":"a","v":1}]}', 'INVALID_STRUCTURE'],
    ['wrong key for the type', '{"bn":"/3/0/","e":[{"n":"0","v":1}]}', 'INVALID_VALUE'],
    ['sv with a number', '{"bn":"/3/0/","e":[{"n":"0","sv":1}]}', 'INVALID_STRUCTURE'],
    ['bad path', '{"bn":"/3/x/","e":[{"n":"0","sv":"a"}]}', 'INVALID_STRUCTURE'],
    ['outside the path', '{"bn":"/3/1/","e":[{"n":"0","sv":"a"}]}', 'INVALID_STRUCTURE'],
    ['not JSON', '{', 'INVALID_STRUCTURE'],
  ];
  it.each(bad)('malformed: %s', (_n, payload, reason) => {
    expect(codecError(() => lwm2mJsonCodec.decode(json(payload), P('/3/0'), models)).reason).toBe(reason);
  });
  it('record cap', () => {
    expect(codecError(() => lwm2mJsonCodec.decode(json(DEVICE_JSON), P('/3/0'), models, { maxRecords: 3 })).reason).toBe('PAYLOAD_TOO_LARGE');
  });
});
