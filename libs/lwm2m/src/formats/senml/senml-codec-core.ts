/**
 * The format-independent half of the SenML codecs: given a parser (bytes → raw
 * records) and a serializer (raw records → bytes), builds the decode / encode
 * operations of NodeCodec, TimestampedNodeCodec and MultiNodeCodec.
 */
import { Lwm2mCodecError } from '../../errors';
import type { ModelProvider } from '../../model/types';
import type { LwM2mNode, TimestampedLwM2mNode, TimestampedLwM2mNodes } from '../../node';
import { LwM2mPath } from '../../path';
import {
  baseNameFor,
  buildNode,
  flattenNode,
  groupByTime,
  guard,
  latestPerPath,
  type RecordCodecOptions,
  type TimedValueEntry,
  type ValueEntry,
} from './common';
import { recordsFor, resolveSenml, senmlEntries, senmlPaths, type SenmlRecord } from './senml-record';
import type { SenmlCodec } from './common';

export type SenmlParser = (payload: Uint8Array, options?: RecordCodecOptions) => SenmlRecord[];
export type SenmlSerializer = (records: readonly SenmlRecord[]) => Uint8Array;

/** The node at a value entry's own path (composite results without requested paths). */
function leafNode(e: ValueEntry): LwM2mNode {
  const p = e.path;
  return p.depth === 4
    ? ({ kind: 'resourceInstance', id: p.resourceInstanceId as number, ...e.value } as LwM2mNode)
    : ({ kind: 'singleResource', id: p.resourceId as number, ...e.value } as LwM2mNode);
}

function parsePathKey(key: string): LwM2mPath {
  try {
    return LwM2mPath.parse(key);
  } catch {
    throw new Lwm2mCodecError('INVALID_STRUCTURE', `"${key.slice(0, 60)}" is not an LwM2M path`);
  }
}

/** Nodes at the requested paths (paths without any value are left out). */
export function nodesAtPaths(entries: readonly ValueEntry[], paths: readonly LwM2mPath[], models: ModelProvider, options: RecordCodecOptions | undefined): Map<string, LwM2mNode> {
  const out = new Map<string, LwM2mNode>();
  const used = new Set<ValueEntry>();
  for (const p of paths) {
    const mine = entries.filter((e) => p.isPrefixOf(e.path));
    mine.forEach((e) => used.add(e));
    if (mine.length > 0) out.set(p.toString(), buildNode(p, mine, models, options));
  }
  if (used.size !== entries.length) {
    const stray = entries.find((e) => !used.has(e));
    throw new Lwm2mCodecError('INVALID_STRUCTURE', `${stray?.path.toString() ?? '?'} is outside every requested path`);
  }
  return out;
}

export function senmlDecoderCore(parse: SenmlParser) {
  const entriesOf = (payload: Uint8Array, models: ModelProvider, options: RecordCodecOptions | undefined): TimedValueEntry[] =>
    senmlEntries(resolveSenml(parse(payload, options), options), models, options);
  return {
    /** Node at `path`; for time series, the latest value per path. */
    decode(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): LwM2mNode {
      return guard(() => buildNode(path, latestPerPath(entriesOf(payload, models, options)), models, options));
    },
    /** One node per distinct time, in order of first appearance. */
    decodeTimestamped(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): TimestampedLwM2mNode[] {
      return guard(() => {
        const groups = groupByTime(entriesOf(payload, models, options));
        if (groups.length === 0) return [{ timestamp: undefined, node: buildNode(path, [], models, options) }];
        return groups.map((g) => ({ timestamp: g.time, node: buildNode(path, g.entries, models, options) }));
      });
    },
    /** Nodes at `paths` (or, without paths, one leaf node per value path). */
    decodeNodes(payload: Uint8Array, paths: readonly LwM2mPath[] | undefined, models: ModelProvider, options?: RecordCodecOptions): Map<string, LwM2mNode> {
      return guard(() => {
        const entries = latestPerPath(entriesOf(payload, models, options));
        if (paths !== undefined) return nodesAtPaths(entries, paths, models, options);
        const out = new Map<string, LwM2mNode>();
        for (const e of entries) out.set(e.path.toString(), leafNode(e));
        return out;
      });
    },
    /** All values grouped by time; each group maps value paths to leaf nodes. */
    decodeTimestampedNodes(payload: Uint8Array, models: ModelProvider, options?: RecordCodecOptions): TimestampedLwM2mNodes {
      return guard(() => ({
        entries: groupByTime(entriesOf(payload, models, options)).map((g) => ({
          timestamp: g.time,
          nodes: new Map(g.entries.map((e) => [e.path.toString(), leafNode(e)] as const)),
        })),
      }));
    },
    /** Paths named by the records (composite request bodies; values not required). */
    decodePaths(payload: Uint8Array, options?: RecordCodecOptions): LwM2mPath[] {
      return guard(() => senmlPaths(resolveSenml(parse(payload, options), options)));
    },
  };
}

export function senmlEncoderCore(serialize: SenmlSerializer) {
  return {
    encode(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array {
      return guard(() => serialize(recordsFor(baseNameFor(node, path), flattenNode(node, path, models, options), undefined, true)));
    },
    /**
     * Time series of one path. Groups without a timestamp go first (a `bt` once set
     * applies to every later record); each timed group starts with its `bt`.
     */
    encodeTimestamped(nodes: readonly TimestampedLwM2mNode[], path: LwM2mPath, models: ModelProvider, options?: RecordCodecOptions): Uint8Array {
      return guard(() => {
        const ordered = [...nodes.filter((n) => n.timestamp === undefined), ...nodes.filter((n) => n.timestamp !== undefined)];
        const records: SenmlRecord[] = [];
        for (const tn of ordered) {
          const entries = flattenNode(tn.node, path, models, options);
          records.push(...recordsFor(baseNameFor(tn.node, path), entries, tn.timestamp, !records.some((r) => r.bn !== undefined)));
        }
        return serialize(records);
      });
    },
    /** Several nodes (composite): each node's records start with its own `bn`. Keys ascending. */
    encodeNodes(nodes: ReadonlyMap<string, LwM2mNode>, models: ModelProvider, options?: RecordCodecOptions): Uint8Array {
      return guard(() => {
        const keyed = [...nodes].map(([k, n]) => [parsePathKey(k), n] as const).sort((a, b) => LwM2mPath.compare(a[0], b[0]));
        const records: SenmlRecord[] = [];
        for (const [p, n] of keyed) records.push(...recordsFor(baseNameFor(n, p), flattenNode(n, p, models, options), undefined, true));
        return serialize(records);
      });
    },
  };
}

/** A SenML codec (JSON 110 or CBOR 112) from its record parser and serializer. */
export function senmlCodec(name: string, format: number, parse: SenmlParser, serialize: SenmlSerializer): SenmlCodec {
  const decoder = senmlDecoderCore(parse);
  const encoder = senmlEncoderCore(serialize);
  return {
    name,
    formats: [format],
    supportsPath: (path) => path.depth >= 1,
    decode: (payload, path, models, options) => decoder.decode(payload, path, models, options),
    encode: (node, path, models, options) => encoder.encode(node, path, models, options),
    decodeTimestamped: (payload, path, models, options) => decoder.decodeTimestamped(payload, path, models, options),
    encodeTimestamped: (nodes, path, models, options) => encoder.encodeTimestamped(nodes, path, models, options),
    decodeNodes: (payload, paths, models, options) => decoder.decodeNodes(payload, paths, models, options),
    encodeNodes: (nodes, models, options) => encoder.encodeNodes(nodes, models, options),
    decodeTimestampedNodes: (payload, models, options) => decoder.decodeTimestampedNodes(payload, models, options),
    decodePaths: (payload, options) => decoder.decodePaths(payload, options),
  };
}
