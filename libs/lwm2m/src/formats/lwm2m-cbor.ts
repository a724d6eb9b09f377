/**
 * LwM2M CBOR (application/vnd.oma.lwm2m+cbor, content format 11544), OMA LwM2M 1.2
 * TS §7.4.7: nested CBOR maps keyed by object id → instance id → resource id →
 * resource-instance id, starting at the root; a key may also be an array of ids (a path
 * fragment, e.g. `[3, 0]`). Leaves are plain CBOR values: INTEGER int, UNSIGNED_INTEGER
 * uint, FLOAT float (or int), BOOLEAN simple, STRING / CORELNK text, OPAQUE byte string,
 * TIME int seconds (tag 1 accepted on decode), OBJLNK text "oid:iid".
 *
 * Decoding: size cap → CBOR pre-scan (depth, item count, only tag 1) → cbor-x → walk →
 * type-aware values through the model. Encoding is canonical: fully nested maps with
 * integer keys in ascending order, shortest integer forms (cbor-x). Empty containers
 * are not represented as nodes on decode (an empty map yields no value).
 */
import { ContentFormat } from '../content-format';
import { Lwm2mCodecError } from '../errors';
import type { ModelProvider } from '../model/types';
import type { LwM2mNode, TypedValue, ValueType } from '../node';
import { LwM2mPath } from '../path';
import { scanCbor } from './senml/cbor-scan';
import {
  buildNode,
  checkPayload,
  flattenNode,
  formatObjlnk,
  guard,
  maxDepth,
  maxRecords,
  parseObjlnk,
  resolveType,
  timeSeconds,
  toFloat,
  toInteger,
  toTime,
  type RecordCodecOptions,
  type RecordMultiNodeCodec,
  type ValueEntry,
} from './senml/common';
import { nodesAtPaths } from './senml/senml-codec-core';
import { cborDecoder, cborEncoder } from './senml/senml-cbor';

const INT64_MAX = 2n ** 63n - 1n;
const MAX_ID = 65535;

function inferType(v: unknown): ValueType {
  if (typeof v === 'string') return 'STRING';
  if (typeof v === 'boolean') return 'BOOLEAN';
  if (typeof v === 'bigint') return v > INT64_MAX ? 'UNSIGNED_INTEGER' : 'INTEGER';
  if (typeof v === 'number') return Number.isInteger(v) ? 'INTEGER' : 'FLOAT';
  if (v instanceof Uint8Array) return 'OPAQUE';
  if (v instanceof Date) return 'TIME';
  throw new Lwm2mCodecError('INVALID_VALUE', 'unsupported CBOR value');
}

function typedValue(type: ValueType, v: unknown, where: string): TypedValue {
  const bad = (): never => {
    throw new Lwm2mCodecError('INVALID_VALUE', `${where} is ${type}: wrong CBOR value type`);
  };
  switch (type) {
    case 'STRING':
    case 'CORELNK':
      return typeof v === 'string' ? { type, value: v } : bad();
    case 'INTEGER':
    case 'UNSIGNED_INTEGER':
      return typeof v === 'number' || typeof v === 'bigint' ? { type, value: toInteger(v, type === 'UNSIGNED_INTEGER') } : bad();
    case 'FLOAT':
      return typeof v === 'number' || typeof v === 'bigint' ? { type, value: toFloat(v) } : bad();
    case 'TIME':
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) bad();
        return { type, value: new Date(v.getTime()) };
      }
      return typeof v === 'number' || typeof v === 'bigint' ? { type, value: toTime(v) } : bad();
    case 'BOOLEAN':
      return typeof v === 'boolean' ? { type, value: v } : bad();
    case 'OPAQUE':
      return v instanceof Uint8Array ? { type, value: new Uint8Array(v) } : bad();
    case 'OBJLNK':
      return typeof v === 'string' ? { type, value: parseObjlnk(v) } : bad();
  }
}

function keyIds(k: unknown): number[] {
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_ID;
  if (ok(k)) return [k];
  if (Array.isArray(k) && k.length >= 1 && k.every(ok)) return k as number[];
  throw new Lwm2mCodecError('INVALID_STRUCTURE', 'LwM2M CBOR keys are ids (0..65535) or arrays of ids');
}

/** Decode an LwM2M CBOR payload into value entries (absolute paths). */
export function decodeLwm2mCborEntries(payload: Uint8Array, models: ModelProvider, options?: RecordCodecOptions): ValueEntry[] {
  return guard(() => {
    checkPayload(payload, options);
    const max = maxRecords(options);
    // 5 map levels + array keys (4 ids) + tag 1; at least the option's depth
    scanCbor(payload, { maxDepth: Math.max(6, maxDepth(options)), maxItems: 8 + max * 12, allowedTags: [1] });
    const doc: unknown = cborDecoder.decode(payload);
    if (!(doc instanceof Map)) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'LwM2M CBOR payload must be a map');
    const out: ValueEntry[] = [];
    const walk = (m: Map<unknown, unknown>, prefix: readonly number[]): void => {
      for (const [k, v] of m) {
        const ids = prefix.concat(keyIds(k));
        if (ids.length > 4) throw new Lwm2mCodecError('INVALID_STRUCTURE', `path /${ids.join('/')} deeper than a resource instance`);
        if (v instanceof Map) {
          if (ids.length === 4) throw new Lwm2mCodecError('INVALID_STRUCTURE', `map below resource instance /${ids.join('/')}`);
          walk(v as Map<unknown, unknown>, ids);
          continue;
        }
        if (ids.length < 3) throw new Lwm2mCodecError('INVALID_STRUCTURE', `value at /${ids.join('/')}, which is not a resource`);
        if (out.length >= max) throw new Lwm2mCodecError('PAYLOAD_TOO_LARGE', `more than ${max} values`);
        const path = LwM2mPath.of(...ids);
        const { type } = resolveType(models, path, options, inferType(v));
        out.push({ path, value: typedValue(type, v, path.toString()) });
      }
    };
    walk(doc as Map<unknown, unknown>, []);
    const seen = new Set<string>();
    for (const e of out) {
      const key = e.path.toString();
      if (seen.has(key)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `duplicate value for ${key}`);
      seen.add(key);
    }
    return out;
  });
}

function leafValue(v: TypedValue): unknown {
  switch (v.type) {
    case 'TIME':
      return timeSeconds(v.value);
    case 'OBJLNK':
      return formatObjlnk(v.value);
    default:
      return v.value;
  }
}

/** Canonical nested maps (ids ascending) for value entries. */
function toNestedMap(entries: readonly ValueEntry[]): Map<number, unknown> {
  const root = new Map<number, unknown>();
  const sorted = [...entries].sort((a, b) => LwM2mPath.compare(a.path, b.path));
  for (const e of sorted) {
    const ids = e.path.toIds();
    let m = root;
    for (let i = 0; i < ids.length - 1; i++) {
      const id = ids[i] as number;
      let next = m.get(id);
      if (!(next instanceof Map)) {
        next = new Map<number, unknown>();
        m.set(id, next);
      }
      m = next as Map<number, unknown>;
    }
    m.set(ids[ids.length - 1] as number, leafValue(e.value));
  }
  return root;
}

function encodeEntries(entries: readonly ValueEntry[]): Uint8Array {
  return new Uint8Array(cborEncoder.encode(toNestedMap(entries)));
}

export const lwm2mCborCodec: RecordMultiNodeCodec = {
  name: 'lwm2m-cbor',
  formats: [ContentFormat.LWM2M_CBOR],
  supportsPath: (path: LwM2mPath) => path.depth >= 1,
  decode(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): LwM2mNode {
    return guard(() => buildNode(path, decodeLwm2mCborEntries(payload, models, options), models, options));
  },
  encode(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array {
    return guard(() => encodeEntries(flattenNode(node, path, models, options)));
  },
  decodeNodes(payload: Uint8Array, paths: readonly LwM2mPath[] | undefined, models: ModelProvider, options?: RecordCodecOptions): Map<string, LwM2mNode> {
    return guard(() => {
      const entries = decodeLwm2mCborEntries(payload, models, options);
      if (paths !== undefined) return nodesAtPaths(entries, paths, models, options);
      const out = new Map<string, LwM2mNode>();
      for (const e of entries) {
        const p = e.path;
        out.set(
          p.toString(),
          (p.depth === 4
            ? { kind: 'resourceInstance', id: p.resourceInstanceId as number, ...e.value }
            : { kind: 'singleResource', id: p.resourceId as number, ...e.value }) as LwM2mNode,
        );
      }
      return out;
    });
  },
  encodeNodes(nodes: ReadonlyMap<string, LwM2mNode>, models: ModelProvider, options?: RecordCodecOptions): Uint8Array {
    return guard(() => {
      const entries: ValueEntry[] = [];
      for (const [k, n] of nodes) {
        let p: LwM2mPath;
        try {
          p = LwM2mPath.parse(k);
        } catch {
          throw new Lwm2mCodecError('INVALID_STRUCTURE', `"${k.slice(0, 60)}" is not an LwM2M path`);
        }
        entries.push(...flattenNode(n, p, models, options));
      }
      const seen = new Set<string>();
      for (const e of entries) {
        const key = e.path.toString();
        if (seen.has(key)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `overlapping nodes at ${key}`);
        seen.add(key);
      }
      return encodeEntries(entries);
    });
  },
};
