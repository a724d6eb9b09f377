import type { DataEvent } from '@dmp/contracts';
import type { ModelProvider, ResourceModel, ResourceType } from '@dmp/lwm2m';

type Value = DataEvent['values'][number];
export type ValueType = Value['type'];

/** Why a value is abnormal (R-OPS-3). Stored with the value; also the metric label. */
export type AbnormalCode =
  | 'not-a-resource'
  | 'unknown-object'
  | 'unknown-resource'
  | 'type-mismatch'
  | 'out-of-range'
  | 'far-future-timestamp'
  | 'far-past-timestamp';

export interface Finding {
  code: AbnormalCode;
  detail: string;
}

export interface TimeLimits {
  /** A value time later than event time + this is far-future. */
  maxFutureMs: number;
  /** A value time earlier than event time - this is far-past. */
  maxPastMs: number;
}

const MODEL_TYPE: Record<ResourceType, ValueType> = {
  STRING: 'string',
  INTEGER: 'integer',
  UNSIGNED_INTEGER: 'unsigned',
  FLOAT: 'float',
  BOOLEAN: 'boolean',
  OPAQUE: 'opaque',
  TIME: 'time',
  OBJLNK: 'objlnk',
  CORELNK: 'corelnk',
  NONE: 'none',
};

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const OBJLNK = /^\d{1,5}:\d{1,5}$/;

/** Whether the JSON value is a well-formed value of the type the event claims. */
function wellFormed(type: ValueType, v: Value['value']): boolean {
  switch (type) {
    case 'string':
    case 'corelnk':
      return typeof v === 'string';
    case 'integer':
    case 'time':
      return typeof v === 'number' && Number.isInteger(v);
    case 'unsigned':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0;
    case 'float':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'opaque':
      return typeof v === 'string' && v.length % 4 === 0 && BASE64.test(v);
    case 'objlnk':
      return typeof v === 'string' && OBJLNK.test(v);
    case 'none':
      return v === null;
  }
}

/**
 * Whether a value reported as `got` fits a resource declared as `want`. Encodings lose
 * some type information (SenML/JSON numbers, TLV integers for time), so numeric types
 * widen: integer → float, integer ↔ unsigned (when >= 0), integer ↔ time, string ↔ corelnk.
 */
function compatible(want: ValueType, got: ValueType, v: Value['value']): boolean {
  if (want === got) return true;
  const n = typeof v === 'number' ? v : NaN;
  switch (want) {
    case 'float':
      return got === 'integer' || got === 'unsigned';
    case 'integer':
      return got === 'unsigned' || got === 'time';
    case 'unsigned':
      return (got === 'integer' || got === 'time') && n >= 0;
    case 'time':
      return got === 'integer' || got === 'unsigned';
    case 'string':
      return got === 'corelnk';
    case 'corelnk':
      return got === 'string';
    default:
      return false;
  }
}

/** A parsed DDF RangeEnumeration; free-text ones are not checked. */
export type Range =
  | { kind: 'numeric'; min: number; max: number }
  | { kind: 'length'; min: number; max: number }
  | { kind: 'enumeration'; values: ReadonlySet<number> };

const NUM = '-?\\d+(?:\\.\\d+)?';
const RANGE = new RegExp(`^(${NUM})\\s*\\.\\.\\s*(${NUM})\\s*(bytes?)?$`, 'i');
const LENGTH = /^(\d+)\s*bytes?$/i;
const ENUM = new RegExp(`^${NUM}(?:\\s*,\\s*${NUM})*$`);

export function parseRange(text: string): Range | undefined {
  const s = text.trim();
  if (!s) return undefined;
  let m = RANGE.exec(s);
  if (m) {
    const min = Number(m[1]);
    const max = Number(m[2]);
    if (min > max) return undefined;
    return { kind: m[3] ? 'length' : 'numeric', min, max };
  }
  m = LENGTH.exec(s);
  if (m) return { kind: 'length', min: Number(m[1]), max: Number(m[1]) };
  if (ENUM.test(s)) return { kind: 'enumeration', values: new Set(s.split(',').map((x) => Number(x.trim()))) };
  return undefined;
}

const ranges = new WeakMap<ResourceModel, Range | null>();
function rangeOf(r: ResourceModel): Range | undefined {
  let v = ranges.get(r);
  if (v === undefined) {
    v = parseRange(r.rangeEnumeration) ?? null;
    ranges.set(r, v);
  }
  return v ?? undefined;
}

function checkRange(r: ResourceModel, want: ValueType, v: Value['value']): Finding | undefined {
  const range = rangeOf(r);
  if (!range) return undefined;
  const numeric = want === 'integer' || want === 'unsigned' || want === 'float' || want === 'time';
  if (range.kind === 'numeric' && numeric && typeof v === 'number') {
    if (v < range.min || v > range.max) return { code: 'out-of-range', detail: `${v} not in ${range.min}..${range.max}` };
  } else if (range.kind === 'enumeration' && numeric && typeof v === 'number') {
    if (!range.values.has(v)) return { code: 'out-of-range', detail: `${v} not one of ${[...range.values].join(',')}` };
  } else if (range.kind === 'length' && typeof v === 'string' && (want === 'string' || want === 'opaque')) {
    const len = want === 'opaque' ? Buffer.byteLength(v, 'base64') : Buffer.byteLength(v, 'utf8');
    if (len < range.min || len > range.max) return { code: 'out-of-range', detail: `length ${len} bytes not in ${range.min}..${range.max}` };
  }
  return undefined;
}

const iso = (ts: number) => (Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : `${ts} ms`);

/**
 * Checks one value against the object model and the event time. Returns every
 * violation found (empty = normal). Deterministic for a given event (the reference
 * time is the event's receive time, not the clock), so a replay flags the same way.
 */
export function checkValue(models: ModelProvider, v: Value, eventTs: number, limits: TimeLimits): Finding[] {
  const out: Finding[] = [];
  const ts = v.ts ?? eventTs;
  if (ts > eventTs + limits.maxFutureMs) out.push({ code: 'far-future-timestamp', detail: `${iso(ts)} is ${Math.round((ts - eventTs) / 1000)} s after reception` });
  else if (ts < eventTs - limits.maxPastMs) out.push({ code: 'far-past-timestamp', detail: `${iso(ts)} is ${Math.round((eventTs - ts) / 1000)} s before reception` });

  const malformed = !wellFormed(v.type, v.value);
  if (malformed) out.push({ code: 'type-mismatch', detail: `${JSON.stringify(v.value)?.slice(0, 64)} is not a valid ${v.type}` });
  const seg = v.path.split('/').slice(1).map(Number);
  if (seg.length < 3) {
    out.push({ code: 'not-a-resource', detail: `${v.path} is not a resource path` });
    return out;
  }
  const obj = models.getObjectModel(seg[0]!);
  if (!obj) {
    out.push({ code: 'unknown-object', detail: `object ${seg[0]} has no model` });
    return out;
  }
  const res = obj.resources.get(seg[2]!);
  if (!res) {
    out.push({ code: 'unknown-resource', detail: `object ${seg[0]} has no resource ${seg[2]}` });
    return out;
  }
  if (malformed) return out;
  const want = MODEL_TYPE[res.type];
  if (!compatible(want, v.type, v.value)) {
    out.push({ code: 'type-mismatch', detail: `resource is ${want}, got ${v.type}` });
    return out;
  }
  const r = checkRange(res, want, v.value);
  if (r) out.push(r);
  return out;
}

/** Reason column: `code: detail` entries joined by `; ` (bounded). */
export function formatReason(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.code}: ${f.detail}`).join('; ').slice(0, 1000);
}
