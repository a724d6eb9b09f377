/**
 * Content formats (spec §8.1 table 8-2 plus the platform's additions, R-FMT-1) and the
 * codec contract every payload format implements, plus a registry keyed by numeric
 * CoAP Content-Format.
 *
 * Codec contract (all codecs, including SenML / LwM2M JSON / CBOR ones plugged in later):
 * - `decode(payload, path, models, options)` returns the node at `path`; kind follows the
 *   path depth: object path → LwM2mObject, instance → LwM2mObjectInstance, resource →
 *   LwM2mResource, resource instance → LwM2mResourceInstance.
 * - `encode(node, path, models, options)` returns the payload bytes.
 * - Both throw only {@link Lwm2mCodecError}; decoders cap payload size and nesting depth.
 */
import { Lwm2mCodecError } from './errors';
import type { ModelProvider } from './model/types';
import type { LwM2mNode, TimestampedLwM2mNode, TimestampedLwM2mNodes } from './node';
import type { LwM2mPath } from './path';

/** Numeric CoAP Content-Format ids used by LwM2M. */
export const ContentFormat = {
  TEXT: 0,
  LINK_FORMAT: 40,
  OPAQUE: 42,
  CBOR: 60,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  /** Legacy (pre-registration) TLV code some older firmware still sends. */
  TLV_LEGACY: 1542,
  /** Legacy (pre-registration) LwM2M JSON code. */
  JSON_LEGACY: 1543,
  TLV: 11542,
  JSON: 11543,
  LWM2M_CBOR: 11544,
} as const;
export type ContentFormatId = (typeof ContentFormat)[keyof typeof ContentFormat];

const MEDIA_TYPES: Readonly<Record<number, string>> = {
  0: 'text/plain',
  40: 'application/link-format',
  42: 'application/octet-stream',
  60: 'application/cbor',
  110: 'application/senml+json',
  112: 'application/senml+cbor',
  1542: 'application/vnd.oma.lwm2m+tlv',
  1543: 'application/vnd.oma.lwm2m+json',
  11542: 'application/vnd.oma.lwm2m+tlv',
  11543: 'application/vnd.oma.lwm2m+json',
  11544: 'application/vnd.oma.lwm2m+cbor',
};

/** IANA media type for a content format, or undefined. */
export function mediaType(format: number): string | undefined {
  return MEDIA_TYPES[format];
}

/** Default caps (bounded allocation). Override per call with {@link CodecOptions}. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 8;

export interface CodecOptions {
  /** Reject resources / objects unknown to the model (default false: fall back to OPAQUE/STRING). */
  readonly strict?: boolean;
  /** Maximum payload size accepted by decoders (default {@link DEFAULT_MAX_PAYLOAD_BYTES}). */
  readonly maxPayloadBytes?: number;
  /** Maximum container nesting (default {@link DEFAULT_MAX_DEPTH}). */
  readonly maxDepth?: number;
  /**
   * TLV only: when encoding an object instance at an object-instance path, wrap the
   * resources in an Object Instance TLV (type 00). Default false: bare resource TLVs,
   * which is what the spec says the platform sends on writes (§8.1: "平台侧下发的写消息是一个或者多个 Resource").
   */
  readonly wrapObjectInstance?: boolean;
}

export interface NodeDecoder {
  decode(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): LwM2mNode;
}

export interface NodeEncoder {
  encode(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): Uint8Array;
}

/** A single-path payload format (text, opaque, TLV, SenML, JSON, CBOR ...). */
export interface NodeCodec extends NodeDecoder, NodeEncoder {
  /** Short name, e.g. "tlv". */
  readonly name: string;
  /** Content formats this codec handles (e.g. TLV: [11542, 1542]). */
  readonly formats: readonly number[];
  /** Whether this format can carry a node at this path (e.g. text/plain: resources only). */
  supportsPath(path: LwM2mPath): boolean;
}

/** Optional extension for formats with timestamps (SenML, LwM2M JSON). */
export interface TimestampedNodeCodec extends NodeCodec {
  decodeTimestamped(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): TimestampedLwM2mNode[];
  encodeTimestamped(nodes: readonly TimestampedLwM2mNode[], path: LwM2mPath, models: ModelProvider, options?: CodecOptions): Uint8Array;
}

/** Optional extension for formats that carry several paths (composite read / notify). */
export interface MultiNodeCodec extends NodeCodec {
  /** Decode nodes at several paths; `paths` undefined = whatever the payload contains. */
  decodeNodes(payload: Uint8Array, paths: readonly LwM2mPath[] | undefined, models: ModelProvider, options?: CodecOptions): Map<string, LwM2mNode>;
  encodeNodes(nodes: ReadonlyMap<string, LwM2mNode>, models: ModelProvider, options?: CodecOptions): Uint8Array;
  decodeTimestampedNodes?(payload: Uint8Array, models: ModelProvider, options?: CodecOptions): TimestampedLwM2mNodes;
}

export function isTimestampedCodec(c: NodeCodec): c is TimestampedNodeCodec {
  return typeof (c as Partial<TimestampedNodeCodec>).decodeTimestamped === 'function';
}
export function isMultiNodeCodec(c: NodeCodec): c is MultiNodeCodec {
  return typeof (c as Partial<MultiNodeCodec>).decodeNodes === 'function';
}

/**
 * Content-format → codec registry. {@link createDefaultContentFormatRegistry} (in index)
 * returns one with text, opaque and TLV (11542 + 1542) registered; the SenML / JSON /
 * CBOR codecs register themselves into it with {@link ContentFormatRegistry.register}.
 */
export class ContentFormatRegistry {
  private readonly codecs = new Map<number, NodeCodec>();

  constructor(codecs: Iterable<NodeCodec> = []) {
    for (const c of codecs) this.register(c);
  }

  /** Register (or replace) a codec for all its formats. Returns this. */
  register(codec: NodeCodec): this {
    for (const f of codec.formats) this.codecs.set(f, codec);
    return this;
  }

  has(format: number): boolean {
    return this.codecs.has(format);
  }

  get(format: number): NodeCodec | undefined {
    return this.codecs.get(format);
  }

  /** Codec or throws `Lwm2mCodecError('UNSUPPORTED_FORMAT')`. */
  require(format: number): NodeCodec {
    const c = this.codecs.get(format);
    if (!c) throw new Lwm2mCodecError('UNSUPPORTED_FORMAT', `no codec for content format ${format}`);
    return c;
  }

  /** Registered formats, ascending. */
  formats(): number[] {
    return [...this.codecs.keys()].sort((a, b) => a - b);
  }

  decode(format: number, payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): LwM2mNode {
    return this.require(format).decode(payload, path, models, options);
  }

  encode(format: number, node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): Uint8Array {
    return this.require(format).encode(node, path, models, options);
  }
}

/** Throws PAYLOAD_TOO_LARGE when `payload` exceeds the cap. For decoders. */
export function checkPayloadSize(payload: Uint8Array, options?: CodecOptions): void {
  const max = options?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!(payload instanceof Uint8Array)) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'payload is not a Uint8Array');
  if (payload.length > max) throw new Lwm2mCodecError('PAYLOAD_TOO_LARGE', `payload ${payload.length} bytes > ${max}`);
}
