/**
 * SenML (RFC 8428) records, format-neutral: resolution (§4.6: base name, base time,
 * base value, base version, relative / absolute times) and the LwM2M interpretation
 * (LwM2M 1.1 TS §7.4.4 / §7.4.5): resolved name = path, value label per data type:
 *
 *   v   INTEGER, UNSIGNED_INTEGER, FLOAT, TIME (seconds)
 *   vs  STRING, CORELNK
 *   vb  BOOLEAN
 *   vd  OPAQUE (JSON: base64url text; CBOR: byte string)
 *   vlo OBJLNK ("oid:iid", LwM2M extension label)
 */
import { Lwm2mCodecError } from '../../errors';
import type { ModelProvider } from '../../model/types';
import type { TypedValue, ValueType } from '../../node';
import type { LwM2mPath } from '../../path';
import {
  baseNameFor,
  flattenNode,
  formatObjlnk,
  maxRecords,
  parseObjlnk,
  parseRecordPath,
  parseValuePath,
  relativeName,
  resolveType,
  timeResolver,
  timeSeconds,
  toFloat,
  toInteger,
  toTime,
  RELATIVE_TIME_LIMIT,
  type RecordCodecOptions,
  type TimedValueEntry,
  type ValueEntry,
} from './common';
import type { LwM2mNode } from '../../node';

/** Value labels. */
export type SenmlValueField = 'v' | 'vs' | 'vb' | 'vd' | 'vlo';

/** One SenML record as parsed from JSON or CBOR (labels already checked for type). */
export interface SenmlRecord {
  bn?: string;
  bt?: number;
  bu?: string;
  bv?: number;
  bs?: number;
  bver?: number;
  n?: string;
  u?: string;
  v?: number | bigint;
  vs?: string;
  vb?: boolean;
  vd?: Uint8Array;
  vlo?: string;
  s?: number;
  t?: number;
  ut?: number;
}

/** A record after RFC 8428 resolution. */
export interface ResolvedSenmlRecord {
  name: string;
  /** Absolute epoch seconds; undefined when neither bt nor t applied. */
  time: number | undefined;
  field: SenmlValueField | undefined;
  value: number | bigint | string | boolean | Uint8Array | undefined;
}

/** SenML version this implementation understands (RFC 8428 default). */
export const SENML_VERSION = 10;
const VALUE_FIELDS: readonly SenmlValueField[] = ['v', 'vs', 'vb', 'vd', 'vlo'];

/** RFC 8428 §4.6 resolution. Throws Lwm2mCodecError. */
export function resolveSenml(records: readonly SenmlRecord[], options: RecordCodecOptions | undefined): ResolvedSenmlRecord[] {
  if (records.length > maxRecords(options)) throw new Lwm2mCodecError('PAYLOAD_TOO_LARGE', `${records.length} records > ${maxRecords(options)}`);
  const resolveTime = timeResolver(options);
  let bn = '';
  let bt: number | undefined;
  let bv: number | undefined;
  const out: ResolvedSenmlRecord[] = [];
  for (const r of records) {
    if (r.bver !== undefined && (!Number.isInteger(r.bver) || r.bver > SENML_VERSION || r.bver < 1)) {
      throw new Lwm2mCodecError('INVALID_STRUCTURE', `unsupported SenML version ${r.bver}`);
    }
    if (r.bn !== undefined) bn = r.bn;
    if (r.bt !== undefined) bt = r.bt;
    if (r.bv !== undefined) bv = r.bv;
    const name = bn + (r.n ?? '');
    let field: SenmlValueField | undefined;
    for (const f of VALUE_FIELDS) {
      if (r[f] !== undefined) {
        if (field !== undefined) throw new Lwm2mCodecError('INVALID_STRUCTURE', `record "${name.slice(0, 60)}" has both ${field} and ${f}`);
        field = f;
      }
    }
    let value = field === undefined ? undefined : r[field];
    if (field === 'v' && bv !== undefined) {
      value = typeof value === 'bigint' ? Number(value) + bv : (value as number) + bv;
    }
    const time = bt === undefined && r.t === undefined ? undefined : resolveTime((bt ?? 0) + (r.t ?? 0));
    out.push({ name, time, field, value });
  }
  return out;
}

function inferType(field: SenmlValueField, value: unknown): ValueType {
  switch (field) {
    case 'v':
      return typeof value === 'bigint' ? 'INTEGER' : 'FLOAT';
    case 'vs':
      return 'STRING';
    case 'vb':
      return 'BOOLEAN';
    case 'vd':
      return 'OPAQUE';
    case 'vlo':
      return 'OBJLNK';
  }
}

const FIELD_OF: Record<ValueType, SenmlValueField> = {
  STRING: 'vs',
  CORELNK: 'vs',
  INTEGER: 'v',
  UNSIGNED_INTEGER: 'v',
  FLOAT: 'v',
  TIME: 'v',
  BOOLEAN: 'vb',
  OPAQUE: 'vd',
  OBJLNK: 'vlo',
};

/** Typed value from a SenML value label, type-aware. */
export function senmlTypedValue(type: ValueType, field: SenmlValueField, value: unknown, where: string): TypedValue {
  if (FIELD_OF[type] !== field) {
    throw new Lwm2mCodecError('INVALID_VALUE', `${where} is ${type}: expected "${FIELD_OF[type]}", got "${field}"`);
  }
  switch (type) {
    case 'STRING':
    case 'CORELNK':
      return { type, value: value as string };
    case 'INTEGER':
      return { type, value: toInteger(value, false) };
    case 'UNSIGNED_INTEGER':
      return { type, value: toInteger(value, true) };
    case 'FLOAT':
      return { type, value: toFloat(value) };
    case 'TIME':
      return { type, value: toTime(value) };
    case 'BOOLEAN':
      return { type, value: value as boolean };
    case 'OPAQUE':
      return { type, value: value as Uint8Array };
    case 'OBJLNK':
      return { type, value: parseObjlnk(value) };
  }
}

/** Resolved records → typed value entries (every record must carry a value). */
export function senmlEntries(resolved: readonly ResolvedSenmlRecord[], models: ModelProvider, options: RecordCodecOptions | undefined): TimedValueEntry[] {
  const out: TimedValueEntry[] = [];
  for (const r of resolved) {
    const path = parseValuePath(r.name);
    if (r.field === undefined) throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${path.toString()} has no value`);
    const { type } = resolveType(models, path, options, inferType(r.field, r.value));
    out.push({ path, time: r.time, value: senmlTypedValue(type, r.field, r.value, path.toString()) });
  }
  return out;
}

/** Resolved names as paths (Read-Composite / Observe-Composite request bodies: no values). */
export function senmlPaths(resolved: readonly ResolvedSenmlRecord[]): LwM2mPath[] {
  return resolved.map((r) => parseRecordPath(r.name));
}

// ---------------------------------------------------------------------------------------
// encoding side

/** SenML value label and value for a typed value. */
export function senmlFieldOf(v: TypedValue): { field: SenmlValueField; value: number | bigint | string | boolean | Uint8Array } {
  switch (v.type) {
    case 'STRING':
    case 'CORELNK':
      return { field: 'vs', value: v.value };
    case 'INTEGER':
    case 'UNSIGNED_INTEGER':
      return { field: 'v', value: v.value };
    case 'FLOAT':
      return { field: 'v', value: v.value };
    case 'TIME':
      return { field: 'v', value: timeSeconds(v.value) };
    case 'BOOLEAN':
      return { field: 'vb', value: v.value };
    case 'OPAQUE':
      return { field: 'vd', value: v.value };
    case 'OBJLNK':
      return { field: 'vlo', value: formatObjlnk(v.value) };
  }
}

/** Records to encode: base name on the first record, names relative to it. */
export function recordsFor(
  bn: string,
  entries: readonly ValueEntry[],
  time: number | undefined,
  emitBn: boolean,
): SenmlRecord[] {
  if (time !== undefined && (!Number.isFinite(time) || time < RELATIVE_TIME_LIMIT)) {
    throw new Lwm2mCodecError('INVALID_VALUE', `timestamp ${time} is not an absolute time (>= 2^28 s)`);
  }
  return entries.map((e, i) => {
    const r: SenmlRecord = {};
    if (i === 0 && emitBn) r.bn = bn;
    if (i === 0 && time !== undefined) r.bt = time;
    const n = relativeName(bn, e.path);
    if (n !== '') r.n = n;
    const { field, value } = senmlFieldOf(e.value);
    (r as Record<string, unknown>)[field] = value;
    return r;
  });
}

/** Node → SenML records (canonical: ids ascending, bn on the first record). */
export function nodeToRecords(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options: RecordCodecOptions | undefined, time?: number): SenmlRecord[] {
  const entries = flattenNode(node, path, models, options);
  return recordsFor(baseNameFor(node, path), entries, time, true);
}
