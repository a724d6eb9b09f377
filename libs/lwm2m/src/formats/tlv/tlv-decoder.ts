/**
 * TLV decoder (application/vnd.oma.lwm2m+tlv, 11542 and legacy 1542), spec §8.1 table 8-3:
 *
 *   Type byte: bits 7-6 identifier kind  00 object instance, 01 resource instance,
 *                                         10 multiple resource, 11 resource with value
 *              bit 5    identifier length 0 → 8 bit, 1 → 16 bit
 *              bits 4-3 length type       00 → length in bits 2-0, 01/10/11 → 8/16/24-bit length field
 *              bits 2-0 length            (only when bits 4-3 = 00)
 *   then the identifier, the length field (if any) and the value.
 *
 * Table 8-3 marks kinds 01 and 10 "not used yet"; we accept them with their OMA LwM2M
 * meaning (a superset), so multiple resources work.
 *
 * Performance: no per-byte allocation; headers are read into locals; integers and
 * booleans are read directly from the bytes; floats go through one 8-byte scratch
 * DataView; short ASCII strings take a fast path (no TextDecoder call).
 */
import { checkPayloadSize, DEFAULT_MAX_DEPTH, type CodecOptions } from '../../content-format';
import { Lwm2mCodecError } from '../../errors';
import type { ModelProvider, ObjectModel } from '../../model/types';
import type {
  LwM2mMultipleResource,
  LwM2mNode,
  LwM2mObject,
  LwM2mObjectInstance,
  LwM2mResource,
  LwM2mResourceInstance,
  LwM2mSingleResource,
  ResourceType,
  ResourceValue,
} from '../../node';
import type { LwM2mPath } from '../../path';

export const TLV_OBJECT_INSTANCE = 0;
export const TLV_RESOURCE_INSTANCE = 1;
export const TLV_MULTIPLE_RESOURCE = 2;
export const TLV_RESOURCE_VALUE = 3;
export type TlvKind = 0 | 1 | 2 | 3;

const KIND_NAMES = ['object instance', 'resource instance', 'multiple resource', 'resource'] as const;

const scratch = new DataView(new ArrayBuffer(8));
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TWO_32 = 4294967296;

/** One raw TLV entry (for tooling / tests; the node decoder does not allocate these). */
export interface TlvEntry {
  kind: TlvKind;
  id: number;
  /** Value bytes (a view into the input) for kinds 01 and 11. */
  value: Uint8Array | undefined;
  /** Children for kinds 00 and 10. */
  children: TlvEntry[] | undefined;
  /** Offset of the type byte in the input. */
  offset: number;
}

// Header scratch (module-level, read immediately by the caller: decode is synchronous).
let hKind: TlvKind = 0;
let hId = 0;
let hStart = 0;
let hEnd = 0;

/** Reads the header at `off` (within `[.., end)`), sets hKind/hId/hStart/hEnd. */
function readHeader(b: Uint8Array, off: number, end: number): void {
  if (off >= end) throw new Lwm2mCodecError('TRUNCATED', 'missing TLV type byte', off);
  const t = b[off] as number;
  let p = off + 1;
  hKind = (t >>> 6) as TlvKind;
  if (t & 0x20) {
    if (p + 2 > end) throw new Lwm2mCodecError('TRUNCATED', 'missing 16-bit identifier', off);
    hId = ((b[p] as number) << 8) | (b[p + 1] as number);
    p += 2;
  } else {
    if (p + 1 > end) throw new Lwm2mCodecError('TRUNCATED', 'missing 8-bit identifier', off);
    hId = b[p] as number;
    p += 1;
  }
  const lt = (t >>> 3) & 3;
  let len: number;
  if (lt === 0) {
    len = t & 7;
  } else {
    if (p + lt > end) throw new Lwm2mCodecError('TRUNCATED', `missing ${lt * 8}-bit length field`, off);
    len = b[p] as number;
    if (lt >= 2) len = (len << 8) | (b[p + 1] as number);
    if (lt === 3) len = (len << 8) | (b[p + 2] as number);
    p += lt;
  }
  if (p + len > end) {
    throw new Lwm2mCodecError('LENGTH_OVERFLOW', `${KIND_NAMES[hKind]} ${hId} declares ${len} bytes, ${end - p} available`, off);
  }
  hStart = p;
  hEnd = p + len;
}

/** Raw TLV parse into entries (no model). Throws Lwm2mCodecError. */
export function parseTlv(payload: Uint8Array, options?: CodecOptions): TlvEntry[] {
  checkPayloadSize(payload, options);
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const walk = (s: number, e: number, depth: number): TlvEntry[] => {
    if (depth > maxDepth) throw new Lwm2mCodecError('NESTING_TOO_DEEP', `nesting deeper than ${maxDepth}`, s);
    const out: TlvEntry[] = [];
    let off = s;
    while (off < e) {
      readHeader(payload, off, e);
      const kind = hKind;
      const id = hId;
      const vs = hStart;
      const ve = hEnd;
      const container = kind === TLV_OBJECT_INSTANCE || kind === TLV_MULTIPLE_RESOURCE;
      out.push({
        kind,
        id,
        offset: off,
        value: container ? undefined : payload.subarray(vs, ve),
        children: container ? walk(vs, ve, depth + 1) : undefined,
      });
      off = ve;
    }
    return out;
  };
  return walk(0, payload.length, 1);
}

// ---------------------------------------------------------------------------------------
// value decoding

function decodeString(b: Uint8Array, s: number, e: number): string {
  if (e - s <= 64) {
    let out = '';
    for (let i = s; i < e; i++) {
      const c = b[i] as number;
      if (c >= 0x80) return decodeUtf8Slow(b, s, e);
      out += String.fromCharCode(c);
    }
    return out;
  }
  return decodeUtf8Slow(b, s, e);
}

function decodeUtf8Slow(b: Uint8Array, s: number, e: number): string {
  try {
    return utf8.decode(b.subarray(s, e));
  } catch {
    throw new Lwm2mCodecError('INVALID_VALUE', 'string is not valid UTF-8', s);
  }
}

function decodeSigned(b: Uint8Array, s: number, len: number): number | bigint {
  switch (len) {
    case 1:
      return ((b[s] as number) << 24) >> 24;
    case 2:
      return ((((b[s] as number) << 8) | (b[s + 1] as number)) << 16) >> 16;
    case 4:
      return ((b[s] as number) << 24) | ((b[s + 1] as number) << 16) | ((b[s + 2] as number) << 8) | (b[s + 3] as number);
    case 8: {
      const hi = ((b[s] as number) << 24) | ((b[s + 1] as number) << 16) | ((b[s + 2] as number) << 8) | (b[s + 3] as number);
      const lo = (((b[s + 4] as number) << 24) | ((b[s + 5] as number) << 16) | ((b[s + 6] as number) << 8) | (b[s + 7] as number)) >>> 0;
      // safe when |hi| < 2^21 (then hi * 2^32 + lo is exact and within 2^53)
      if (hi >= -0x200000 && hi < 0x200000) {
        const v = hi * TWO_32 + lo;
        if (Number.isSafeInteger(v)) return v;
      }
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    default:
      throw new Lwm2mCodecError('INVALID_VALUE', `integer length ${len} (expected 1, 2, 4 or 8)`, s);
  }
}

function decodeUnsigned(b: Uint8Array, s: number, len: number): number | bigint {
  switch (len) {
    case 1:
      return b[s] as number;
    case 2:
      return ((b[s] as number) << 8) | (b[s + 1] as number);
    case 4:
      return (((b[s] as number) << 24) | ((b[s + 1] as number) << 16) | ((b[s + 2] as number) << 8) | (b[s + 3] as number)) >>> 0;
    case 8: {
      const hi = (((b[s] as number) << 24) | ((b[s + 1] as number) << 16) | ((b[s + 2] as number) << 8) | (b[s + 3] as number)) >>> 0;
      const lo = (((b[s + 4] as number) << 24) | ((b[s + 5] as number) << 16) | ((b[s + 6] as number) << 8) | (b[s + 7] as number)) >>> 0;
      if (hi < 0x200000) return hi * TWO_32 + lo;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    default:
      throw new Lwm2mCodecError('INVALID_VALUE', `unsigned integer length ${len} (expected 1, 2, 4 or 8)`, s);
  }
}

const MAX_DATE_SECONDS = 8.64e12;

/** Decode TLV value bytes `[s, e)` of data type `type` (NONE → OPAQUE). */
export function decodeTlvValue(type: ResourceType, b: Uint8Array, s: number, e: number): { type: Exclude<ResourceType, 'NONE'>; value: ResourceValue } {
  const t = type === 'NONE' ? 'OPAQUE' : type;
  return { type: t, value: decodeValue(t, b, s, e) };
}

function decodeValue(type: Exclude<ResourceType, 'NONE'>, b: Uint8Array, s: number, e: number): ResourceValue {
  const len = e - s;
  switch (type) {
    case 'STRING':
    case 'CORELNK':
      return decodeString(b, s, e);
    case 'INTEGER':
      return decodeSigned(b, s, len);
    case 'UNSIGNED_INTEGER':
      return decodeUnsigned(b, s, len);
    case 'FLOAT':
      if (len === 4) {
        scratch.setUint32(0, (((b[s] as number) << 24) | ((b[s + 1] as number) << 16) | ((b[s + 2] as number) << 8) | (b[s + 3] as number)) >>> 0);
        return scratch.getFloat32(0);
      }
      if (len === 8) {
        for (let i = 0; i < 8; i++) scratch.setUint8(i, b[s + i] as number);
        return scratch.getFloat64(0);
      }
      throw new Lwm2mCodecError('INVALID_VALUE', `float length ${len} (expected 4 or 8)`, s);
    case 'BOOLEAN': {
      if (len !== 1) throw new Lwm2mCodecError('INVALID_VALUE', `boolean length ${len} (expected 1)`, s);
      const v = b[s] as number;
      if (v > 1) throw new Lwm2mCodecError('INVALID_VALUE', `boolean byte ${v} (expected 0 or 1)`, s);
      return v === 1;
    }
    case 'OPAQUE':
      return b.slice(s, e);
    case 'TIME': {
      const v = decodeSigned(b, s, len);
      const n = typeof v === 'bigint' ? Number.NaN : v;
      if (!(n >= -MAX_DATE_SECONDS && n <= MAX_DATE_SECONDS)) throw new Lwm2mCodecError('INVALID_VALUE', 'time out of Date range', s);
      return new Date(n * 1000);
    }
    case 'OBJLNK':
      if (len !== 4) throw new Lwm2mCodecError('INVALID_VALUE', `objlnk length ${len} (expected 4)`, s);
      return {
        objectId: ((b[s] as number) << 8) | (b[s + 1] as number),
        instanceId: ((b[s + 2] as number) << 8) | (b[s + 3] as number),
      };
  }
}

// ---------------------------------------------------------------------------------------
// node decoding

interface Ctx {
  b: Uint8Array;
  om: ObjectModel | undefined;
  strict: boolean;
  objectId: number;
}

function resourceType(ctx: Ctx, rid: number, at: number): Exclude<ResourceType, 'NONE'> {
  const rm = ctx.om?.resources.get(rid);
  if (rm === undefined) {
    if (ctx.strict) throw new Lwm2mCodecError('UNKNOWN_RESOURCE', `resource /${ctx.objectId}/x/${rid} not in model`, at);
    return 'OPAQUE';
  }
  return rm.type === 'NONE' ? 'OPAQUE' : rm.type;
}

/** Decodes a resource (kind 11 or 10) whose header is in the scratch variables. */
function decodeResource(ctx: Ctx, kind: TlvKind, rid: number, vs: number, ve: number, at: number): LwM2mResource {
  const type = resourceType(ctx, rid, at);
  if (kind === TLV_RESOURCE_VALUE) {
    return { kind: 'singleResource', id: rid, type, value: decodeValue(type, ctx.b, vs, ve) } as LwM2mSingleResource;
  }
  // multiple resource: children must be resource instances
  const instances = new Map<number, LwM2mResourceInstance>();
  let off = vs;
  while (off < ve) {
    readHeader(ctx.b, off, ve);
    if (hKind !== TLV_RESOURCE_INSTANCE) {
      throw new Lwm2mCodecError(
        hKind === TLV_RESOURCE_VALUE ? 'INVALID_STRUCTURE' : 'NESTING_TOO_DEEP',
        `${KIND_NAMES[hKind]} inside multiple resource ${rid}`,
        off,
      );
    }
    const iid = hId;
    const s = hStart;
    const e = hEnd;
    if (instances.has(iid)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `duplicate resource instance ${rid}/${iid}`, off);
    instances.set(iid, { kind: 'resourceInstance', id: iid, type, value: decodeValue(type, ctx.b, s, e) } as LwM2mResourceInstance);
    off = e;
  }
  return { kind: 'multipleResource', id: rid, type, instances } as LwM2mMultipleResource;
}

/** Decodes resource TLVs in `[s, e)` into a map. */
function decodeResources(ctx: Ctx, s: number, e: number, inInstance: boolean): Map<number, LwM2mResource> {
  const resources = new Map<number, LwM2mResource>();
  let off = s;
  while (off < e) {
    readHeader(ctx.b, off, e);
    const kind = hKind;
    if (kind === TLV_OBJECT_INSTANCE || kind === TLV_RESOURCE_INSTANCE) {
      throw new Lwm2mCodecError(
        kind === TLV_OBJECT_INSTANCE && inInstance ? 'NESTING_TOO_DEEP' : 'INVALID_STRUCTURE',
        `${KIND_NAMES[kind]} where a resource was expected`,
        off,
      );
    }
    const rid = hId;
    const vs = hStart;
    const ve = hEnd;
    if (resources.has(rid)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `duplicate resource ${rid}`, off);
    resources.set(rid, decodeResource(ctx, kind, rid, vs, ve, off));
    off = ve;
  }
  return resources;
}

function firstKind(b: Uint8Array): TlvKind {
  return ((b[0] as number) >>> 6) as TlvKind;
}

/**
 * Decode a TLV payload at `path` into a node (kind follows the path depth).
 * Object-instance path: accepts either one Object Instance TLV with the path's id, or bare
 * resource TLVs. Object path: Object Instance TLVs (or bare resources → instance 0).
 */
export function decodeTlv(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): LwM2mNode {
  checkPayloadSize(payload, options);
  if (path.depth === 0) throw new Lwm2mCodecError('UNSUPPORTED_PATH', 'TLV cannot carry the root path');
  const objectId = path.objectId as number;
  const om = models.getObjectModel(objectId);
  const strict = options?.strict === true;
  if (om === undefined && strict) throw new Lwm2mCodecError('UNKNOWN_OBJECT', `object ${objectId} not in model`);
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (maxDepth < 3) {
    // Only enforce when the structure really needs more levels than allowed.
    checkDepth(payload, maxDepth);
  }
  const ctx: Ctx = { b: payload, om, strict, objectId };
  const n = payload.length;
  switch (path.depth) {
    case 1: {
      const instances = new Map<number, LwM2mObjectInstance>();
      if (n > 0 && firstKind(payload) !== TLV_OBJECT_INSTANCE) {
        instances.set(0, { kind: 'objectInstance', id: 0, resources: decodeResources(ctx, 0, n, false) });
      } else {
        let off = 0;
        while (off < n) {
          readHeader(payload, off, n);
          if (hKind !== TLV_OBJECT_INSTANCE) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${KIND_NAMES[hKind]} mixed with object instances`, off);
          const iid = hId;
          const s = hStart;
          const e = hEnd;
          if (instances.has(iid)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `duplicate object instance ${iid}`, off);
          instances.set(iid, { kind: 'objectInstance', id: iid, resources: decodeResources(ctx, s, e, true) });
          off = e;
        }
      }
      return { kind: 'object', id: objectId, instances } as LwM2mObject;
    }
    case 2: {
      const iid = path.objectInstanceId as number;
      if (n > 0 && firstKind(payload) === TLV_OBJECT_INSTANCE) {
        readHeader(payload, 0, n);
        if (hId !== iid) throw new Lwm2mCodecError('INVALID_STRUCTURE', `object instance ${hId} does not match path ${path.toString()}`, 0);
        const s = hStart;
        const e = hEnd;
        if (e !== n) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'data after the object instance TLV', e);
        return { kind: 'objectInstance', id: iid, resources: decodeResources(ctx, s, e, true) } as LwM2mObjectInstance;
      }
      return { kind: 'objectInstance', id: iid, resources: decodeResources(ctx, 0, n, false) } as LwM2mObjectInstance;
    }
    case 3: {
      const rid = path.resourceId as number;
      if (n === 0) throw new Lwm2mCodecError('TRUNCATED', `empty payload for resource ${path.toString()}`);
      readHeader(payload, 0, n);
      const kind = hKind;
      if (kind === TLV_RESOURCE_VALUE || kind === TLV_MULTIPLE_RESOURCE) {
        if (hId !== rid) throw new Lwm2mCodecError('INVALID_STRUCTURE', `resource ${hId} does not match path ${path.toString()}`, 0);
        if (hEnd !== n) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'data after the resource TLV', hEnd);
        return decodeResource(ctx, kind, rid, hStart, hEnd, 0);
      }
      if (kind === TLV_RESOURCE_INSTANCE) {
        // bare resource instances = the content of a multiple resource
        return decodeResource(ctx, TLV_MULTIPLE_RESOURCE, rid, 0, n, 0);
      }
      throw new Lwm2mCodecError('INVALID_STRUCTURE', `object instance TLV at resource path ${path.toString()}`, 0);
    }
    default: {
      const riid = path.resourceInstanceId as number;
      if (n === 0) throw new Lwm2mCodecError('TRUNCATED', `empty payload for resource instance ${path.toString()}`);
      readHeader(payload, 0, n);
      if (hKind !== TLV_RESOURCE_INSTANCE) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${KIND_NAMES[hKind]} at resource instance path`, 0);
      if (hId !== riid) throw new Lwm2mCodecError('INVALID_STRUCTURE', `resource instance ${hId} does not match path ${path.toString()}`, 0);
      if (hEnd !== n) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'data after the resource instance TLV', hEnd);
      const type = resourceType(ctx, path.resourceId as number, 0);
      return { kind: 'resourceInstance', id: riid, type, value: decodeValue(type, payload, hStart, hEnd) } as LwM2mResourceInstance;
    }
  }
}

function checkDepth(payload: Uint8Array, maxDepth: number): void {
  parseTlv(payload, { maxDepth, maxPayloadBytes: Number.MAX_SAFE_INTEGER });
}
