import fc from 'fast-check';
import { Lwm2mCodecError } from '../errors';
import { ObjectModelRegistry } from '../model/registry';
import { newResourceInstance, newSingleResource, nodesEqual, VALUE_TYPES, type LwM2mSingleResource, type ValueType } from '../node';
import { LwM2mPath } from '../path';
import { mutatedBytesArb, singleResourceArb, TEST_MODELS, TEST_OBJECT_ID, valueArb } from '../test/arbitraries';
import { decodeOpaque, encodeOpaque, opaqueCodec } from './opaque';
import { decodeText, encodeText, textCodec } from './text';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const reg = ObjectModelRegistry.default();

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof Lwm2mCodecError) return e.reason;
    throw e;
  }
  return 'none';
}

describe('text/plain (content format 0, spec §8.1 table 8-2)', () => {
  it.each([
    ['/3/0/0', 'ACME Ltd', 'STRING', 'ACME Ltd'],
    ['/3/0/9', '87', 'INTEGER', 87],
    ['/3/0/9', '-9223372036854775808', 'INTEGER', -(2n ** 63n)],
    ['/3303/0/5700', '21.5', 'FLOAT', 21.5],
    ['/3303/0/5700', '-1e3', 'FLOAT', -1000],
    ['/3311/0/5850', '1', 'BOOLEAN', true],
    ['/3/0/13', '1700000000', 'TIME', new Date(1700000000000)],
    ['/3/0/7/1', '3800', 'INTEGER', 3800],
  ] as const)('decodes %s "%s" as %s', (p, text, type, value) => {
    const node = decodeText(enc(text), LwM2mPath.parse(p), reg) as LwM2mSingleResource;
    expect(node.type).toBe(type);
    expect(node.value).toEqual(value);
  });

  it('objlnk, opaque base64, unsigned', () => {
    const p = (k: number): LwM2mPath => LwM2mPath.parse(`/${TEST_OBJECT_ID}/0/${k}`);
    const idx = (t: ValueType): number => VALUE_TYPES.indexOf(t);
    expect((decodeText(enc('3:0'), p(idx('OBJLNK')), TEST_MODELS) as LwM2mSingleResource).value).toEqual({ objectId: 3, instanceId: 0 });
    expect((decodeText(enc('AQID'), p(idx('OPAQUE')), TEST_MODELS) as LwM2mSingleResource).value).toEqual(Uint8Array.from([1, 2, 3]));
    expect((decodeText(enc('18446744073709551615'), p(idx('UNSIGNED_INTEGER')), TEST_MODELS) as LwM2mSingleResource).value).toBe(2n ** 64n - 1n);
    expect(new TextDecoder().decode(encodeText(newSingleResource(idx('FLOAT'), 'FLOAT', -0), p(idx('FLOAT')), TEST_MODELS))).toBe('-0');
  });

  it.each([
    ['/3/0/9', '1.5', 'INVALID_VALUE'],
    ['/3/0/9', '99999999999999999999', 'INVALID_VALUE'],
    ['/3303/0/5700', 'abc', 'INVALID_VALUE'],
    ['/3311/0/5850', '2', 'INVALID_VALUE'],
    ['/3/0', '1', 'UNSUPPORTED_PATH'],
    ['/3/0/7', '1', 'UNSUPPORTED_PATH'],
  ])('rejects %s "%s" with %s', (p, text, r) => {
    expect(reason(() => decodeText(enc(text), LwM2mPath.parse(p), reg))).toBe(r);
  });

  it('strict mode rejects unknown resources, invalid UTF-8 is INVALID_VALUE', () => {
    expect(reason(() => decodeText(enc('1'), LwM2mPath.parse('/3/0/999'), reg, { strict: true }))).toBe('UNKNOWN_RESOURCE');
    expect((decodeText(enc('x'), LwM2mPath.parse('/3/0/999'), reg) as LwM2mSingleResource).type).toBe('STRING');
    expect(reason(() => decodeText(Uint8Array.from([0xc3, 0x28]), LwM2mPath.parse('/3/0/0'), reg))).toBe('INVALID_VALUE');
  });

  it('round trip (property) for every type, resources and resource instances', () => {
    fc.assert(
      fc.property(singleResourceArb, (r) => {
        const p = LwM2mPath.parse(`/${TEST_OBJECT_ID}/0/${r.id}`);
        return nodesEqual(decodeText(encodeText(r, p, TEST_MODELS, { strict: true }), p, TEST_MODELS, { strict: true }), r);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: VALUE_TYPES.length - 1 }).chain((k) => fc.tuple(fc.constant(k), valueArb(VALUE_TYPES[k] as ValueType))), ([k, v]) => {
        const type = VALUE_TYPES[k] as ValueType;
        const ri = newResourceInstance(2, type, v as never);
        const p = LwM2mPath.parse(`/${TEST_OBJECT_ID}/0/${100 + k}/2`);
        return nodesEqual(decodeText(encodeText(ri, p, TEST_MODELS), p, TEST_MODELS), ri);
      }),
      { numRuns: 500 },
    );
  });

  it('fuzz: only Lwm2mCodecError', () => {
    const paths = VALUE_TYPES.map((_t, k) => LwM2mPath.parse(`/${TEST_OBJECT_ID}/0/${k}`));
    fc.assert(
      fc.property(mutatedBytesArb([enc('123'), enc('1.5e3'), enc('3:4'), enc('AQID')]), fc.constantFrom(...paths), (b, p) => {
        try {
          decodeText(b, p, TEST_MODELS);
        } catch (e) {
          if (!(e instanceof Lwm2mCodecError)) throw e;
        }
      }),
      { numRuns: 10000 },
    );
    expect(textCodec.formats).toEqual([0]);
  });
});

describe('opaque (content format 42, spec §8.1 table 8-2)', () => {
  const p = LwM2mPath.parse('/5/0/0'); // Firmware Update: Package (Opaque)
  it('decodes and encodes raw bytes of an OPAQUE resource', () => {
    const node = decodeOpaque(Uint8Array.from([1, 2, 3]), p, reg);
    expect(node).toEqual({ kind: 'singleResource', id: 0, type: 'OPAQUE', value: Uint8Array.from([1, 2, 3]) });
    expect(encodeOpaque(node, p, reg)).toEqual(Uint8Array.from([1, 2, 3]));
  });
  it('rejects non-opaque resources, objects, oversize payloads', () => {
    expect(reason(() => decodeOpaque(Uint8Array.of(1), LwM2mPath.parse('/3/0/9'), reg))).toBe('INVALID_VALUE');
    expect(reason(() => decodeOpaque(Uint8Array.of(1), LwM2mPath.parse('/5/0'), reg))).toBe('UNSUPPORTED_PATH');
    expect(reason(() => decodeOpaque(new Uint8Array(10), p, reg, { maxPayloadBytes: 5 }))).toBe('PAYLOAD_TOO_LARGE');
    expect(reason(() => encodeOpaque(newSingleResource(0, 'STRING', 'x'), p, reg))).toBe('INVALID_VALUE');
  });
  it('round trip (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const n = newSingleResource(0, 'OPAQUE', bytes);
        return nodesEqual(decodeOpaque(encodeOpaque(n, p, reg), p, reg), n);
      }),
      { numRuns: 300 },
    );
    expect(opaqueCodec.formats).toEqual([42]);
  });
  it('fuzz: only Lwm2mCodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom('/5/0/0', '/3/0/9', '/3/0', '/5/0/0/1', '/60000/0/5'), (b, s) => {
        try {
          decodeOpaque(b, LwM2mPath.parse(s), reg);
        } catch (e) {
          if (!(e instanceof Lwm2mCodecError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
