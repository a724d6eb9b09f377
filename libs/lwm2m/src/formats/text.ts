/**
 * text/plain (content format 0) codec: one resource value or resource instance value.
 *
 * Text forms per type: STRING / CORELNK as UTF-8 text; INTEGER / UNSIGNED_INTEGER decimal
 * (optional sign); FLOAT decimal / exponent notation (plus `NaN`, `Infinity`, `-Infinity`;
 * -0 is written `-0`); BOOLEAN `0` / `1` (`true` / `false` accepted on decode); TIME
 * integer seconds since the epoch; OBJLNK `objectId:instanceId`; OPAQUE base64
 * (LwM2M 1.1 §7.3.1).
 */
import { checkPayloadSize, ContentFormat, type CodecOptions, type NodeCodec } from '../content-format';
import { Lwm2mCodecError } from '../errors';
import type { ModelProvider } from '../model/types';
import { canonicalInteger, valueProblem, type LwM2mNode, type ResourceValue, type TypedValue, type ValueType } from '../node';
import type { LwM2mPath } from '../path';

const utf8d = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8e = new TextEncoder();
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const FLOAT_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Resolve the type of the resource at `path` (resource or resource-instance path). */
export function resolveResourceType(path: LwM2mPath, models: ModelProvider, options: CodecOptions | undefined, fallback: ValueType): ValueType {
  const om = models.getObjectModel(path.objectId as number);
  const strict = options?.strict === true;
  if (om === undefined) {
    if (strict) throw new Lwm2mCodecError('UNKNOWN_OBJECT', `object ${path.objectId} not in model`);
    return fallback;
  }
  const rm = om.resources.get(path.resourceId as number);
  if (rm === undefined) {
    if (strict) throw new Lwm2mCodecError('UNKNOWN_RESOURCE', `resource ${path.toString()} not in model`);
    return fallback;
  }
  if (path.depth === 3 && rm.multiple) throw new Lwm2mCodecError('UNSUPPORTED_PATH', `${path.toString()} is a multiple resource`);
  return rm.type === 'NONE' ? fallback : rm.type;
}

function parseInteger(s: string, unsigned: boolean): number | bigint {
  if (!(unsigned ? /^\+?[0-9]{1,20}$/ : /^[+-]?[0-9]{1,20}$/).test(s)) throw new Lwm2mCodecError('INVALID_VALUE', `"${s.slice(0, 40)}" is not an integer`);
  const v = BigInt(s.startsWith('+') ? s.slice(1) : s);
  if (unsigned ? v > UINT64_MAX : v < INT64_MIN || v > INT64_MAX) throw new Lwm2mCodecError('INVALID_VALUE', `${s} out of range`);
  return canonicalInteger(v);
}

/** Parse a text value of `type`. Throws Lwm2mCodecError('INVALID_VALUE'). */
export function parseTextValue(type: ValueType, s: string): ResourceValue {
  switch (type) {
    case 'STRING':
    case 'CORELNK':
      return s;
    case 'INTEGER':
      return parseInteger(s, false);
    case 'UNSIGNED_INTEGER':
      return parseInteger(s, true);
    case 'FLOAT': {
      if (s === 'NaN') return Number.NaN;
      if (s === 'Infinity' || s === '+Infinity') return Number.POSITIVE_INFINITY;
      if (s === '-Infinity') return Number.NEGATIVE_INFINITY;
      if (!FLOAT_RE.test(s)) throw new Lwm2mCodecError('INVALID_VALUE', `"${s.slice(0, 40)}" is not a float`);
      return Number(s);
    }
    case 'BOOLEAN':
      if (s === '1' || s === 'true') return true;
      if (s === '0' || s === 'false') return false;
      throw new Lwm2mCodecError('INVALID_VALUE', `"${s.slice(0, 40)}" is not a boolean (0/1)`);
    case 'TIME': {
      const v = parseInteger(s, false);
      if (typeof v === 'bigint' || Math.abs(v) > 8.64e12) throw new Lwm2mCodecError('INVALID_VALUE', `time ${s} out of range`);
      return new Date(v * 1000);
    }
    case 'OBJLNK': {
      const m = /^([0-9]{1,5}):([0-9]{1,5})$/.exec(s);
      const o = m ? Number(m[1]) : -1;
      const i = m ? Number(m[2]) : -1;
      if (!m || o > 65535 || i > 65535) throw new Lwm2mCodecError('INVALID_VALUE', `"${s.slice(0, 40)}" is not an objlnk (oid:iid)`);
      return { objectId: o, instanceId: i };
    }
    case 'OPAQUE': {
      const t = s.replace(/\s+/g, '');
      if (!BASE64_RE.test(t)) throw new Lwm2mCodecError('INVALID_VALUE', 'opaque text is not base64');
      return new Uint8Array(Buffer.from(t, 'base64'));
    }
  }
}

/** Format a typed value as text. */
export function formatTextValue(v: TypedValue): string {
  const p = valueProblem(v.type, v.value);
  if (p !== undefined) throw new Lwm2mCodecError('INVALID_VALUE', `${v.type}: ${p}`);
  switch (v.type) {
    case 'STRING':
    case 'CORELNK':
      return v.value;
    case 'INTEGER':
    case 'UNSIGNED_INTEGER':
      return v.value.toString();
    case 'FLOAT':
      return Object.is(v.value, -0) ? '-0' : String(v.value);
    case 'BOOLEAN':
      return v.value ? '1' : '0';
    case 'TIME':
      return String(Math.floor(v.value.getTime() / 1000));
    case 'OBJLNK':
      return `${v.value.objectId}:${v.value.instanceId}`;
    case 'OPAQUE':
      return Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64');
  }
}

export function decodeText(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): LwM2mNode {
  checkPayloadSize(payload, options);
  if (path.depth < 3) throw new Lwm2mCodecError('UNSUPPORTED_PATH', `text/plain cannot carry ${path.toString()}`);
  const type = resolveResourceType(path, models, options, 'STRING');
  let s: string;
  try {
    s = utf8d.decode(payload);
  } catch {
    throw new Lwm2mCodecError('INVALID_VALUE', 'text is not valid UTF-8');
  }
  const value = parseTextValue(type, s);
  const kind = path.depth === 3 ? 'singleResource' : 'resourceInstance';
  const id = (path.depth === 3 ? path.resourceId : path.resourceInstanceId) as number;
  return { kind, id, type, value } as LwM2mNode;
}

export function encodeText(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): Uint8Array {
  if (node.kind !== 'singleResource' && node.kind !== 'resourceInstance') {
    throw new Lwm2mCodecError('UNSUPPORTED_PATH', `text/plain cannot carry a ${node.kind}`);
  }
  const expectedDepth = node.kind === 'singleResource' ? 3 : 4;
  const pathId = node.kind === 'singleResource' ? path.resourceId : path.resourceInstanceId;
  if (path.depth !== expectedDepth || pathId !== node.id) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${node.kind} ${node.id} does not fit ${path.toString()}`);
  if (options?.strict === true) {
    const t = resolveResourceType(path, models, options, node.type);
    if (t !== node.type) throw new Lwm2mCodecError('INVALID_VALUE', `${path.toString()} is ${t}, node is ${node.type}`);
  }
  return utf8e.encode(formatTextValue(node));
}

export const textCodec: NodeCodec = {
  name: 'text',
  formats: [ContentFormat.TEXT],
  supportsPath: (path) => path.depth >= 3,
  decode: decodeText,
  encode: encodeText,
};
