/**
 * Test support for the record-format specs (not exported from the library): a model
 * with one single and one multiple resource of every data type, and fast-check
 * arbitraries of nodes that fit it.
 */
import fc from 'fast-check';
import {
  canonicalInteger,
  newMultipleResource,
  newObject,
  newObjectInstance,
  newSingleResource,
  type LwM2mMultipleResource,
  type LwM2mNode,
  type LwM2mObjectInstance,
  type LwM2mResource,
  type ValueType,
  type ValueTypeMap,
} from '../node';
import { LwM2mPath } from '../path';
import type { ObjectModel, ResourceModel } from '../model/types';

export const TEST_OBJECT_ID = 9999;

/** Single resources 0..8, multiple resources 10..18, in this type order. */
export const TEST_TYPES: readonly ValueType[] = ['STRING', 'INTEGER', 'UNSIGNED_INTEGER', 'FLOAT', 'BOOLEAN', 'OPAQUE', 'TIME', 'OBJLNK', 'CORELNK'];

function res(id: number, type: ValueType, multiple: boolean): ResourceModel {
  return { id, name: `r${id}`, operations: 'RW', multiple, mandatory: false, type, rangeEnumeration: '', units: '', description: '' };
}

export const TEST_OBJECT_MODEL: ObjectModel = {
  id: TEST_OBJECT_ID,
  name: 'All types',
  description: '',
  version: '1.0',
  lwm2mVersion: '1.1',
  urn: '',
  multiple: true,
  mandatory: false,
  resources: new Map<number, ResourceModel>([
    ...TEST_TYPES.map((t, i) => [i, res(i, t, false)] as const),
    ...TEST_TYPES.map((t, i) => [10 + i, res(10 + i, t, true)] as const),
  ]),
};

// ---------------------------------------------------------------------------------------
// fast-check arbitraries (used by the specs only)

export interface ArbOptions {
  /** JSON formats: integers within ±2^53 only, no NaN / ±Infinity. */
  json: boolean;
  /** CBOR formats: no -0 (cbor-x writes integral floats as integers). */
  cbor: boolean;
}

export function valueArb(type: ValueType, o: ArbOptions): fc.Arbitrary<ValueTypeMap[ValueType]> {
  const I64 = 2n ** 63n;
  switch (type) {
    case 'STRING':
    case 'CORELNK':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
    case 'INTEGER':
      return o.json ? fc.maxSafeInteger() : fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -I64, max: I64 - 1n }).map(canonicalInteger));
    case 'UNSIGNED_INTEGER':
      return o.json ? fc.maxSafeNat() : fc.oneof(fc.maxSafeNat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(canonicalInteger));
    case 'FLOAT':
      return fc.double({ noNaN: o.json, noDefaultInfinity: o.json }).filter((d) => !(o.cbor && Object.is(d, -0)));
    case 'BOOLEAN':
      return fc.boolean();
    case 'OPAQUE':
      return fc.uint8Array({ maxLength: 16 });
    case 'TIME':
      return fc.integer({ min: -1e10, max: 1e10 }).map((s) => new Date(s * 1000));
    case 'OBJLNK':
      return fc.record({ objectId: fc.integer({ min: 0, max: 65535 }), instanceId: fc.integer({ min: 0, max: 65535 }) });
  }
}

const id16 = fc.integer({ min: 0, max: 65535 });

export function resourceArb(rid: number, o: ArbOptions): fc.Arbitrary<LwM2mResource> {
  const multiple = rid >= 10;
  const type = TEST_TYPES[multiple ? rid - 10 : rid] as ValueType;
  if (!multiple) return valueArb(type, o).map((v) => newSingleResource(rid, type, v as never));
  return fc
    .uniqueArray(fc.tuple(id16, valueArb(type, o)), { minLength: 1, maxLength: 3, selector: (t) => t[0] })
    .map((pairs) => newMultipleResource(rid, type, pairs as never));
}

const RIDS = [...TEST_TYPES.keys(), ...TEST_TYPES.keys()].map((i, k) => (k < TEST_TYPES.length ? i : i + 10));

export function instanceArb(iid: number, o: ArbOptions): fc.Arbitrary<LwM2mObjectInstance> {
  return fc
    .subarray(RIDS, { minLength: 1 })
    .chain((rids) => fc.tuple(...rids.map((r) => resourceArb(r, o))))
    .map((rs) => newObjectInstance(iid, rs));
}

/** A node of the test object at a matching path (object, instance, resource or resource instance). */
export function nodeAtPathArb(o: ArbOptions): fc.Arbitrary<{ node: LwM2mNode; path: LwM2mPath }> {
  const oid = TEST_OBJECT_ID;
  const object = fc
    .uniqueArray(id16, { minLength: 1, maxLength: 3 })
    .chain((iids) => fc.tuple(...iids.map((i) => instanceArb(i, o))))
    .map((is) => ({ node: newObject(oid, is) as LwM2mNode, path: LwM2mPath.of(oid) }));
  const instance = id16.chain((iid) => instanceArb(iid, o).map((n) => ({ node: n as LwM2mNode, path: LwM2mPath.of(oid, iid) })));
  const resource = fc
    .tuple(id16, fc.constantFrom(...RIDS))
    .chain(([iid, rid]) => resourceArb(rid, o).map((n) => ({ node: n as LwM2mNode, path: LwM2mPath.of(oid, iid, rid) })));
  const resourceInstance = fc.tuple(id16, fc.integer({ min: 10, max: 18 })).chain(([iid, rid]) =>
    resourceArb(rid, o).map((r) => {
      const ri = [...(r as LwM2mMultipleResource).instances.values()][0] as LwM2mNode;
      return { node: ri, path: LwM2mPath.of(oid, iid, rid, ri.id) };
    }),
  );
  return fc.oneof(object, instance, resource, resourceInstance);
}
