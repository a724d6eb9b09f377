import fc from 'fast-check';
import { Lwm2mCodecError } from '../../errors';
import { ObjectModelRegistry } from '../../model/registry';
import { staticModels, type ObjectModel, type ResourceModel } from '../../model/types';
import {
  newMultipleResource,
  newObjectInstance,
  newResourceInstance,
  newSingleResource,
  nodesEqual,
  type LwM2mObject,
  type LwM2mObjectInstance,
  type LwM2mSingleResource,
  type ResourceType,
} from '../../node';
import { LwM2mPath } from '../../path';
import {
  mutatedBytesArb,
  multipleResourceArb,
  objectArb,
  objectInstanceArb,
  resourceInstanceArb,
  singleResourceArb,
  TEST_MODELS,
  TEST_OBJECT_ID,
} from '../../test/arbitraries';
import { decodeTlv, encodeTlv, parseTlv, tlvCodec } from './index';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/).filter(Boolean).map((x) => parseInt(x, 16)));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ');

function model(id: number, types: Record<number, ResourceType>, multiple: number[] = []): ObjectModel {
  const resources = new Map<number, ResourceModel>();
  for (const [k, t] of Object.entries(types)) {
    const rid = Number(k);
    resources.set(rid, { id: rid, name: `r${rid}`, operations: 'RW', multiple: multiple.includes(rid), mandatory: false, type: t, rangeEnumeration: '', units: '', description: '' });
  }
  return { id, name: 'm', description: '', version: '1.0', lwm2mVersion: '1.0', urn: '', multiple: true, mandatory: false, resources };
}

/** Spec §8.1 table 8-4: the TLV example. */
const SPEC_EXAMPLE = hex('08 00 13 C1 01 01 C4 02 3F 80 00 00 C1 03 01 C5 04 54 65 73 74 31');
const SPEC_MODELS = staticModels([model(3, { 1: 'INTEGER', 2: 'FLOAT', 3: 'INTEGER', 4: 'STRING' })]);

function expectCodecError(f: () => unknown, reason?: string): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Lwm2mCodecError);
    if (reason) expect((e as Lwm2mCodecError).reason).toBe(reason);
    return;
  }
  throw new Error('expected Lwm2mCodecError');
}

describe('spec §8.1 table 8-4 TLV example (R-TLV-1)', () => {
  const path = LwM2mPath.parse('/3/0');

  it('decodes 08 00 13 C1 01 01 C4 02 3F 80 00 00 C1 03 01 C5 04 54 65 73 74 31 to instance 0 with resources 1..4', () => {
    const node = decodeTlv(SPEC_EXAMPLE, path, SPEC_MODELS) as LwM2mObjectInstance;
    expect(node.kind).toBe('objectInstance');
    expect(node.id).toBe(0);
    expect([...node.resources.keys()]).toEqual([1, 2, 3, 4]);
    expect(node.resources.get(1)).toEqual({ kind: 'singleResource', id: 1, type: 'INTEGER', value: 1 });
    expect(node.resources.get(2)).toEqual({ kind: 'singleResource', id: 2, type: 'FLOAT', value: 1.0 });
    expect(node.resources.get(3)).toEqual({ kind: 'singleResource', id: 3, type: 'INTEGER', value: 1 });
    expect(node.resources.get(4)).toEqual({ kind: 'singleResource', id: 4, type: 'STRING', value: 'Test1' });
  });

  it('re-encodes byte-identical (minimal integer length, float32 when exact, instance wrapper)', () => {
    const node = decodeTlv(SPEC_EXAMPLE, path, SPEC_MODELS);
    expect(toHex(encodeTlv(node, path, SPEC_MODELS, { wrapObjectInstance: true }))).toBe(toHex(SPEC_EXAMPLE));
    // the same bytes as an object with one instance at /3
    const obj = decodeTlv(SPEC_EXAMPLE, LwM2mPath.parse('/3'), SPEC_MODELS) as LwM2mObject;
    expect(obj.instances.size).toBe(1);
    expect(toHex(encodeTlv(obj, LwM2mPath.parse('/3'), SPEC_MODELS))).toBe(toHex(SPEC_EXAMPLE));
  });

  it('without the wrapper the platform writes bare resources (§8.1: writes are one or more Resources)', () => {
    const node = decodeTlv(SPEC_EXAMPLE, path, SPEC_MODELS);
    expect(toHex(encodeTlv(node, path, SPEC_MODELS))).toBe(toHex(SPEC_EXAMPLE.subarray(3)));
    expect(nodesEqual(decodeTlv(SPEC_EXAMPLE.subarray(3), path, SPEC_MODELS), node)).toBe(true);
  });

  it('decodes resource 3 as BOOLEAN true when the model says so, and still re-encodes identically', () => {
    const m = staticModels([model(3, { 1: 'INTEGER', 2: 'FLOAT', 3: 'BOOLEAN', 4: 'STRING' })]);
    const node = decodeTlv(SPEC_EXAMPLE, path, m) as LwM2mObjectInstance;
    expect((node.resources.get(3) as LwM2mSingleResource).value).toBe(true);
    expect(toHex(encodeTlv(node, path, m, { wrapObjectInstance: true }))).toBe(toHex(SPEC_EXAMPLE));
  });

  it('without a model every value is OPAQUE (non-strict) and strict mode rejects unknown objects', () => {
    const node = decodeTlv(SPEC_EXAMPLE, path, staticModels([])) as LwM2mObjectInstance;
    expect(node.resources.get(4)?.type).toBe('OPAQUE');
    expectCodecError(() => decodeTlv(SPEC_EXAMPLE, path, staticModels([]), { strict: true }), 'UNKNOWN_OBJECT');
  });

  it('works with the shipped Device model (object 3) types', () => {
    const reg = ObjectModelRegistry.default();
    // /3/0: 0 Manufacturer (String), 1 Model Number (String), 9 Battery Level (Integer), 13 Current Time (Time)
    const inst = newObjectInstance(0, [
      newSingleResource(0, 'STRING', 'ACME'),
      newSingleResource(9, 'INTEGER', 87),
      newSingleResource(13, 'TIME', new Date(1700000000 * 1000)),
      newMultipleResource(7, 'INTEGER', [[0, 3800], [1, 5000]]),
    ]);
    const bytes = encodeTlv(inst, path, reg, { strict: true });
    expect(nodesEqual(decodeTlv(bytes, path, reg, { strict: true }), inst)).toBe(true);
  });
});

describe('spec §8.1 table 8-3 TLV type byte', () => {
  const m = staticModels([model(5, { 0: 'OPAQUE', 1: 'STRING', 6: 'INTEGER', 300: 'STRING' }, [6])]);
  it.each([
    ['bits 7-6 = 11 resource, bit 5 = 0 8-bit id, bits 4-3 = 00 inline length', 'C3 01 61 62 63', '/5/0/1', 'abc'],
    ['bit 5 = 1 16-bit identifier', 'E3 01 2C 61 62 63', '/5/0/300', 'abc'],
    ['bits 4-3 = 01 8-bit length field', 'C8 01 08 61 62 63 64 65 66 67 68', '/5/0/1', 'abcdefgh'],
  ])('%s', (_name, bytes, p, value) => {
    const node = decodeTlv(hex(bytes), LwM2mPath.parse(p), m) as LwM2mSingleResource;
    expect(node.value).toBe(value);
    expect(toHex(encodeTlv(node, LwM2mPath.parse(p), m))).toBe(bytes);
  });

  it('bits 4-3 = 10 16-bit and 11 24-bit length fields', () => {
    const big = new Uint8Array(300).fill(7);
    const bytes = encodeTlv(newSingleResource(0, 'OPAQUE', big), LwM2mPath.parse('/5/0/0'), m);
    expect(toHex(bytes.subarray(0, 4))).toBe('D0 00 01 2C');
    const huge = new Uint8Array(70000).fill(1);
    const b2 = encodeTlv(newSingleResource(0, 'OPAQUE', huge), LwM2mPath.parse('/5/0/0'), m);
    expect(toHex(b2.subarray(0, 5))).toBe('D8 00 01 11 70');
    expect((decodeTlv(b2, LwM2mPath.parse('/5/0/0'), m) as LwM2mSingleResource).value).toEqual(huge);
  });

  it('bits 7-6 = 10 multiple resource with 01 resource instances (OMA LwM2M meaning)', () => {
    const bytes = hex('86 06 41 00 01 41 01 05');
    const node = decodeTlv(bytes, LwM2mPath.parse('/5/0/6'), m);
    expect(nodesEqual(node, newMultipleResource(6, 'INTEGER', [[0, 1], [1, 5]]))).toBe(true);
    expect(toHex(encodeTlv(node, LwM2mPath.parse('/5/0/6'), m))).toBe('86 06 41 00 01 41 01 05');
    // bare resource instances at the resource path
    expect(nodesEqual(decodeTlv(hex('41 00 01 41 01 05'), LwM2mPath.parse('/5/0/6'), m), node)).toBe(true);
    // a single resource instance path
    const ri = decodeTlv(hex('41 01 05'), LwM2mPath.parse('/5/0/6/1'), m);
    expect(nodesEqual(ri, newResourceInstance(1, 'INTEGER', 5))).toBe(true);
  });

  it.each([
    ['INTEGER 1 byte', 'INTEGER', -1, 'C1 00 FF'],
    ['INTEGER 2 bytes', 'INTEGER', 300, 'C2 00 01 2C'],
    ['INTEGER 4 bytes', 'INTEGER', -70000, 'C4 00 FF FE EE 90'],
    ['INTEGER 8 bytes', 'INTEGER', 2 ** 40, 'C8 00 08 00 00 01 00 00 00 00 00'],
    ['INTEGER int64 min', 'INTEGER', -(2n ** 63n), 'C8 00 08 80 00 00 00 00 00 00 00'],
    ['UNSIGNED 1 byte 255', 'UNSIGNED_INTEGER', 255, 'C1 00 FF'],
    ['UNSIGNED uint64 max', 'UNSIGNED_INTEGER', 2n ** 64n - 1n, 'C8 00 08 FF FF FF FF FF FF FF FF'],
    ['FLOAT 4 bytes when exact in float32', 'FLOAT', 1.5, 'C4 00 3F C0 00 00'],
    ['FLOAT 8 bytes otherwise', 'FLOAT', 0.1, 'C8 00 08 3F B9 99 99 99 99 99 9A'],
    ['BOOLEAN', 'BOOLEAN', false, 'C1 00 00'],
    ['TIME as integer seconds', 'TIME', new Date(1000 * 1000), 'C2 00 03 E8'],
    ['OBJLNK 2+2 bytes', 'OBJLNK', { objectId: 3, instanceId: 65535 }, 'C4 00 00 03 FF FF'],
  ] as const)('value encoding: %s', (_name, type, value, bytes) => {
    const mm = staticModels([model(9, { 0: type })]);
    const p = LwM2mPath.parse('/9/0/0');
    const node = newSingleResource(0, type, value as never);
    expect(toHex(encodeTlv(node, p, mm))).toBe(bytes);
    expect(nodesEqual(decodeTlv(hex(bytes), p, mm), node)).toBe(true);
  });
});

describe('TLV malformed input → Lwm2mCodecError with reason', () => {
  const p = LwM2mPath.parse('/3/0');
  it.each([
    ['truncated header', '08', 'TRUNCATED'],
    ['truncated 16-bit id', 'E1 00', 'TRUNCATED'],
    ['truncated length field', 'C8 01', 'TRUNCATED'],
    ['length beyond payload', '08 00 13 C1 01 01', 'LENGTH_OVERFLOW'],
    ['child beyond parent', '08 00 02 C4 01', 'LENGTH_OVERFLOW'],
    ['instance inside instance', '08 00 03 08 01 00', 'NESTING_TOO_DEEP'],
    ['bad integer length', 'C3 01 00 00 00', 'INVALID_VALUE'],
    ['bad float length', 'C2 02 00 00', 'INVALID_VALUE'],
    ['bad string utf-8', 'C2 04 C3 28', 'INVALID_VALUE'],
    ['instance id mismatch', '08 01 03 C1 01 01', 'INVALID_STRUCTURE'],
    ['duplicate resource', 'C1 01 01 C1 01 02', 'INVALID_STRUCTURE'],
  ])('%s', (_n, bytes, reason) => {
    expectCodecError(() => decodeTlv(hex(bytes), p, SPEC_MODELS), reason);
  });

  it('unknown resource when strict', () => {
    expectCodecError(() => decodeTlv(hex('C1 09 01'), p, SPEC_MODELS, { strict: true }), 'UNKNOWN_RESOURCE');
  });

  it('payload too large', () => {
    expectCodecError(() => decodeTlv(new Uint8Array(100), p, SPEC_MODELS, { maxPayloadBytes: 50 }), 'PAYLOAD_TOO_LARGE');
  });

  it('nesting limit (maxDepth) is enforced by the raw parser', () => {
    expectCodecError(() => parseTlv(hex('08 00 05 83 01 41 00 01'), { maxDepth: 2 }), 'NESTING_TOO_DEEP');
    expect(parseTlv(hex('08 00 05 83 01 41 00 01'))[0]?.children?.[0]?.children?.[0]?.value).toEqual(hex('01'));
  });

  it('root path is unsupported', () => {
    expectCodecError(() => decodeTlv(SPEC_EXAMPLE, LwM2mPath.ROOT, SPEC_MODELS), 'UNSUPPORTED_PATH');
  });

  it('encoder rejects values invalid for their type and mismatched paths', () => {
    const bad = { kind: 'singleResource', id: 1, type: 'INTEGER', value: 1.5 } as unknown as LwM2mSingleResource;
    expectCodecError(() => encodeTlv(bad, LwM2mPath.parse('/3/0/1'), SPEC_MODELS), 'INVALID_VALUE');
    expectCodecError(() => encodeTlv(newSingleResource(2, 'INTEGER', 1), LwM2mPath.parse('/3/0/1'), SPEC_MODELS), 'INVALID_STRUCTURE');
    expectCodecError(() => encodeTlv(newSingleResource(1, 'STRING', 'x'), LwM2mPath.parse('/3/0/1'), SPEC_MODELS, { strict: true }), 'INVALID_VALUE');
  });
});

describe('TLV round trip (property): decode(encode(x)) = x', () => {
  const base = `/${TEST_OBJECT_ID}`;
  it('single resources', () => {
    fc.assert(
      fc.property(singleResourceArb, (r) => {
        const p = LwM2mPath.parse(`${base}/0/${r.id}`);
        return nodesEqual(decodeTlv(encodeTlv(r, p, TEST_MODELS), p, TEST_MODELS, { strict: true }), r);
      }),
      { numRuns: 1000 },
    );
  });
  it('multiple resources and resource instances', () => {
    fc.assert(
      fc.property(multipleResourceArb, (r) => {
        const p = LwM2mPath.parse(`${base}/1/${r.id}`);
        if (!nodesEqual(decodeTlv(encodeTlv(r, p, TEST_MODELS), p, TEST_MODELS), r)) return false;
        for (const ri of r.instances.values()) {
          const rp = p.append(ri.id);
          if (!nodesEqual(decodeTlv(encodeTlv(ri, rp, TEST_MODELS), rp, TEST_MODELS), ri)) return false;
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });
  it('object instances (bare and wrapped) and objects', () => {
    fc.assert(
      fc.property(objectInstanceArb(), fc.boolean(), (inst, wrap) => {
        const p = LwM2mPath.parse(`${base}/${inst.id}`);
        return nodesEqual(decodeTlv(encodeTlv(inst, p, TEST_MODELS, { wrapObjectInstance: wrap }), p, TEST_MODELS), inst);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(objectArb, (obj) => {
        const p = LwM2mPath.parse(base);
        return nodesEqual(decodeTlv(encodeTlv(obj, p, TEST_MODELS), p, TEST_MODELS), obj);
      }),
      { numRuns: 200 },
    );
  });
  it('encode is canonical: encode(decode(encode(x))) = encode(x)', () => {
    fc.assert(
      fc.property(objectInstanceArb(7), (inst) => {
        const p = LwM2mPath.parse(`${base}/7`);
        const b = encodeTlv(inst, p, TEST_MODELS);
        return toHex(encodeTlv(decodeTlv(b, p, TEST_MODELS), p, TEST_MODELS)) === toHex(b);
      }),
      { numRuns: 200 },
    );
  });
  it('resource instance arbitrary sanity', () => {
    fc.assert(fc.property(resourceInstanceArb('FLOAT', 3), (ri) => ri.id === 3));
  });
});

describe('TLV fuzz: random and mutated bytes never throw anything but Lwm2mCodecError', () => {
  const valid = [
    SPEC_EXAMPLE,
    hex('86 06 41 00 01 41 01 05'),
    encodeTlv(newObjectInstance(1, [newSingleResource(300, 'STRING', 'x'.repeat(20)), newSingleResource(4, 'OPAQUE', new Uint8Array(260))]), LwM2mPath.parse(`/${TEST_OBJECT_ID}/1`), TEST_MODELS),
  ];
  const paths = ['/3', '/3/0', '/3/0/1', '/3/0/1/0', `/${TEST_OBJECT_ID}`, `/${TEST_OBJECT_ID}/0`, `/${TEST_OBJECT_ID}/0/106`, `/${TEST_OBJECT_ID}/0/1`].map((s) => LwM2mPath.parse(s));
  it('decode', () => {
    const models = staticModels([...TEST_MODELS_LIST(), model(3, { 1: 'INTEGER', 2: 'FLOAT', 3: 'BOOLEAN', 4: 'STRING' })]);
    fc.assert(
      fc.property(mutatedBytesArb(valid), fc.constantFrom(...paths), fc.boolean(), (bytes, p, strict) => {
        try {
          decodeTlv(bytes, p, models, { strict });
          parseTlv(bytes);
        } catch (e) {
          if (!(e instanceof Lwm2mCodecError)) throw e;
        }
      }),
      { numRuns: 20000 },
    );
  });
  it('codec object wraps the same functions', () => {
    expect(tlvCodec.formats).toEqual([11542, 1542]);
    expect(tlvCodec.supportsPath(LwM2mPath.ROOT)).toBe(false);
  });
});

function TEST_MODELS_LIST(): ObjectModel[] {
  const m = TEST_MODELS.getObjectModel(TEST_OBJECT_ID);
  return m ? [m] : [];
}
