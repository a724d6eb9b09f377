/**
 * Option registry and option value helpers (RFC 7252 §3.2, §5.10; RFC 7641 §2; RFC 7959 §2.2).
 */
import { CoapEncodeError } from './errors';
import { OptionNumber } from './constants';

export type OptionFormat = 'empty' | 'opaque' | 'uint' | 'string';

export interface OptionDefinition {
  number: number;
  name: string;
  format: OptionFormat;
  minLength: number;
  maxLength: number;
  repeatable: boolean;
  /**
   * Recognised by default by `decode()`. A critical option that is not recognised makes a
   * request fail with 4.02 (RFC 7252 §5.4.1). OSCORE and Q-Block are registered (so their
   * lengths can be checked) but not recognised: this library does not implement them.
   */
  recognized: boolean;
}

const D = (
  number: number,
  name: string,
  format: OptionFormat,
  minLength: number,
  maxLength: number,
  repeatable = false,
  recognized = true,
): OptionDefinition => ({ number, name, format, minLength, maxLength, repeatable, recognized });

/** Known options, by number. */
export const OPTION_DEFINITIONS: readonly OptionDefinition[] = [
  D(OptionNumber.IF_MATCH, 'If-Match', 'opaque', 0, 8, true),
  D(OptionNumber.URI_HOST, 'Uri-Host', 'string', 1, 255),
  D(OptionNumber.ETAG, 'ETag', 'opaque', 1, 8, true),
  D(OptionNumber.IF_NONE_MATCH, 'If-None-Match', 'empty', 0, 0),
  D(OptionNumber.OBSERVE, 'Observe', 'uint', 0, 3),
  D(OptionNumber.URI_PORT, 'Uri-Port', 'uint', 0, 2),
  D(OptionNumber.LOCATION_PATH, 'Location-Path', 'string', 0, 255, true),
  D(OptionNumber.OSCORE, 'OSCORE', 'opaque', 0, 255, false, false),
  D(OptionNumber.URI_PATH, 'Uri-Path', 'string', 0, 255, true),
  D(OptionNumber.CONTENT_FORMAT, 'Content-Format', 'uint', 0, 2),
  D(OptionNumber.MAX_AGE, 'Max-Age', 'uint', 0, 4),
  D(OptionNumber.URI_QUERY, 'Uri-Query', 'string', 0, 255, true),
  D(OptionNumber.HOP_LIMIT, 'Hop-Limit', 'uint', 1, 1),
  D(OptionNumber.ACCEPT, 'Accept', 'uint', 0, 2),
  D(OptionNumber.Q_BLOCK1, 'Q-Block1', 'uint', 0, 3, false, false),
  D(OptionNumber.LOCATION_QUERY, 'Location-Query', 'string', 0, 255, true),
  D(OptionNumber.BLOCK2, 'Block2', 'uint', 0, 3),
  D(OptionNumber.BLOCK1, 'Block1', 'uint', 0, 3),
  D(OptionNumber.SIZE2, 'Size2', 'uint', 0, 4),
  D(OptionNumber.Q_BLOCK2, 'Q-Block2', 'uint', 0, 3, false, false),
  D(OptionNumber.PROXY_URI, 'Proxy-Uri', 'string', 1, 1034),
  D(OptionNumber.PROXY_SCHEME, 'Proxy-Scheme', 'string', 1, 255),
  D(OptionNumber.SIZE1, 'Size1', 'uint', 0, 4),
  D(OptionNumber.ECHO, 'Echo', 'opaque', 1, 40),
  D(OptionNumber.NO_RESPONSE, 'No-Response', 'uint', 0, 1),
  D(OptionNumber.REQUEST_TAG, 'Request-Tag', 'opaque', 0, 8, true),
];

/** Size of the lookup tables; numbers at or above are unknown. */
export const OPTION_TABLE_SIZE = 293;
/** Flag bits in {@link OPTION_FLAGS}. */
export const OPT_KNOWN = 1;
export const OPT_REPEATABLE = 2;
export const OPT_RECOGNIZED = 4;
/** Per option number: flags (known/repeatable/recognised). */
export const OPTION_FLAGS = new Uint8Array(OPTION_TABLE_SIZE);
/** Per option number: minimum value length. */
export const OPTION_MIN = new Uint16Array(OPTION_TABLE_SIZE);
/** Per option number: maximum value length. */
export const OPTION_MAX = new Uint16Array(OPTION_TABLE_SIZE);

const byNumber = new Map<number, OptionDefinition>();
for (const d of OPTION_DEFINITIONS) {
  byNumber.set(d.number, d);
  OPTION_FLAGS[d.number] = OPT_KNOWN | (d.repeatable ? OPT_REPEATABLE : 0) | (d.recognized ? OPT_RECOGNIZED : 0);
  OPTION_MIN[d.number] = d.minLength;
  OPTION_MAX[d.number] = d.maxLength;
}

export function optionDefinition(number: number): OptionDefinition | undefined {
  return byNumber.get(number);
}

/** Human-readable option name (`Uri-Path`), or the number as a string when unknown. */
export function optionName(number: number): string {
  return byNumber.get(number)?.name ?? String(number);
}

// ---------------------------------------------------------------------------
// uint (RFC 7252 §3.2: big-endian, minimal length, 0 is the empty string)
// ---------------------------------------------------------------------------

const EMPTY = new Uint8Array(0);

/** Number of bytes of the minimal uint encoding of `v` (0..2^32-1). */
export function uintLength(v: number): number {
  return v === 0 ? 0 : v < 0x100 ? 1 : v < 0x10000 ? 2 : v < 0x1000000 ? 3 : 4;
}

function checkUint(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new CoapEncodeError(`uint option value out of range (0..2^32-1): ${v}`);
  }
}

/** Minimal-length big-endian encoding (RFC 7252 §3.2); 0 encodes as zero bytes. */
export function encodeUint(v: number): Uint8Array {
  checkUint(v);
  const n = uintLength(v);
  if (n === 0) return EMPTY;
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  return out;
}

/**
 * Decodes a big-endian uint of `len` bytes (leading zero bytes are accepted, RFC 7252 §3.2).
 * Lengths above 6 lose precision; known uint options are at most 4 bytes.
 */
export function decodeUint(buf: Uint8Array, start = 0, len = buf.length - start): number {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + buf[start + i]!;
  return v;
}

// ---------------------------------------------------------------------------
// Block1 / Block2 (RFC 7959 §2.2)
// ---------------------------------------------------------------------------

export interface BlockValue {
  /** Block number, 0..2^20-1. */
  num: number;
  /** More flag (M). */
  more: boolean;
  /** Size exponent 0..6 (7 is reserved); block size = 2^(szx+4). */
  szx: number;
}

/** Block size in bytes for an SZX (16..1024; 2048 for the reserved 7, see RFC 8323 BERT). */
export function szxToSize(szx: number): number {
  return 1 << (szx + 4);
}

/** SZX for a block size (16, 32, ..., 1024); undefined for other sizes. */
export function sizeToSzx(size: number): number | undefined {
  switch (size) {
    case 16: return 0;
    case 32: return 1;
    case 64: return 2;
    case 128: return 3;
    case 256: return 4;
    case 512: return 5;
    case 1024: return 6;
    default: return undefined;
  }
}

/** Largest block number (20 bits in a 3-byte option). */
export const MAX_BLOCK_NUM = 0xfffff;

/** Decodes a Block1/Block2 option value (0..3 bytes). */
export function decodeBlock(buf: Uint8Array, start = 0, len = buf.length - start): BlockValue {
  const v = decodeUint(buf, start, len);
  return { num: Math.floor(v / 16), more: (v & 0x08) !== 0, szx: v & 0x07 };
}

/** Minimal-length encoding of a Block1/Block2 option value. */
export function encodeBlock(b: BlockValue): Uint8Array {
  if (!Number.isInteger(b.num) || b.num < 0 || b.num > MAX_BLOCK_NUM) {
    throw new CoapEncodeError(`block number out of range (0..${MAX_BLOCK_NUM}): ${b.num}`);
  }
  if (!Number.isInteger(b.szx) || b.szx < 0 || b.szx > 6) {
    throw new CoapEncodeError(`block SZX out of range (0..6): ${b.szx}`);
  }
  return encodeUint(b.num * 16 + (b.more ? 8 : 0) + b.szx);
}

// ---------------------------------------------------------------------------
// strings (UTF-8)
// ---------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8');
const utf8enc = new TextEncoder();

/** Decodes a UTF-8 option value (invalid sequences become U+FFFD). */
export function decodeString(buf: Uint8Array, start = 0, len = buf.length - start): string {
  return len === 0 ? '' : utf8.decode(buf.subarray(start, start + len));
}

export function encodeString(s: string): Uint8Array {
  return utf8enc.encode(s);
}
