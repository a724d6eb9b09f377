/**
 * Message model. A decoded {@link CoapMessage} is a zero-copy view over the datagram:
 * options are kept as (number, offset, length) triples in one flat array and values are
 * only turned into strings/numbers/objects when a getter asks for them.
 */
import { COAP_TYPE_NAMES, CoapType, OptionNumber, formatCode } from './constants';
import {
  BlockValue,
  OPTION_FLAGS,
  OPTION_MAX,
  OPTION_MIN,
  OPTION_TABLE_SIZE,
  OPT_KNOWN,
  decodeBlock,
  decodeString,
  decodeUint,
} from './options';

export interface CoapOption {
  readonly number: number;
  readonly value: Uint8Array;
}

/** Input of `encode()`: a plain object (options in any order; sorted stably by number). */
export interface CoapMessageInit {
  readonly type: CoapType;
  /** One-byte code: class << 5 | detail (see `CoapCode`, `makeCode`). */
  readonly code: number;
  /** Message ID 0..65535. */
  readonly mid: number;
  /** 0..8 bytes. */
  readonly token?: Uint8Array;
  readonly options?: readonly CoapOption[];
  readonly payload?: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * A decoded message. It references the datagram passed to `decode()` (no copy): if the
 * caller reuses that buffer, call {@link CoapMessage.clone} first.
 */
export class CoapMessage implements CoapMessageInit {
  private _options: CoapOption[] | undefined;

  /** @internal use `decode()`. `opts` holds [number, offset, length] triples in wire order. */
  constructor(
    /** The whole datagram. */
    readonly raw: Uint8Array,
    readonly type: CoapType,
    readonly code: number,
    readonly mid: number,
    private readonly tkl: number,
    private readonly opts: readonly number[],
    private readonly payloadStart: number,
  ) {}

  get version(): 1 {
    return 1;
  }
  /** Token bytes (a view into `raw`). */
  get token(): Uint8Array {
    return this.tkl === 0 ? EMPTY : this.raw.subarray(4, 4 + this.tkl);
  }
  /** Payload bytes (a view into `raw`; empty when there is none). */
  get payload(): Uint8Array {
    return this.payloadStart >= this.raw.length ? EMPTY : this.raw.subarray(this.payloadStart);
  }
  get payloadLength(): number {
    return this.raw.length - this.payloadStart;
  }
  get typeName(): 'CON' | 'NON' | 'ACK' | 'RST' {
    return COAP_TYPE_NAMES[this.type];
  }
  /** `c.dd`, e.g. `2.05`. */
  get codeText(): string {
    return formatCode(this.code);
  }
  get isEmpty(): boolean {
    return this.code === 0;
  }
  get isRequest(): boolean {
    return this.code !== 0 && this.code >>> 5 === 0;
  }
  get isResponse(): boolean {
    return this.code >>> 5 >= 2;
  }

  /** Number of options (including repeated ones). */
  get optionCount(): number {
    return this.opts.length / 3;
  }
  optionNumberAt(i: number): number {
    return this.opts[i * 3]!;
  }
  optionValueAt(i: number): Uint8Array {
    const o = this.opts[i * 3 + 1]!;
    return this.raw.subarray(o, o + this.opts[i * 3 + 2]!);
  }

  /** All options in wire order (materialised on first access, then cached). */
  get options(): readonly CoapOption[] {
    if (this._options === undefined) {
      const out: CoapOption[] = [];
      const t = this.opts;
      for (let i = 0; i < t.length; i += 3) {
        out.push({ number: t[i]!, value: this.raw.subarray(t[i + 1]!, t[i + 1]! + t[i + 2]!) });
      }
      this._options = out;
    }
    return this._options;
  }

  /** Index of the first occurrence of option `n` in the triple array, or -1. */
  private find(n: number): number {
    const t = this.opts;
    for (let i = 0; i < t.length; i += 3) {
      const x = t[i]!;
      if (x === n) return i;
      if (x > n) return -1;
    }
    return -1;
  }

  /**
   * For known options, a value whose length is outside the option's range is treated as
   * absent (RFC 7252 §5.4.3: like an unrecognised option; critical ones are rejected by decode).
   */
  private validLength(n: number, len: number): boolean {
    if (n >= OPTION_TABLE_SIZE || (OPTION_FLAGS[n]! & OPT_KNOWN) === 0) return true;
    return len >= OPTION_MIN[n]! && len <= OPTION_MAX[n]!;
  }

  has(n: number): boolean {
    return this.find(n) >= 0;
  }

  /** First value of option `n` (a view), or undefined. */
  first(n: number): Uint8Array | undefined {
    const i = this.find(n);
    if (i < 0) return undefined;
    const o = this.opts[i + 1]!;
    return this.raw.subarray(o, o + this.opts[i + 2]!);
  }

  /** All values of option `n`, in order. */
  all(n: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const t = this.opts;
    for (let i = this.find(n); i >= 0 && i < t.length && t[i] === n; i += 3) {
      out.push(this.raw.subarray(t[i + 1]!, t[i + 1]! + t[i + 2]!));
    }
    return out;
  }

  /** First value of option `n` as a uint, or undefined (absent or bad length). */
  uint(n: number): number | undefined {
    const i = this.find(n);
    if (i < 0) return undefined;
    const len = this.opts[i + 2]!;
    if (!this.validLength(n, len)) return undefined;
    return decodeUint(this.raw, this.opts[i + 1]!, len);
  }

  /** All values of a string option (e.g. Uri-Path segments), decoded as UTF-8. */
  strings(n: number): string[] {
    const out: string[] = [];
    const t = this.opts;
    for (let i = this.find(n); i >= 0 && i < t.length && t[i] === n; i += 3) {
      out.push(decodeString(this.raw, t[i + 1]!, t[i + 2]!));
    }
    return out;
  }

  private block(n: number): BlockValue | undefined {
    const i = this.find(n);
    if (i < 0) return undefined;
    const len = this.opts[i + 2]!;
    if (len > 3) return undefined;
    return decodeBlock(this.raw, this.opts[i + 1]!, len);
  }

  get uriPath(): string[] {
    return this.strings(OptionNumber.URI_PATH);
  }
  /** Uri-Path joined with '/', with a leading '/' (e.g. `/rd/5a3f`). Segments are not percent-encoded. */
  get uriPathString(): string {
    return '/' + this.uriPath.join('/');
  }
  get uriQuery(): string[] {
    return this.strings(OptionNumber.URI_QUERY);
  }
  get locationPath(): string[] {
    return this.strings(OptionNumber.LOCATION_PATH);
  }
  get locationQuery(): string[] {
    return this.strings(OptionNumber.LOCATION_QUERY);
  }
  get uriHost(): string | undefined {
    const v = this.strings(OptionNumber.URI_HOST);
    return v[0];
  }
  get uriPort(): number | undefined {
    return this.uint(OptionNumber.URI_PORT);
  }
  get contentFormat(): number | undefined {
    return this.uint(OptionNumber.CONTENT_FORMAT);
  }
  get accept(): number | undefined {
    return this.uint(OptionNumber.ACCEPT);
  }
  /** Observe value (RFC 7641): 0 register / 1 deregister in requests, sequence number in notifications. */
  get observe(): number | undefined {
    return this.uint(OptionNumber.OBSERVE);
  }
  get maxAge(): number | undefined {
    return this.uint(OptionNumber.MAX_AGE);
  }
  get size1(): number | undefined {
    return this.uint(OptionNumber.SIZE1);
  }
  get size2(): number | undefined {
    return this.uint(OptionNumber.SIZE2);
  }
  get block1(): BlockValue | undefined {
    return this.block(OptionNumber.BLOCK1);
  }
  get block2(): BlockValue | undefined {
    return this.block(OptionNumber.BLOCK2);
  }
  get etags(): Uint8Array[] {
    return this.all(OptionNumber.ETAG);
  }
  get ifMatch(): Uint8Array[] {
    return this.all(OptionNumber.IF_MATCH);
  }
  get ifNoneMatch(): boolean {
    return this.has(OptionNumber.IF_NONE_MATCH);
  }

  /** A copy detached from the datagram buffer. */
  clone(): CoapMessage {
    return new CoapMessage(new Uint8Array(this.raw), this.type, this.code, this.mid, this.tkl, this.opts, this.payloadStart);
  }

  /** A plain object with copied bytes (suitable for `encode()`, equality checks, logging). */
  toInit(): {
    type: CoapType;
    code: number;
    mid: number;
    token: Uint8Array;
    options: CoapOption[];
    payload: Uint8Array;
  } {
    return {
      type: this.type,
      code: this.code,
      mid: this.mid,
      token: new Uint8Array(this.token),
      options: this.options.map((o) => ({ number: o.number, value: new Uint8Array(o.value) })),
      payload: new Uint8Array(this.payload),
    };
  }
}
