/**
 * fast-check arbitraries for specs (test-only: `src/test/` is excluded from the build).
 * TEST_MODEL (object 60000) has, for every value type at index k of VALUE_TYPES, a single
 * resource k and a multiple resource 100 + k, plus resource 300 (16-bit id) of type STRING.
 */
import fc from 'fast-check';
import type { ObjectModel, ResourceModel } from '../model/types';
import { staticModels } from '../model/types';
import {
  canonicalInteger,
  VALUE_TYPES,
  type LwM2mMultipleResource,
  type LwM2mObject,
  type LwM2mObjectInstance,
  type LwM2mResource,
  type LwM2mResourceInstance,
  type LwM2mSingleResource,
  type ResourceValue,
  type ValueType,
} from '../node';

export const TEST_OBJECT_ID = 60000;

function rm(id: number, type: ValueType, multiple: boolean): ResourceModel {
  return { id, name: `r${id}`, operations: 'RW', multiple, mandatory: false, type, rangeEnumeration: '', units: '', description: '' };
}

const resources = new Map<number, ResourceModel>();
VALUE_TYPES.forEach((t, k) => {
  resources.set(k, rm(k, t, false));
  resources.set(100 + k, rm(100 + k, t, true));
});
resources.set(300, rm(300, 'STRING', false));

export const TEST_MODEL: ObjectModel = {
  id: TEST_OBJECT_ID,
  name: 'Test',
  description: '',
  version: '1.0',
  lwm2mVersion: '1.0',
  urn: '',
  multiple: true,
  mandatory: false,
  resources,
};
export const TEST_MODELS = staticModels([TEST_MODEL]);

const SEC = 8640000000000n;

export function valueArb(type: ValueType): fc.Arbitrary<ResourceValue> {
  switch (type) {
    case 'STRING':
    case 'CORELNK':
      return fc.string({ unit: 'binary', maxLength: 80 });
    case 'INTEGER':
      return fc.oneof(fc.integer({ min: -200, max: 200 }), fc.integer(), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n).map(canonicalInteger));
    case 'UNSIGNED_INTEGER':
      return fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.bigInt(0n, 2n ** 64n - 1n).map(canonicalInteger));
    case 'FLOAT':
      return fc.oneof(fc.double(), fc.float().map((f) => f));
    case 'BOOLEAN':
      return fc.boolean();
    case 'OPAQUE':
      return fc.uint8Array({ maxLength: 300 });
    case 'TIME':
      return fc.bigInt(-SEC, SEC).map((s) => new Date(Number(s) * 1000));
    case 'OBJLNK':
      return fc.record({ objectId: fc.integer({ min: 0, max: 65535 }), instanceId: fc.integer({ min: 0, max: 65535 }) });
  }
}

export const typeArb: fc.Arbitrary<ValueType> = fc.constantFrom(...VALUE_TYPES);

/** A single resource of TEST_MODEL (resource id k or 300). */
export const singleResourceArb: fc.Arbitrary<LwM2mSingleResource> = fc
  .oneof(fc.integer({ min: 0, max: VALUE_TYPES.length - 1 }), fc.constant(300))
  .chain((id) => {
    const type = id === 300 ? 'STRING' : (VALUE_TYPES[id] as ValueType);
    return valueArb(type).map((value) => ({ kind: 'singleResource', id, type, value }) as LwM2mSingleResource);
  });

export function resourceInstanceArb(type: ValueType, id?: number): fc.Arbitrary<LwM2mResourceInstance> {
  return fc
    .tuple(id === undefined ? fc.integer({ min: 0, max: 65535 }) : fc.constant(id), valueArb(type))
    .map(([i, value]) => ({ kind: 'resourceInstance', id: i, type, value }) as LwM2mResourceInstance);
}

export const multipleResourceArb: fc.Arbitrary<LwM2mMultipleResource> = fc.integer({ min: 0, max: VALUE_TYPES.length - 1 }).chain((k) => {
  const type = VALUE_TYPES[k] as ValueType;
  return fc
    .uniqueArray(resourceInstanceArb(type), { maxLength: 5, selector: (ri) => ri.id })
    .map((ris) => ({ kind: 'multipleResource', id: 100 + k, type, instances: new Map(ris.map((r) => [r.id, r])) }) as LwM2mMultipleResource);
});

export const resourceArb: fc.Arbitrary<LwM2mResource> = fc.oneof(singleResourceArb, multipleResourceArb);

export function objectInstanceArb(id?: number): fc.Arbitrary<LwM2mObjectInstance> {
  return fc
    .tuple(id === undefined ? fc.integer({ min: 0, max: 65535 }) : fc.constant(id), fc.uniqueArray(resourceArb, { maxLength: 8, selector: (r) => r.id }))
    .map(([iid, rs]) => ({ kind: 'objectInstance', id: iid, resources: new Map(rs.map((r) => [r.id, r])) }) as LwM2mObjectInstance);
}

export const objectArb: fc.Arbitrary<LwM2mObject> = fc
  .uniqueArray(objectInstanceArb(), { maxLength: 4, selector: (i) => i.id })
  .map((is) => ({ kind: 'object', id: TEST_OBJECT_ID, instances: new Map(is.map((i) => [i.id, i])) }) as LwM2mObject);

/** Random bytes, or a valid payload with a few bytes flipped / truncated / extended. */
export function mutatedBytesArb(valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const mutate = fc
    .tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.integer({ min: 0, max: 3 }))
    .map(([v, flips, cut, mode]) => {
      let b = Uint8Array.from(v);
      for (const [pos, val] of flips) if (b.length > 0) b[pos % b.length] = val;
      if (mode === 1) b = b.slice(0, cut % (b.length + 1));
      if (mode === 2) b = Uint8Array.from([...b, cut & 0xff]);
      return b;
    });
  return fc.oneof(fc.uint8Array({ maxLength: 64 }), mutate);
}
