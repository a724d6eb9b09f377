/**
 * LwM2M JSON (application/vnd.oma.lwm2m+json, content format 11543, and the
 * pre-registration code 1543), OMA LwM2M 1.0 TS §6.4.4:
 *
 *   { "bn": "/3/0/", "bt": 1367491215, "e": [ { "n": "0", "sv": "Open Mobile Alliance" },
 *                                             { "n": "7/0", "v": 3800, "t": -5 }, ... ] }
 *
 * Value keys per type: `v` INTEGER / UNSIGNED_INTEGER / FLOAT / TIME, `bv` BOOLEAN, `sv`
 * STRING / CORELNK / OPAQUE (base64), `ov` OBJLNK ("oid:iid"). Name = bn + n.
 * Time = bt + t (absolute, as in the TS example); with no `bt`, a negative `t` is
 * relative to now. Encoding is canonical: `bn` = node path (with a trailing `/` for
 * containers), ids ascending, keys n, value, t; timestamps as absolute `t` per record.
 */
import { ContentFormat } from '../content-format';
import { Lwm2mCodecError } from '../errors';
import type { ModelProvider } from '../model/types';
import type { LwM2mNode, TimestampedLwM2mNode, TypedValue, ValueType } from '../node';
import type { LwM2mPath } from '../path';
import {
  baseNameFor,
  buildNode,
  checkPayload,
  decodeBase64Any,
  encodeBase64,
  flattenNode,
  formatObjlnk,
  groupByTime,
  guard,
  latestPerPath,
  maxRecords,
  parseObjlnk,
  parseValuePath,
  relativeName,
  resolveType,
  timeSeconds,
  toFloat,
  toInteger,
  toTime,
  type RecordCodecOptions,
  type RecordTimestampedCodec,
  type TimedValueEntry,
  type ValueEntry,
} from './senml/common';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf8e = new TextEncoder();

type JsonValueKey = 'v' | 'bv' | 'sv' | 'ov';

interface JsonRecord {
  n: string;
  t: number | undefined;
  key: JsonValueKey;
  value: number | boolean | string;
}

/** Parse an LwM2M JSON payload into timed value entries. */
export function decodeLwm2mJsonEntries(payload: Uint8Array, models: ModelProvider, options?: RecordCodecOptions): TimedValueEntry[] {
  return guard(() => {
    checkPayload(payload, options);
    let doc: unknown;
    try {
      doc = JSON.parse(utf8.decode(payload));
    } catch {
      throw new Lwm2mCodecError('INVALID_STRUCTURE', 'LwM2M JSON is not valid UTF-8 JSON');
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'LwM2M JSON must be an object');
    const o = doc as Record<string, unknown>;
    const bn = o.bn ?? '';
    const bt = o.bt;
    if (typeof bn !== 'string') throw new Lwm2mCodecError('INVALID_STRUCTURE', '"bn" must be a string');
    if (bt !== undefined && (typeof bt !== 'number' || !Number.isFinite(bt))) throw new Lwm2mCodecError('INVALID_STRUCTURE', '"bt" must be a number');
    const e = o.e;
    if (!Array.isArray(e)) throw new Lwm2mCodecError('INVALID_STRUCTURE', '"e" must be an array');
    const max = maxRecords(options);
    if (e.length > max) throw new Lwm2mCodecError('PAYLOAD_TOO_LARGE', `${e.length} records > ${max}`);
    let now: number | undefined;
    const out: TimedValueEntry[] = [];
    for (let i = 0; i < e.length; i++) {
      const r = jsonRecord(e[i], i);
      const path = parseValuePath(bn + r.n);
      let time: number | undefined;
      if (bt !== undefined || r.t !== undefined) {
        if (bt === undefined && (r.t as number) < 0) {
          now ??= typeof options?.now === 'function' ? options.now() : (options?.now ?? Date.now() / 1000);
          time = now + (r.t as number);
        } else {
          time = ((bt as number | undefined) ?? 0) + (r.t ?? 0);
        }
      }
      const { type } = resolveType(models, path, options, inferType(r));
      out.push({ path, time, value: typedValue(type, r, path.toString()) });
    }
    return out;
  });
}

function jsonRecord(x: unknown, i: number): JsonRecord {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `e[${i}] is not an object`);
  const o = x as Record<string, unknown>;
  const n = o.n ?? '';
  if (typeof n !== 'string') throw new Lwm2mCodecError('INVALID_STRUCTURE', `e[${i}].n must be a string`);
  const t = o.t;
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t))) throw new Lwm2mCodecError('INVALID_STRUCTURE', `e[${i}].t must be a number`);
  let key: JsonValueKey | undefined;
  for (const k of ['v', 'bv', 'sv', 'ov'] as const) {
    if (o[k] !== undefined) {
      if (key !== undefined) throw new Lwm2mCodecError('INVALID_STRUCTURE', `e[${i}] has both ${key} and ${k}`);
      key = k;
    }
  }
  if (key === undefined) throw new Lwm2mCodecError('INVALID_STRUCTURE', `e[${i}] has no value`);
  const value = o[key];
  const ok = key === 'v' ? typeof value === 'number' : key === 'bv' ? typeof value === 'boolean' : typeof value === 'string';
  if (!ok) throw new Lwm2mCodecError('INVALID_STRUCTURE', `e[${i}].${key} has the wrong JSON type`);
  return { n, t, key, value: value as number | boolean | string };
}

function inferType(r: JsonRecord): ValueType {
  return r.key === 'v' ? 'FLOAT' : r.key === 'bv' ? 'BOOLEAN' : r.key === 'ov' ? 'OBJLNK' : 'STRING';
}

const KEY_OF: Record<ValueType, JsonValueKey> = {
  STRING: 'sv',
  CORELNK: 'sv',
  OPAQUE: 'sv',
  INTEGER: 'v',
  UNSIGNED_INTEGER: 'v',
  FLOAT: 'v',
  TIME: 'v',
  BOOLEAN: 'bv',
  OBJLNK: 'ov',
};

function typedValue(type: ValueType, r: JsonRecord, where: string): TypedValue {
  if (KEY_OF[type] !== r.key) throw new Lwm2mCodecError('INVALID_VALUE', `${where} is ${type}: expected "${KEY_OF[type]}", got "${r.key}"`);
  switch (type) {
    case 'STRING':
    case 'CORELNK':
      return { type, value: r.value as string };
    case 'OPAQUE':
      return { type, value: decodeBase64Any(r.value) };
    case 'INTEGER':
      return { type, value: toInteger(r.value, false) };
    case 'UNSIGNED_INTEGER':
      return { type, value: toInteger(r.value, true) };
    case 'FLOAT':
      return { type, value: toFloat(r.value) };
    case 'TIME':
      return { type, value: toTime(r.value) };
    case 'BOOLEAN':
      return { type, value: r.value as boolean };
    case 'OBJLNK':
      return { type, value: parseObjlnk(r.value) };
  }
}

function jsonNumber(v: number | bigint, where: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (!Number.isFinite(v)) throw new Lwm2mCodecError('INVALID_VALUE', `${where}: ${v} cannot be written in JSON`);
  return Object.is(v, -0) ? '-0.0' : JSON.stringify(v);
}

function valueJson(v: TypedValue, where: string): string {
  switch (v.type) {
    case 'STRING':
    case 'CORELNK':
      return `"sv":${JSON.stringify(v.value)}`;
    case 'OPAQUE':
      return `"sv":"${encodeBase64(v.value)}"`;
    case 'INTEGER':
    case 'UNSIGNED_INTEGER':
    case 'FLOAT':
      return `"v":${jsonNumber(v.value, where)}`;
    case 'TIME':
      return `"v":${timeSeconds(v.value)}`;
    case 'BOOLEAN':
      return `"bv":${v.value ? 'true' : 'false'}`;
    case 'OBJLNK':
      return `"ov":"${formatObjlnk(v.value)}"`;
  }
}

function serialize(bn: string, groups: readonly { time: number | undefined; entries: readonly ValueEntry[] }[]): Uint8Array {
  const recs: string[] = [];
  for (const g of groups) {
    if (g.time !== undefined && (!Number.isFinite(g.time) || g.time < 0)) throw new Lwm2mCodecError('INVALID_VALUE', `timestamp ${g.time} must be ≥ 0 epoch seconds`);
    for (const e of g.entries) {
      const n = relativeName(bn, e.path);
      const f = [`"n":${JSON.stringify(n)}`, valueJson(e.value, e.path.toString())];
      if (g.time !== undefined) f.push(`"t":${jsonNumber(g.time, 't')}`);
      recs.push(`{${f.join(',')}}`);
    }
  }
  return utf8e.encode(`{"bn":${JSON.stringify(bn)},"e":[${recs.join(',')}]}`);
}

export const lwm2mJsonCodec: RecordTimestampedCodec = {
  name: 'lwm2m-json',
  formats: [ContentFormat.JSON, ContentFormat.JSON_LEGACY],
  supportsPath: (path: LwM2mPath) => path.depth >= 1,
  decode(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): LwM2mNode {
    return guard(() => buildNode(path, latestPerPath(decodeLwm2mJsonEntries(payload, models, options)), models, options));
  },
  encode(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array {
    return guard(() => serialize(baseNameFor(node, path), [{ time: undefined, entries: flattenNode(node, path, models, options) }]));
  },
  decodeTimestamped(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): TimestampedLwM2mNode[] {
    return guard(() => {
      const groups = groupByTime(decodeLwm2mJsonEntries(payload, models, options));
      if (groups.length === 0) return [{ timestamp: undefined, node: buildNode(path, [], models, options) }];
      return groups.map((g) => ({ timestamp: g.time, node: buildNode(path, g.entries, models, options) }));
    });
  },
  encodeTimestamped(nodes: readonly TimestampedLwM2mNode[], path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array {
    return guard(() => {
      const first = nodes[0];
      if (first === undefined) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'no nodes to encode');
      const groups = nodes.map((n) => ({ time: n.timestamp, entries: flattenNode(n.node, path, models, options) }));
      return serialize(baseNameFor(first.node, path), groups);
    });
  },
};
