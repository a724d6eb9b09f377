/**
 * TLV encoder (spec §8.1 table 8-3). Canonical output rules (so decode → encode is
 * byte-identical for canonical input such as the spec's table 8-4 example):
 * - Identifier: 8 bit when id ≤ 255, else 16 bit.
 * - Length: inline in bits 2-0 when ≤ 7, else the smallest 8/16/24-bit length field.
 * - INTEGER / TIME: the smallest of 1, 2, 4, 8 bytes (big-endian two's complement) that
 *   holds the value. UNSIGNED_INTEGER: smallest of 1, 2, 4, 8 bytes, unsigned.
 * - FLOAT: 4 bytes (float32) when the value is exactly representable as float32
 *   (`Math.fround(v) === v`, also ±Infinity, ±0 and NaN), else 8 bytes (float64).
 * - BOOLEAN: 1 byte 0/1. OBJLNK: 2-byte object id + 2-byte instance id.
 * - TIME: whole seconds since the epoch (Math.floor), as INTEGER.
 * Values are at most 2^24-1 bytes (24-bit length field); bigger → PAYLOAD_TOO_LARGE.
 */
import type { CodecOptions } from '../../content-format';
import { Lwm2mCodecError } from '../../errors';
import type { ModelProvider, ObjectModel } from '../../model/types';
import {
  valueProblem,
  type LwM2mNode,
  type LwM2mObjectInstance,
  type LwM2mResource,
  type LwM2mResourceInstance,
  type TypedValue,
} from '../../node';
import type { LwM2mPath } from '../../path';
import { TLV_MULTIPLE_RESOURCE, TLV_OBJECT_INSTANCE, TLV_RESOURCE_INSTANCE, TLV_RESOURCE_VALUE, type TlvKind } from './tlv-decoder';

const MAX_TLV_LENGTH = 0xffffff;
const HEADER_MAX = 6; // type + 16-bit id + 24-bit length
const utf8 = new TextEncoder();
const TWO_32 = 4294967296;

class Writer {
  buf = new Uint8Array(64);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
  }

  byte(v: number): void {
    this.buf[this.pos++] = v;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function headerSize(id: number, len: number): number {
  return 1 + (id > 255 ? 2 : 1) + (len <= 7 ? 0 : len <= 0xff ? 1 : len <= 0xffff ? 2 : 3);
}

function writeHeader(w: Writer, kind: TlvKind, id: number, len: number): void {
  if (len > MAX_TLV_LENGTH) throw new Lwm2mCodecError('PAYLOAD_TOO_LARGE', `TLV value of ${len} bytes exceeds 24-bit length`);
  const b = w.buf;
  let p = w.pos;
  let t = kind << 6;
  if (id > 255) t |= 0x20;
  const lt = len <= 7 ? 0 : len <= 0xff ? 1 : len <= 0xffff ? 2 : 3;
  t |= lt << 3;
  if (lt === 0) t |= len;
  b[p++] = t;
  if (id > 255) b[p++] = id >>> 8;
  b[p++] = id & 0xff;
  if (lt === 3) b[p++] = (len >>> 16) & 0xff;
  if (lt >= 2) b[p++] = (len >>> 8) & 0xff;
  if (lt >= 1) b[p++] = len & 0xff;
  w.pos = p;
}

/** Begin a container: reserve the largest header; returns the content start. */
function beginContainer(w: Writer): number {
  w.ensure(HEADER_MAX);
  w.pos += HEADER_MAX;
  return w.pos;
}

/** End a container started at `contentStart`: write the real header, shift content left. */
function endContainer(w: Writer, contentStart: number, kind: TlvKind, id: number): void {
  const len = w.pos - contentStart;
  const hs = headerSize(id, len);
  const headerStart = contentStart - HEADER_MAX;
  w.pos = headerStart;
  writeHeader(w, kind, id, len);
  if (hs !== HEADER_MAX) w.buf.copyWithin(headerStart + hs, contentStart, contentStart + len);
  w.pos = headerStart + hs + len;
}

function writeInt(w: Writer, kind: TlvKind, id: number, v: number | bigint): void {
  if (typeof v === 'number') {
    if (v >= -128 && v <= 127) {
      w.ensure(HEADER_MAX + 1);
      writeHeader(w, kind, id, 1);
      w.byte(v & 0xff);
      return;
    }
    if (v >= -32768 && v <= 32767) {
      w.ensure(HEADER_MAX + 2);
      writeHeader(w, kind, id, 2);
      w.byte((v >> 8) & 0xff);
      w.byte(v & 0xff);
      return;
    }
    if (v >= -2147483648 && v <= 2147483647) {
      w.ensure(HEADER_MAX + 4);
      writeHeader(w, kind, id, 4);
      w.byte((v >> 24) & 0xff);
      w.byte((v >> 16) & 0xff);
      w.byte((v >> 8) & 0xff);
      w.byte(v & 0xff);
      return;
    }
    // 8 bytes, exact for safe integers
    const hi = Math.floor(v / TWO_32);
    const lo = v - hi * TWO_32;
    w.ensure(HEADER_MAX + 8);
    writeHeader(w, kind, id, 8);
    write32(w, hi | 0);
    write32(w, lo >>> 0);
    return;
  }
  if (v >= -(2n ** 31n) && v < 2n ** 31n) return writeInt(w, kind, id, Number(v));
  const u = BigInt.asUintN(64, v);
  w.ensure(HEADER_MAX + 8);
  writeHeader(w, kind, id, 8);
  write32(w, Number(u >> 32n));
  write32(w, Number(u & 0xffffffffn));
}

function writeUnsigned(w: Writer, kind: TlvKind, id: number, v: number | bigint): void {
  if (typeof v === 'bigint') {
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return writeUnsigned(w, kind, id, Number(v));
    w.ensure(HEADER_MAX + 8);
    writeHeader(w, kind, id, 8);
    write32(w, Number(v >> 32n));
    write32(w, Number(v & 0xffffffffn));
    return;
  }
  const len = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;
  w.ensure(HEADER_MAX + len);
  writeHeader(w, kind, id, len);
  if (len === 8) {
    const hi = Math.floor(v / TWO_32);
    write32(w, hi >>> 0);
    write32(w, (v - hi * TWO_32) >>> 0);
  } else {
    for (let i = len - 1; i >= 0; i--) w.byte(Math.floor(v / 2 ** (8 * i)) & 0xff);
  }
}

function write32(w: Writer, v: number): void {
  w.byte((v >>> 24) & 0xff);
  w.byte((v >>> 16) & 0xff);
  w.byte((v >>> 8) & 0xff);
  w.byte(v & 0xff);
}

const f32scratch = new DataView(new ArrayBuffer(8));

function writeBytes(w: Writer, kind: TlvKind, id: number, bytes: Uint8Array): void {
  w.ensure(HEADER_MAX + bytes.length);
  writeHeader(w, kind, id, bytes.length);
  w.buf.set(bytes, w.pos);
  w.pos += bytes.length;
}

function writeString(w: Writer, kind: TlvKind, id: number, s: string): void {
  // ASCII fast path
  const n = s.length;
  let ascii = n <= 64;
  if (ascii) {
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
  }
  if (ascii) {
    w.ensure(HEADER_MAX + n);
    writeHeader(w, kind, id, n);
    for (let i = 0; i < n; i++) w.buf[w.pos++] = s.charCodeAt(i);
    return;
  }
  writeBytes(w, kind, id, utf8.encode(s));
}

/** Write one value TLV (kind 01 or 11) for a typed value. */
function writeValue(w: Writer, kind: TlvKind, id: number, v: TypedValue): void {
  const problem = valueProblem(v.type, v.value);
  if (problem !== undefined) throw new Lwm2mCodecError('INVALID_VALUE', `${v.type} value of ${kind === TLV_RESOURCE_VALUE ? 'resource' : 'resource instance'} ${id}: ${problem}`);
  switch (v.type) {
    case 'STRING':
    case 'CORELNK':
      return writeString(w, kind, id, v.value);
    case 'INTEGER':
      return writeInt(w, kind, id, v.value);
    case 'UNSIGNED_INTEGER':
      return writeUnsigned(w, kind, id, v.value);
    case 'TIME':
      return writeInt(w, kind, id, Math.floor(v.value.getTime() / 1000));
    case 'FLOAT': {
      const x = v.value;
      if (Number.isNaN(x) || Math.fround(x) === x) {
        f32scratch.setFloat32(0, x);
        w.ensure(HEADER_MAX + 4);
        writeHeader(w, kind, id, 4);
        for (let i = 0; i < 4; i++) w.byte(f32scratch.getUint8(i));
      } else {
        f32scratch.setFloat64(0, x);
        w.ensure(HEADER_MAX + 8);
        writeHeader(w, kind, id, 8);
        for (let i = 0; i < 8; i++) w.byte(f32scratch.getUint8(i));
      }
      return;
    }
    case 'BOOLEAN':
      w.ensure(HEADER_MAX + 1);
      writeHeader(w, kind, id, 1);
      w.byte(v.value ? 1 : 0);
      return;
    case 'OPAQUE':
      return writeBytes(w, kind, id, v.value);
    case 'OBJLNK':
      w.ensure(HEADER_MAX + 4);
      writeHeader(w, kind, id, 4);
      w.byte(v.value.objectId >>> 8);
      w.byte(v.value.objectId & 0xff);
      w.byte(v.value.instanceId >>> 8);
      w.byte(v.value.instanceId & 0xff);
      return;
  }
}

interface EncCtx {
  om: ObjectModel | undefined;
  strict: boolean;
  objectId: number;
}

function checkType(ctx: EncCtx, r: LwM2mResource | LwM2mResourceInstance, rid: number): void {
  const rm = ctx.om?.resources.get(rid);
  if (rm === undefined) {
    if (ctx.strict) throw new Lwm2mCodecError('UNKNOWN_RESOURCE', `resource ${rid} of object ${ctx.objectId} not in model`);
    return;
  }
  if (ctx.strict && rm.type !== 'NONE' && rm.type !== r.type) {
    throw new Lwm2mCodecError('INVALID_VALUE', `resource ${ctx.objectId}/x/${rid} is ${rm.type} in the model, node has ${r.type}`);
  }
}

function writeResource(w: Writer, ctx: EncCtx, r: LwM2mResource): void {
  checkType(ctx, r, r.id);
  if (r.kind === 'singleResource') return writeValue(w, TLV_RESOURCE_VALUE, r.id, r);
  const start = beginContainer(w);
  for (const ri of r.instances.values()) {
    if (ri.type !== r.type) throw new Lwm2mCodecError('INVALID_VALUE', `resource instance ${r.id}/${ri.id} is ${ri.type}, resource is ${r.type}`);
    writeValue(w, TLV_RESOURCE_INSTANCE, ri.id, ri);
  }
  endContainer(w, start, TLV_MULTIPLE_RESOURCE, r.id);
}

function writeInstanceContent(w: Writer, ctx: EncCtx, inst: LwM2mObjectInstance): void {
  for (const r of inst.resources.values()) writeResource(w, ctx, r);
}

function writeWrappedInstance(w: Writer, ctx: EncCtx, inst: LwM2mObjectInstance): void {
  const start = beginContainer(w);
  writeInstanceContent(w, ctx, inst);
  endContainer(w, start, TLV_OBJECT_INSTANCE, inst.id);
}

function mismatch(node: LwM2mNode, path: LwM2mPath): Lwm2mCodecError {
  return new Lwm2mCodecError('INVALID_STRUCTURE', `${node.kind} ${node.id} does not fit path ${path.toString()}`);
}

/**
 * Encode `node` at `path`:
 * - object at /o → one Object Instance TLV per instance;
 * - object instance at /o → one Object Instance TLV (Create with an instance id);
 * - object instance at /o/i → bare resource TLVs (or wrapped when `wrapObjectInstance`);
 * - resource at /o/i/r → a Resource TLV (11) or Multiple Resource TLV (10);
 * - resource instance at /o/i/r/ri → a Resource Instance TLV (01).
 */
export function encodeTlv(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): Uint8Array {
  if (path.depth === 0) throw new Lwm2mCodecError('UNSUPPORTED_PATH', 'TLV cannot carry the root path');
  const objectId = path.objectId as number;
  const strict = options?.strict === true;
  const om = models.getObjectModel(objectId);
  if (om === undefined && strict) throw new Lwm2mCodecError('UNKNOWN_OBJECT', `object ${objectId} not in model`);
  const ctx: EncCtx = { om, strict, objectId };
  const w = new Writer();
  switch (node.kind) {
    case 'object':
      if (path.depth !== 1 || node.id !== objectId) throw mismatch(node, path);
      for (const inst of node.instances.values()) writeWrappedInstance(w, ctx, inst);
      break;
    case 'objectInstance':
      if (path.depth === 1) writeWrappedInstance(w, ctx, node);
      else if (path.depth === 2 && node.id === path.objectInstanceId) {
        if (options?.wrapObjectInstance === true) writeWrappedInstance(w, ctx, node);
        else writeInstanceContent(w, ctx, node);
      } else throw mismatch(node, path);
      break;
    case 'singleResource':
    case 'multipleResource':
      if (path.depth !== 3 || node.id !== path.resourceId) throw mismatch(node, path);
      writeResource(w, ctx, node);
      break;
    case 'resourceInstance':
      if (path.depth !== 4 || node.id !== path.resourceInstanceId) throw mismatch(node, path);
      checkType(ctx, node, path.resourceId as number);
      writeValue(w, TLV_RESOURCE_INSTANCE, node.id, node);
      break;
    default:
      throw new Lwm2mCodecError('INVALID_STRUCTURE', 'not an LwM2M node');
  }
  return w.result();
}
