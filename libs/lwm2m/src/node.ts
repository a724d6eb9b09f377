/**
 * LwM2M node tree (in the spirit of Leshan's core node model, written from scratch):
 * object → object instances → resources (single or multiple) → resource instances.
 *
 * Nodes are plain, immutable (readonly) objects discriminated by `kind`; create them
 * with the factory functions below (they validate ids and value types).
 *
 * Value representation per data type (see {@link ValueTypeMap}):
 * - STRING: `string`
 * - INTEGER: `number` when it is a safe integer, else `bigint` (64-bit range).
 *   Decoders always return the canonical form ({@link canonicalInteger}).
 * - UNSIGNED_INTEGER: same as INTEGER, range 0 .. 2^64-1.
 * - FLOAT: `number` (IEEE 754 double).
 * - BOOLEAN: `boolean`
 * - OPAQUE: `Uint8Array`
 * - TIME: `Date`. Chosen over epoch seconds so TIME is distinguishable from INTEGER at
 *   run time. Integer formats (TLV, text) carry whole seconds: encoders truncate
 *   sub-second precision (Math.floor of seconds); decoders produce `new Date(s * 1000)`.
 * - OBJLNK: `{ objectId, instanceId }` (each 0..65535).
 * - CORELNK: `string` (raw RFC 6690 text).
 */
import { Lwm2mCodecError } from './errors';
import { MAX_ID } from './path';

/** LwM2M data types. `NONE` is the "type" of executable resources without value. */
export type ResourceType =
  | 'STRING'
  | 'INTEGER'
  | 'UNSIGNED_INTEGER'
  | 'FLOAT'
  | 'BOOLEAN'
  | 'OPAQUE'
  | 'TIME'
  | 'OBJLNK'
  | 'CORELNK'
  | 'NONE';

/** Data types that carry a value (everything except NONE). */
export type ValueType = Exclude<ResourceType, 'NONE'>;

export const VALUE_TYPES: readonly ValueType[] = [
  'STRING',
  'INTEGER',
  'UNSIGNED_INTEGER',
  'FLOAT',
  'BOOLEAN',
  'OPAQUE',
  'TIME',
  'OBJLNK',
  'CORELNK',
];

/** Object link value. */
export interface ObjectLink {
  readonly objectId: number;
  readonly instanceId: number;
}

export interface ValueTypeMap {
  STRING: string;
  INTEGER: number | bigint;
  UNSIGNED_INTEGER: number | bigint;
  FLOAT: number;
  BOOLEAN: boolean;
  OPAQUE: Uint8Array;
  TIME: Date;
  OBJLNK: ObjectLink;
  CORELNK: string;
}

/** A value tagged with its type; `type` narrows `value`. */
export type TypedValue = { [K in ValueType]: { readonly type: K; readonly value: ValueTypeMap[K] } }[ValueType];

/** Any resource value (untagged). */
export type ResourceValue = ValueTypeMap[ValueType];

export type LwM2mResourceInstance = { readonly kind: 'resourceInstance'; readonly id: number } & TypedValue;
export type LwM2mSingleResource = { readonly kind: 'singleResource'; readonly id: number } & TypedValue;

export interface LwM2mMultipleResource {
  readonly kind: 'multipleResource';
  readonly id: number;
  readonly type: ValueType;
  /** Instances by id; every instance has this resource's `type`. */
  readonly instances: ReadonlyMap<number, LwM2mResourceInstance>;
}

export type LwM2mResource = LwM2mSingleResource | LwM2mMultipleResource;

export interface LwM2mObjectInstance {
  readonly kind: 'objectInstance';
  readonly id: number;
  readonly resources: ReadonlyMap<number, LwM2mResource>;
}

export interface LwM2mObject {
  readonly kind: 'object';
  readonly id: number;
  readonly instances: ReadonlyMap<number, LwM2mObjectInstance>;
}

export type LwM2mNode = LwM2mObject | LwM2mObjectInstance | LwM2mResource | LwM2mResourceInstance;
export type LwM2mNodeKind = LwM2mNode['kind'];

/** A node with the time it was measured (epoch seconds, may be fractional; undefined = "now"/unknown). */
export interface TimestampedLwM2mNode<N extends LwM2mNode = LwM2mNode> {
  readonly timestamp: number | undefined;
  readonly node: N;
}

/**
 * Nodes at several paths and several timestamps (SenML / LwM2M JSON with times, composite
 * notifications). Entries are ordered by timestamp as produced by the decoder; each entry
 * maps a path string (`LwM2mPath.toString()`) to the node at that path.
 */
export interface TimestampedLwM2mNodes {
  readonly entries: readonly TimestampedNodesEntry[];
}
export interface TimestampedNodesEntry {
  readonly timestamp: number | undefined;
  readonly nodes: ReadonlyMap<string, LwM2mNode>;
}

// ---------------------------------------------------------------------------------------
// value checks

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** `bigint` → `number` when safe; numbers stay numbers. */
export function canonicalInteger(v: number | bigint): number | bigint {
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  return v;
}

function isId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_ID;
}

/** Human-readable reason why `value` is not a valid `type` value, or undefined if it is valid. */
export function valueProblem(type: ValueType, value: unknown): string | undefined {
  switch (type) {
    case 'STRING':
    case 'CORELNK':
      return typeof value === 'string' ? undefined : 'expected string';
    case 'INTEGER':
      if (typeof value === 'number') return Number.isSafeInteger(value) ? undefined : 'expected safe integer number';
      if (typeof value === 'bigint') return value >= INT64_MIN && value <= INT64_MAX ? undefined : 'outside int64';
      return 'expected integer';
    case 'UNSIGNED_INTEGER':
      if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? undefined : 'expected non-negative safe integer';
      if (typeof value === 'bigint') return value >= 0n && value <= UINT64_MAX ? undefined : 'outside uint64';
      return 'expected unsigned integer';
    case 'FLOAT':
      return typeof value === 'number' ? undefined : 'expected number';
    case 'BOOLEAN':
      return typeof value === 'boolean' ? undefined : 'expected boolean';
    case 'OPAQUE':
      return value instanceof Uint8Array ? undefined : 'expected Uint8Array';
    case 'TIME':
      return value instanceof Date && !Number.isNaN(value.getTime()) ? undefined : 'expected valid Date';
    case 'OBJLNK': {
      if (typeof value !== 'object' || value === null) return 'expected {objectId, instanceId}';
      const l = value as Partial<ObjectLink>;
      return isId(l.objectId) && isId(l.instanceId) ? undefined : 'objlnk ids must be 0..65535';
    }
  }
}

function assertValue(type: ValueType, value: unknown): void {
  const p = valueProblem(type, value);
  if (p !== undefined) throw new Lwm2mCodecError('INVALID_VALUE', `${type}: ${p}`);
}

function assertId(id: number, what: string): void {
  if (!isId(id)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${what} id ${String(id)} not in 0..${MAX_ID}`);
}

// ---------------------------------------------------------------------------------------
// factories (validate; throw Lwm2mCodecError INVALID_VALUE / INVALID_STRUCTURE)

export function newResourceInstance<T extends ValueType>(id: number, type: T, value: ValueTypeMap[T]): LwM2mResourceInstance {
  assertId(id, 'resource instance');
  assertValue(type, value);
  const v = type === 'INTEGER' || type === 'UNSIGNED_INTEGER' ? canonicalInteger(value as number | bigint) : value;
  return { kind: 'resourceInstance', id, type, value: v } as LwM2mResourceInstance;
}

export function newSingleResource<T extends ValueType>(id: number, type: T, value: ValueTypeMap[T]): LwM2mSingleResource {
  assertId(id, 'resource');
  assertValue(type, value);
  const v = type === 'INTEGER' || type === 'UNSIGNED_INTEGER' ? canonicalInteger(value as number | bigint) : value;
  return { kind: 'singleResource', id, type, value: v } as LwM2mSingleResource;
}

/** Multiple resource from `{instanceId: value}` pairs (a Map, an array of pairs, or a record). */
export function newMultipleResource<T extends ValueType>(
  id: number,
  type: T,
  values: ReadonlyMap<number, ValueTypeMap[T]> | Iterable<readonly [number, ValueTypeMap[T]]> | Record<number, ValueTypeMap[T]>,
): LwM2mMultipleResource {
  assertId(id, 'resource');
  const pairs: Iterable<readonly [number, ValueTypeMap[T]]> =
    values instanceof Map || Symbol.iterator in (values as object)
      ? (values as Iterable<readonly [number, ValueTypeMap[T]]>)
      : Object.entries(values as Record<number, ValueTypeMap[T]>).map(([k, v]) => [Number(k), v] as const);
  const instances = new Map<number, LwM2mResourceInstance>();
  for (const [iid, v] of pairs) instances.set(iid, newResourceInstance(iid, type, v));
  return { kind: 'multipleResource', id, type, instances };
}

/** Multiple resource from already built resource instances (all must have `type`). */
export function multipleResourceOf(id: number, type: ValueType, instances: Iterable<LwM2mResourceInstance>): LwM2mMultipleResource {
  assertId(id, 'resource');
  const m = new Map<number, LwM2mResourceInstance>();
  for (const ri of instances) {
    if (ri.type !== type) throw new Lwm2mCodecError('INVALID_VALUE', `resource instance ${ri.id} is ${ri.type}, expected ${type}`);
    m.set(ri.id, ri);
  }
  return { kind: 'multipleResource', id, type, instances: m };
}

export function newObjectInstance(id: number, resources: Iterable<LwM2mResource>): LwM2mObjectInstance {
  assertId(id, 'object instance');
  const m = new Map<number, LwM2mResource>();
  for (const r of resources) m.set(r.id, r);
  return { kind: 'objectInstance', id, resources: m };
}

export function newObject(id: number, instances: Iterable<LwM2mObjectInstance>): LwM2mObject {
  assertId(id, 'object');
  const m = new Map<number, LwM2mObjectInstance>();
  for (const i of instances) m.set(i.id, i);
  return { kind: 'object', id, instances: m };
}

// ---------------------------------------------------------------------------------------
// helpers

/** Deep structural equality of two nodes (Dates by time, bytes by content, integers by value). */
export function nodesEqual(a: LwM2mNode, b: LwM2mNode): boolean {
  if (a.kind !== b.kind || a.id !== b.id) return false;
  switch (a.kind) {
    case 'object': {
      const bi = (b as LwM2mObject).instances;
      return mapsEqual(a.instances, bi);
    }
    case 'objectInstance':
      return mapsEqual(a.resources, (b as LwM2mObjectInstance).resources);
    case 'multipleResource': {
      const bm = b as LwM2mMultipleResource;
      return a.type === bm.type && mapsEqual(a.instances, bm.instances);
    }
    case 'singleResource':
    case 'resourceInstance': {
      const bv = b as LwM2mSingleResource | LwM2mResourceInstance;
      return a.type === bv.type && valuesEqual(a.type, a.value, bv.value);
    }
  }
}

function mapsEqual<N extends LwM2mNode>(a: ReadonlyMap<number, N>, b: ReadonlyMap<number, N>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !nodesEqual(v, w)) return false;
  }
  return true;
}

/** Value equality for one data type (FLOAT: NaN equals NaN, +0 equals -0 only if both are the same sign). */
export function valuesEqual(type: ValueType, a: unknown, b: unknown): boolean {
  switch (type) {
    case 'OPAQUE': {
      const x = a as Uint8Array;
      const y = b as Uint8Array;
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
      return true;
    }
    case 'TIME':
      return (a as Date).getTime() === (b as Date).getTime();
    case 'OBJLNK': {
      const x = a as ObjectLink;
      const y = b as ObjectLink;
      return x.objectId === y.objectId && x.instanceId === y.instanceId;
    }
    case 'INTEGER':
    case 'UNSIGNED_INTEGER':
      return (a as number | bigint) == (b as number | bigint);
    case 'FLOAT':
      return Object.is(a, b);
    default:
      return a === b;
  }
}

/** The value of a single resource / resource instance as JSON-friendly data (for logs, storage). */
export function valueToJson(v: TypedValue): string | number | boolean | { objectId: number; instanceId: number } {
  switch (v.type) {
    case 'INTEGER':
    case 'UNSIGNED_INTEGER':
      return typeof v.value === 'bigint' ? v.value.toString() : v.value;
    case 'OPAQUE':
      return Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64');
    case 'TIME':
      return Math.floor(v.value.getTime() / 1000);
    case 'OBJLNK':
      return { objectId: v.value.objectId, instanceId: v.value.instanceId };
    default:
      return v.value;
  }
}
