/**
 * Shared machinery of the record-style formats (SenML JSON / CBOR, LwM2M JSON, LwM2M
 * CBOR): (path, time, typed value) entries ⇄ LwM2M nodes, type resolution through the
 * object model, time resolution (RFC 8428 §4.5.3), limits and error guarding.
 *
 * Every public decoder / encoder of these formats runs inside {@link guard}, so nothing
 * but {@link Lwm2mCodecError} ever escapes.
 */
import {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type CodecOptions,
  type MultiNodeCodec,
  type NodeCodec,
  type TimestampedNodeCodec,
} from '../../content-format';
import { Lwm2mCodecError } from '../../errors';
import type { ModelProvider } from '../../model/types';
import {
  canonicalInteger,
  valueProblem,
  type LwM2mMultipleResource,
  type LwM2mNode,
  type LwM2mObject,
  type LwM2mObjectInstance,
  type LwM2mResource,
  type LwM2mResourceInstance,
  type LwM2mSingleResource,
  type TimestampedLwM2mNode,
  type TimestampedLwM2mNodes,
  type TypedValue,
  type ValueType,
} from '../../node';
import { LwM2mPath } from '../../path';

/** Options of the record-style codecs (a superset of the library's CodecOptions). */
export interface RecordCodecOptions extends CodecOptions {
  /**
   * "Now" in epoch seconds, used for relative times (RFC 8428: resolved times below
   * 2^28). A number or a function; default `Date.now() / 1000`.
   */
  readonly now?: number | (() => number);
  /** Maximum number of records / leaf values in one payload (default 10 000). */
  readonly maxRecords?: number;
}

export const DEFAULT_MAX_RECORDS = 10_000;
/** RFC 8428 §4.5.3: resolved times below 2^28 are relative to "now". */
export const RELATIVE_TIME_LIMIT = 2 ** 28;
/** Largest |time| accepted, in seconds (the JS Date range). */
const MAX_TIME_SECONDS = 8.64e12;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

export function maxRecords(options: RecordCodecOptions | undefined): number {
  return options?.maxRecords ?? DEFAULT_MAX_RECORDS;
}
export function maxDepth(options: CodecOptions | undefined): number {
  return options?.maxDepth ?? DEFAULT_MAX_DEPTH;
}

/** Payload must be a Uint8Array within the size cap. */
export function checkPayload(payload: unknown, options: CodecOptions | undefined): asserts payload is Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'payload is not a Uint8Array');
  const max = options?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (payload.length > max) throw new Lwm2mCodecError('PAYLOAD_TOO_LARGE', `payload ${payload.length} bytes > ${max}`);
}

/** Run `fn`; any exception other than Lwm2mCodecError becomes one (INVALID_STRUCTURE). */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Lwm2mCodecError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new Lwm2mCodecError('INVALID_STRUCTURE', msg.slice(0, 200));
  }
}

function nowSeconds(options: RecordCodecOptions | undefined): number {
  const n = options?.now;
  if (typeof n === 'number') return n;
  if (typeof n === 'function') return n();
  return Date.now() / 1000;
}

/** A time resolver bound to one decode call ("now" read at most once). */
export function timeResolver(options: RecordCodecOptions | undefined): (resolved: number) => number {
  let now: number | undefined;
  return (resolved) => {
    if (!Number.isFinite(resolved) || Math.abs(resolved) > MAX_TIME_SECONDS) {
      throw new Lwm2mCodecError('INVALID_VALUE', `time ${String(resolved)} out of range`);
    }
    if (resolved >= RELATIVE_TIME_LIMIT) return resolved;
    now ??= nowSeconds(options);
    return now + resolved;
  };
}

/** Bounded cache of parsed record names (paths are immutable; devices repeat the same names). */
const PATH_CACHE_MAX = 4096;
const pathCache = new Map<string, LwM2mPath>();

/**
 * Parse a resolved record name (`/3/0/7/1`, leading `/` required, 1–4 decimal ids
 * without leading zeros, 0..65535) into a path. Cached. Throws INVALID_STRUCTURE.
 */
export function parseRecordPath(name: string): LwM2mPath {
  const hit = pathCache.get(name);
  if (hit !== undefined) return hit;
  const ids: number[] = [];
  const n = name.length;
  let ok = n >= 2 && n <= 24 && name.charCodeAt(0) === 47;
  let i = 1;
  while (ok && i < n) {
    const start = i;
    let v = 0;
    while (i < n) {
      const c = name.charCodeAt(i);
      if (c === 47) break;
      if (c < 48 || c > 57) {
        ok = false;
        break;
      }
      v = v * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    if (!ok || len === 0 || len > 5 || (len > 1 && name.charCodeAt(start) === 48) || v > 65535 || ids.length === 4) ok = false;
    else ids.push(v);
    if (i < n) {
      i++; // skip '/'
      if (i === n) ok = false; // trailing slash
    }
  }
  if (!ok || ids.length === 0) throw new Lwm2mCodecError('INVALID_STRUCTURE', `record name "${name.slice(0, 60)}" is not an LwM2M path`);
  const path = LwM2mPath.of(...ids);
  if (pathCache.size >= PATH_CACHE_MAX) pathCache.clear();
  pathCache.set(name, path);
  return path;
}

/** Same as parseRecordPath, but the path must address a value (depth 3 or 4). */
export function parseValuePath(name: string): LwM2mPath {
  const path = parseRecordPath(name);
  if (path.depth < 3) throw new Lwm2mCodecError('INVALID_STRUCTURE', `record name "${name.slice(0, 60)}" does not address a resource`);
  return path;
}

// ---------------------------------------------------------------------------------------
// types

export interface ResolvedType {
  /** Data type from the model, else the inferred one. */
  type: ValueType;
  /** Whether the resource is multiple-instance; undefined when the model does not say. */
  multiple: boolean | undefined;
}

/**
 * Type of the resource at `path` (depth ≥ 3) from the model, else `inferred` (strict:
 * unknown object / resource is an error).
 */
export function resolveType(models: ModelProvider, path: LwM2mPath, options: CodecOptions | undefined, inferred: ValueType): ResolvedType {
  const om = models.getObjectModel(path.objectId as number);
  const strict = options?.strict === true;
  if (om === undefined) {
    if (strict) throw new Lwm2mCodecError('UNKNOWN_OBJECT', `object ${path.objectId} not in model`);
    return { type: inferred, multiple: undefined };
  }
  const rm = om.resources.get(path.resourceId as number);
  if (rm === undefined) {
    if (strict) throw new Lwm2mCodecError('UNKNOWN_RESOURCE', `resource /${path.objectId}/x/${path.resourceId} not in model`);
    return { type: inferred, multiple: undefined };
  }
  return { type: rm.type === 'NONE' ? inferred : rm.type, multiple: rm.multiple };
}

// ---------------------------------------------------------------------------------------
// value conversion helpers

/** A JS number / bigint as an LwM2M integer of the given signedness (exact; range-checked). */
export function toInteger(v: unknown, unsigned: boolean): number | bigint {
  let b: bigint;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Lwm2mCodecError('INVALID_VALUE', `${v} is not an integer`);
    if (!Number.isSafeInteger(v)) throw new Lwm2mCodecError('INVALID_VALUE', `${v} is beyond 2^53 and not exact`);
    if (unsigned && v < 0) throw new Lwm2mCodecError('INVALID_VALUE', `${v} is negative for an unsigned integer`);
    return Object.is(v, -0) ? 0 : v;
  }
  if (typeof v === 'bigint') b = v;
  else throw new Lwm2mCodecError('INVALID_VALUE', `expected a number, got ${typeof v}`);
  if (unsigned ? b < 0n || b > UINT64_MAX : b < INT64_MIN || b > INT64_MAX) {
    throw new Lwm2mCodecError('INVALID_VALUE', `${b} out of ${unsigned ? 'uint64' : 'int64'} range`);
  }
  return canonicalInteger(b);
}

export function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new Lwm2mCodecError('INVALID_VALUE', `expected a number, got ${typeof v}`);
}

/** TIME from seconds (number / bigint). */
export function toTime(v: unknown): Date {
  const s = typeof v === 'bigint' ? Number(v) : v;
  if (typeof s !== 'number' || !Number.isFinite(s) || Math.abs(s) > MAX_TIME_SECONDS) {
    throw new Lwm2mCodecError('INVALID_VALUE', `time ${String(v)} out of range`);
  }
  return new Date(s * 1000);
}

/** TIME → whole epoch seconds (sub-second precision truncated, like the other codecs). */
export function timeSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

const OBJLNK_RE = /^([0-9]{1,5}):([0-9]{1,5})$/;

export function parseObjlnk(s: unknown): { objectId: number; instanceId: number } {
  const m = typeof s === 'string' ? OBJLNK_RE.exec(s) : null;
  const o = m ? Number(m[1]) : -1;
  const i = m ? Number(m[2]) : -1;
  if (!m || o > 65535 || i > 65535) throw new Lwm2mCodecError('INVALID_VALUE', `"${String(s).slice(0, 40)}" is not an objlnk (oid:iid)`);
  return { objectId: o, instanceId: i };
}

export function formatObjlnk(v: { objectId: number; instanceId: number }): string {
  return `${v.objectId}:${v.instanceId}`;
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL_RE = /^[A-Za-z0-9_-]*={0,2}$/;

/** Base64 or base64url text (padding optional) → bytes. */
export function decodeBase64Any(s: unknown): Uint8Array {
  if (typeof s !== 'string' || s.length % 4 === 1 || !(B64_RE.test(s) || B64URL_RE.test(s))) {
    throw new Lwm2mCodecError('INVALID_VALUE', 'opaque value is not base64 / base64url');
  }
  const pad = s.indexOf('=');
  if (pad >= 0 && (s.length % 4 !== 0 || pad < s.length - 2)) throw new Lwm2mCodecError('INVALID_VALUE', 'bad base64 padding');
  return new Uint8Array(Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64'));
}

export function encodeBase64Url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}
export function encodeBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** Checks a typed value coming from a caller-built node. */
export function checkTypedValue(v: TypedValue, where: string): void {
  const p = valueProblem(v.type, v.value);
  if (p !== undefined) throw new Lwm2mCodecError('INVALID_VALUE', `${where}: ${v.type}: ${p}`);
}

// ---------------------------------------------------------------------------------------
// entries ⇄ nodes

/** One value at a resource / resource-instance path. */
export interface ValueEntry {
  readonly path: LwM2mPath;
  readonly value: TypedValue;
}

/** One value with its resolved time (epoch seconds; undefined = no time given). */
export interface TimedValueEntry extends ValueEntry {
  readonly time: number | undefined;
}

/** Per path, the value with the latest time (no time = "now" = latest; ties: later record wins). */
export function latestPerPath(entries: readonly TimedValueEntry[]): ValueEntry[] {
  const best = new Map<string, TimedValueEntry>();
  for (const e of entries) {
    const key = e.path.toString();
    const prev = best.get(key);
    if (prev === undefined || (e.time ?? Infinity) >= (prev.time ?? Infinity)) best.set(key, e);
  }
  return [...best.values()];
}

/** Groups entries by time, in order of first appearance; within a group a later duplicate path wins. */
export function groupByTime(entries: readonly TimedValueEntry[]): { time: number | undefined; entries: ValueEntry[] }[] {
  const groups = new Map<number | undefined, Map<string, ValueEntry>>();
  for (const e of entries) {
    let g = groups.get(e.time);
    if (!g) {
      g = new Map();
      groups.set(e.time, g);
    }
    g.set(e.path.toString(), e);
  }
  return [...groups].map(([time, g]) => ({ time, entries: [...g.values()] }));
}

/** Map entries in ascending key order (no copy-and-sort when already ascending). */
function ascending<T>(m: ReadonlyMap<number, T>): Iterable<[number, T]> {
  let prev = -1;
  for (const k of m.keys()) {
    if (k <= prev) return [...m].sort((a, b) => a[0] - b[0]);
    prev = k;
  }
  return m as Iterable<[number, T]>;
}

interface ResourceAcc {
  type: ValueType;
  single?: TypedValue;
  instances?: Map<number, TypedValue>;
}

/**
 * Build the node at `target` (depth 1–4) from value entries. Multiple vs single follows
 * the model, else the entry depth. Throws INVALID_STRUCTURE when an entry lies outside
 * `target`, mixes single/multiple, or a resource / resource instance is missing.
 */
export function buildNode(target: LwM2mPath, entries: readonly ValueEntry[], models: ModelProvider, _options: CodecOptions | undefined): LwM2mNode {
  if (target.depth === 0) throw new Lwm2mCodecError('UNSUPPORTED_PATH', 'a single node cannot be rooted at /');
  const byInstance = new Map<number, Map<number, ResourceAcc>>();
  const om = models.getObjectModel(target.objectId as number);
  for (const e of entries) {
    const p = e.path;
    if (!target.isPrefixOf(p)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${p.toString()} is outside the requested path ${target.toString()}`);
    if (p.depth < 3) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${p.toString()} does not address a resource`);
    const iid = p.objectInstanceId as number;
    const rid = p.resourceId as number;
    const multiple = om?.resources.get(rid)?.multiple;
    const isInstance = p.depth === 4;
    if (multiple === true && !isInstance) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${p.toString()} is a multiple resource: values need a resource-instance path`);
    if (multiple === false && isInstance) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${p.parent().toString()} is a single resource`);
    let res = byInstance.get(iid);
    if (!res) {
      res = new Map();
      byInstance.set(iid, res);
    }
    let acc = res.get(rid);
    if (!acc) {
      acc = { type: e.value.type };
      res.set(rid, acc);
    } else if (acc.type !== e.value.type) {
      throw new Lwm2mCodecError('INVALID_VALUE', `${p.toString()}: mixed value types ${acc.type} / ${e.value.type}`);
    }
    if (isInstance) {
      if (acc.single !== undefined) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${p.parent().toString()} given both as single and multiple`);
      acc.instances ??= new Map();
      acc.instances.set(p.resourceInstanceId as number, e.value);
    } else {
      if (acc.instances !== undefined) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${p.toString()} given both as single and multiple`);
      acc.single = e.value;
    }
  }

  const resourceNode = (rid: number, acc: ResourceAcc): LwM2mResource => {
    if (acc.single !== undefined) return { kind: 'singleResource', id: rid, ...acc.single } as LwM2mSingleResource;
    const instances = new Map<number, LwM2mResourceInstance>();
    for (const [riid, v] of ascending(acc.instances ?? new Map<number, TypedValue>())) {
      instances.set(riid, { kind: 'resourceInstance', id: riid, ...v } as LwM2mResourceInstance);
    }
    return { kind: 'multipleResource', id: rid, type: acc.type, instances } as LwM2mMultipleResource;
  };
  const instanceNode = (iid: number, res: Map<number, ResourceAcc> | undefined): LwM2mObjectInstance => {
    const resources = new Map<number, LwM2mResource>();
    for (const [rid, acc] of ascending(res ?? new Map<number, ResourceAcc>())) resources.set(rid, resourceNode(rid, acc));
    return { kind: 'objectInstance', id: iid, resources };
  };

  switch (target.depth) {
    case 1: {
      const instances = new Map<number, LwM2mObjectInstance>();
      for (const [iid, res] of ascending(byInstance)) instances.set(iid, instanceNode(iid, res));
      return { kind: 'object', id: target.objectId as number, instances } as LwM2mObject;
    }
    case 2:
      return instanceNode(target.objectInstanceId as number, byInstance.get(target.objectInstanceId as number));
    case 3: {
      const acc = byInstance.get(target.objectInstanceId as number)?.get(target.resourceId as number);
      if (acc === undefined) {
        const m = models.getObjectModel(target.objectId as number)?.resources.get(target.resourceId as number);
        if (m?.multiple === true) {
          return { kind: 'multipleResource', id: target.resourceId as number, type: m.type === 'NONE' ? 'OPAQUE' : m.type, instances: new Map() } as LwM2mMultipleResource;
        }
        throw new Lwm2mCodecError('INVALID_STRUCTURE', `no value for ${target.toString()}`);
      }
      return resourceNode(target.resourceId as number, acc);
    }
    default: {
      const v = byInstance.get(target.objectInstanceId as number)?.get(target.resourceId as number)?.instances?.get(target.resourceInstanceId as number);
      if (v === undefined) throw new Lwm2mCodecError('INVALID_STRUCTURE', `no value for ${target.toString()}`);
      return { kind: 'resourceInstance', id: target.resourceInstanceId as number, ...v } as LwM2mResourceInstance;
    }
  }
}

const KIND_DEPTH: Record<LwM2mNode['kind'], number> = {
  object: 1,
  objectInstance: 2,
  singleResource: 3,
  multipleResource: 3,
  resourceInstance: 4,
};

/**
 * Flatten `node` (at `path`) into value entries, ids ascending (canonical order).
 * Checks that the node fits the path and, when strict, matches the model's types.
 */
export function flattenNode(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options: CodecOptions | undefined): ValueEntry[] {
  if (typeof node !== 'object' || node === null || !(node.kind in KIND_DEPTH)) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'not an LwM2M node');
  const ids = path.toIds();
  if (KIND_DEPTH[node.kind] !== path.depth || ids[ids.length - 1] !== node.id) {
    throw new Lwm2mCodecError('INVALID_STRUCTURE', `${node.kind} ${String(node.id)} does not fit ${path.toString()}`);
  }
  const out: ValueEntry[] = [];
  const strict = options?.strict === true;
  const push = (p: LwM2mPath, v: TypedValue): void => {
    checkTypedValue(v, p.toString());
    if (strict) {
      const { type } = resolveType(models, p, options, v.type);
      if (type !== v.type) throw new Lwm2mCodecError('INVALID_VALUE', `${p.toString()} is ${type}, node is ${v.type}`);
    }
    out.push({ path: p, value: { type: v.type, value: v.value } as TypedValue });
  };
  const sorted = ascending;
  const walkResource = (p: LwM2mPath, r: LwM2mResource): void => {
    if (r.kind === 'singleResource') {
      push(p, r);
      return;
    }
    for (const [riid, ri] of sorted(r.instances)) {
      if (ri.id !== riid) throw new Lwm2mCodecError('INVALID_STRUCTURE', `resource instance key ${riid} ≠ id ${ri.id}`);
      if (ri.type !== r.type) throw new Lwm2mCodecError('INVALID_VALUE', `${p.toString()}/${riid} is ${ri.type}, resource is ${r.type}`);
      push(p.append(riid), ri);
    }
  };
  const walkInstance = (p: LwM2mPath, oi: LwM2mObjectInstance): void => {
    for (const [rid, r] of sorted(oi.resources)) {
      if (r.id !== rid) throw new Lwm2mCodecError('INVALID_STRUCTURE', `resource key ${rid} ≠ id ${r.id}`);
      walkResource(p.append(rid), r);
    }
  };
  guardIds(() => {
    switch (node.kind) {
      case 'object':
        for (const [iid, oi] of sorted(node.instances)) {
          if (oi.id !== iid) throw new Lwm2mCodecError('INVALID_STRUCTURE', `instance key ${iid} ≠ id ${oi.id}`);
          walkInstance(path.append(iid), oi);
        }
        break;
      case 'objectInstance':
        walkInstance(path, node);
        break;
      case 'singleResource':
      case 'multipleResource':
        walkResource(path, node);
        break;
      case 'resourceInstance':
        push(path, node);
        break;
    }
  });
  return out;
}

/** LwM2mPath.append throws LwM2mPathError on bad ids; report it as a codec error. */
function guardIds(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof Lwm2mCodecError) throw e;
    throw new Lwm2mCodecError('INVALID_STRUCTURE', e instanceof Error ? e.message : String(e));
  }
}

/** Relative name of `p` below base path text `bn` (which ends with `/` or equals p). */
export function relativeName(bn: string, p: LwM2mPath): string {
  const full = p.toString();
  return full === bn ? '' : full.slice(bn.length);
}

/** Base name used by the encoders: the path itself for values, `path/` for containers. */
export function baseNameFor(node: LwM2mNode, path: LwM2mPath): string {
  return node.kind === 'singleResource' || node.kind === 'resourceInstance' ? path.toString() : path.depth === 0 ? '/' : `${path.toString()}/`;
}

// ---------------------------------------------------------------------------------------
// codec types with the record-format options visible to callers

/** A single-path record codec whose operations accept {@link RecordCodecOptions}. */
export interface RecordNodeCodec extends NodeCodec {
  decode(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): LwM2mNode;
  encode(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array;
}

/** Timestamped record codec (LwM2M JSON). */
export interface RecordTimestampedCodec extends RecordNodeCodec, TimestampedNodeCodec {
  decode(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): LwM2mNode;
  encode(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array;
  decodeTimestamped(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): TimestampedLwM2mNode[];
  encodeTimestamped(nodes: readonly TimestampedLwM2mNode[], path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array;
}

/** Multi-path record codec (LwM2M CBOR). */
export interface RecordMultiNodeCodec extends RecordNodeCodec, MultiNodeCodec {
  decode(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): LwM2mNode;
  encode(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array;
  decodeNodes(payload: Uint8Array, paths: readonly LwM2mPath[] | undefined, models: ModelProvider, options?: RecordCodecOptions): Map<string, LwM2mNode>;
  encodeNodes(nodes: ReadonlyMap<string, LwM2mNode>, models: ModelProvider, options?: RecordCodecOptions): Uint8Array;
}

/** SenML codecs: single node, time series, composite, and path lists. */
export interface SenmlCodec extends RecordTimestampedCodec, RecordMultiNodeCodec {
  decode(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): LwM2mNode;
  encode(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array;
  decodeTimestampedNodes(payload: Uint8Array, models: ModelProvider, options?: RecordCodecOptions): TimestampedLwM2mNodes;
  /** Paths named by the records (Read-Composite / Observe-Composite request bodies). */
  decodePaths(payload: Uint8Array, options?: RecordCodecOptions): LwM2mPath[];
}
