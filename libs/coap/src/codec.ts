/**
 * CoAP message codec (RFC 7252 §3, §4.1–4.3, §5.4; RFC 7959 §2.2).
 *
 * `decode()` throws only {@link CoapParseError}; `tryDecode()` returns a result object.
 * `encode()` / `encodeInto()` throw {@link CoapEncodeError} for invalid input.
 */
import { CoapType, MAX_OPTION_NUMBER, MAX_OPTION_VALUE_LENGTH, MAX_TOKEN_LENGTH, OptionNumber } from './constants';
import { CoapEncodeError, CoapParseAction, CoapParseError, CoapParseReason } from './errors';
import { CoapMessage, CoapMessageInit, CoapOption } from './message';
import { OPTION_FLAGS, OPTION_MAX, OPTION_MIN, OPTION_TABLE_SIZE, OPT_KNOWN, OPT_RECOGNIZED, OPT_REPEATABLE } from './options';

export interface DecodeOptions {
  /**
   * Extra critical option numbers the caller understands (e.g. OSCORE 9). Unrecognised
   * critical options make decode fail with `UNRECOGNIZED_CRITICAL_OPTION` (RFC 7252 §5.4.1).
   */
  readonly recognizedCritical?: ReadonlySet<number>;
  /** Set to false to accept unrecognised critical options (the caller checks them). Default true. */
  readonly rejectUnrecognizedCritical?: boolean;
}

export type DecodeResult = { ok: true; message: CoapMessage } | { ok: false; error: CoapParseError };

const EMPTY_SET: ReadonlySet<number> = new Set();

function fail(
  reason: CoapParseReason,
  action: CoapParseAction,
  offset: number,
  buf: Uint8Array,
  tokenReadable: boolean,
  option?: number,
): never {
  const headerReadable = buf.length >= 4;
  const tkl = headerReadable ? buf[0]! & 0x0f : 0;
  throw new CoapParseError({
    reason,
    action,
    offset,
    type: headerReadable ? (buf[0]! >> 4) & 3 : undefined,
    code: headerReadable ? buf[1] : undefined,
    mid: headerReadable ? (buf[2]! << 8) | buf[3]! : undefined,
    token: tokenReadable && headerReadable && tkl <= 8 && buf.length >= 4 + tkl ? new Uint8Array(buf.subarray(4, 4 + tkl)) : undefined,
    option,
  });
}

/** Action for an option-level problem (RFC 7252 §5.4.1): 4.02 for CON requests, RST for CON responses, else ignore. */
function optionAction(type: number, code: number): CoapParseAction {
  if (type !== CoapType.CON) return 'IGNORE';
  return code >>> 5 === 0 ? 'BAD_OPTION' : 'RST';
}

/**
 * Decodes one datagram. Throws {@link CoapParseError} (and nothing else) on malformed input;
 * the error's `action` says how to answer (RST / IGNORE / 4.00 / 4.02).
 * The returned message is a view over `buf` (no copy).
 */
export function decode(buf: Uint8Array, opts?: DecodeOptions): CoapMessage {
  const len = buf.length;
  if (len < 4) fail('TRUNCATED_HEADER', 'IGNORE', 0, buf, false);
  const b0 = buf[0]!;
  if (b0 >> 6 !== 1) fail('BAD_VERSION', 'IGNORE', 0, buf, false);
  const type = ((b0 >> 4) & 3) as CoapType;
  const tkl = b0 & 0x0f;
  const code = buf[1]!;
  const mid = (buf[2]! << 8) | buf[3]!;
  const formatAction: CoapParseAction = type === CoapType.CON ? 'RST' : 'IGNORE';

  if (tkl > MAX_TOKEN_LENGTH) fail('TKL_RESERVED', formatAction, 0, buf, false);
  if (code === 0) {
    if (len !== 4 || tkl !== 0) fail('EMPTY_MESSAGE_NOT_EMPTY', formatAction, 4, buf, false);
    if (type === CoapType.NON) fail('EMPTY_NON', 'IGNORE', 1, buf, false);
    return new CoapMessage(buf, type, 0, mid, 0, [], 4);
  }
  const cls = code >>> 5;
  if (cls === 1 || cls >= 6) fail('RESERVED_CODE_CLASS', formatAction, 1, buf, false);
  if (type === CoapType.RST) fail(cls === 0 ? 'REQUEST_IN_RST' : 'RESPONSE_IN_RST', 'IGNORE', 1, buf, false);
  if (type === CoapType.ACK && cls === 0) fail('REQUEST_IN_ACK', 'IGNORE', 1, buf, false);
  let pos = 4 + tkl;
  if (pos > len) fail('TRUNCATED_TOKEN', formatAction, 4, buf, false);

  const triples: number[] = [];
  let number = 0;
  let payloadStart = len;
  // First option-level (semantic) problem; reported only if the rest of the datagram is well formed.
  let semReason: CoapParseReason | undefined;
  let semOffset = 0;
  let semOption = 0;
  let semAction: CoapParseAction = 'IGNORE';
  let extraCritical: ReadonlySet<number> | undefined;
  const checkCritical = opts?.rejectUnrecognizedCritical !== false;

  while (pos < len) {
    const start = pos;
    const b = buf[pos++]!;
    if (b === 0xff) {
      if (pos === len) fail('PAYLOAD_MARKER_EMPTY_PAYLOAD', formatAction, start, buf, true);
      payloadStart = pos;
      break;
    }
    let delta = b >> 4;
    let olen = b & 0x0f;
    if (delta === 13) {
      if (pos >= len) fail('TRUNCATED_OPTION', formatAction, start, buf, true);
      delta = buf[pos++]! + 13;
    } else if (delta === 14) {
      if (pos + 1 >= len) fail('TRUNCATED_OPTION', formatAction, start, buf, true);
      delta = ((buf[pos]! << 8) | buf[pos + 1]!) + 269;
      pos += 2;
    } else if (delta === 15) {
      fail('OPTION_DELTA_RESERVED', formatAction, start, buf, true);
    }
    if (olen === 13) {
      if (pos >= len) fail('TRUNCATED_OPTION', formatAction, start, buf, true);
      olen = buf[pos++]! + 13;
    } else if (olen === 14) {
      if (pos + 1 >= len) fail('TRUNCATED_OPTION', formatAction, start, buf, true);
      olen = ((buf[pos]! << 8) | buf[pos + 1]!) + 269;
      pos += 2;
    } else if (olen === 15) {
      fail('OPTION_LENGTH_RESERVED', formatAction, start, buf, true);
    }
    if (pos + olen > len) fail('TRUNCATED_OPTION', formatAction, start, buf, true);
    number += delta;
    if (number > MAX_OPTION_NUMBER) fail('OPTION_NUMBER_TOO_LARGE', formatAction, start, buf, true);
    triples.push(number, pos, olen);

    if (semReason === undefined && (number & 1) === 1) {
      // Critical option checks (elective problems are ignored: getters treat them as absent).
      const flags = number < OPTION_TABLE_SIZE ? OPTION_FLAGS[number]! : 0;
      let r: CoapParseReason | undefined;
      if ((flags & OPT_RECOGNIZED) === 0) {
        if (checkCritical) {
          extraCritical ??= opts?.recognizedCritical ?? EMPTY_SET;
          if (!extraCritical.has(number)) r = 'UNRECOGNIZED_CRITICAL_OPTION';
        }
      }
      if (r === undefined && (flags & OPT_KNOWN) !== 0) {
        if (olen < OPTION_MIN[number]! || olen > OPTION_MAX[number]!) r = 'BAD_OPTION_VALUE_LENGTH';
        else if (delta === 0 && triples.length > 3 && (flags & OPT_REPEATABLE) === 0) r = 'REPEATED_CRITICAL_OPTION';
        else if ((number === OptionNumber.BLOCK2 || number === OptionNumber.BLOCK1) && olen > 0 && (buf[pos + olen - 1]! & 7) === 7) {
          r = 'BLOCK_SZX_RESERVED';
        }
      }
      if (r !== undefined) {
        semReason = r;
        semOffset = start;
        semOption = number;
        semAction =
          r === 'BLOCK_SZX_RESERVED' ? (cls === 0 ? 'BAD_REQUEST' : formatAction) : optionAction(type, code);
      }
    }
    pos += olen;
  }
  if (semReason !== undefined) fail(semReason, semAction, semOffset, buf, true, semOption);
  return new CoapMessage(buf, type, code, mid, tkl, triples, payloadStart);
}

/** Like {@link decode} but returns a result object instead of throwing. */
export function tryDecode(buf: Uint8Array, opts?: DecodeOptions): DecodeResult {
  try {
    return { ok: true, message: decode(buf, opts) };
  } catch (e) {
    if (e instanceof CoapParseError) return { ok: false, error: e };
    throw e; // unreachable by contract; never swallow bugs
  }
}

// ---------------------------------------------------------------------------
// encode
// ---------------------------------------------------------------------------

const EMPTY = new Uint8Array(0);

function byNumber(a: CoapOption, b: CoapOption): number {
  return a.number - b.number;
}

/** Options sorted by number (stable: repeated options keep their order); no copy if already sorted. */
function sortedOptions(options: readonly CoapOption[] | undefined): readonly CoapOption[] {
  if (options === undefined || options.length === 0) return [];
  let prev = -1;
  for (let i = 0; i < options.length; i++) {
    const n = options[i]!.number;
    if (n < prev) return options.slice().sort(byNumber);
    prev = n;
  }
  return options;
}

function validate(msg: CoapMessageInit, options: readonly CoapOption[], tokenLen: number, payloadLen: number): void {
  const { type, code, mid } = msg;
  if (type !== 0 && type !== 1 && type !== 2 && type !== 3) throw new CoapEncodeError(`invalid type: ${String(type)}`);
  if (!Number.isInteger(code) || code < 0 || code > 0xff) throw new CoapEncodeError(`invalid code: ${code}`);
  const cls = code >>> 5;
  if (cls === 1 || cls >= 6) throw new CoapEncodeError(`reserved code class: ${cls}`);
  if (!Number.isInteger(mid) || mid < 0 || mid > 0xffff) throw new CoapEncodeError(`invalid message ID: ${mid}`);
  if (tokenLen > MAX_TOKEN_LENGTH) throw new CoapEncodeError(`token longer than 8 bytes: ${tokenLen}`);
  if (code === 0 && (tokenLen !== 0 || options.length !== 0 || payloadLen !== 0)) {
    throw new CoapEncodeError('Empty message (0.00) must not carry a token, options or payload');
  }
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    if (!Number.isInteger(o.number) || o.number < 0 || o.number > MAX_OPTION_NUMBER) {
      throw new CoapEncodeError(`invalid option number: ${o.number}`);
    }
    if (o.value.length > MAX_OPTION_VALUE_LENGTH) throw new CoapEncodeError(`option ${o.number} value too long`);
  }
}

function extLen(v: number): number {
  return v < 13 ? 0 : v < 269 ? 1 : 2;
}

function optionsLength(options: readonly CoapOption[]): number {
  let n = 0;
  let prev = 0;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    const l = o.value.length;
    n += 1 + extLen(o.number - prev) + extLen(l) + l;
    prev = o.number;
  }
  return n;
}

/** Exact encoded size in bytes. */
export function encodedLength(msg: CoapMessageInit): number {
  if (msg instanceof CoapMessage) return msg.raw.length;
  const token = msg.token ?? EMPTY;
  const payload = msg.payload ?? EMPTY;
  const options = sortedOptions(msg.options);
  return 4 + token.length + optionsLength(options) + (payload.length > 0 ? 1 + payload.length : 0);
}

function writeMessage(msg: CoapMessageInit, options: readonly CoapOption[], out: Uint8Array, offset: number): number {
  const token = msg.token ?? EMPTY;
  const payload = msg.payload ?? EMPTY;
  let p = offset;
  out[p++] = 0x40 | (msg.type << 4) | token.length;
  out[p++] = msg.code;
  out[p++] = msg.mid >>> 8;
  out[p++] = msg.mid & 0xff;
  if (token.length > 0) {
    out.set(token, p);
    p += token.length;
  }
  let prev = 0;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    const v = o.value;
    const delta = o.number - prev;
    const l = v.length;
    prev = o.number;
    const hp = p++;
    let h: number;
    if (delta < 13) h = delta << 4;
    else if (delta < 269) {
      h = 0xd0;
      out[p++] = delta - 13;
    } else {
      h = 0xe0;
      out[p++] = (delta - 269) >>> 8;
      out[p++] = (delta - 269) & 0xff;
    }
    if (l < 13) h |= l;
    else if (l < 269) {
      h |= 0x0d;
      out[p++] = l - 13;
    } else {
      h |= 0x0e;
      out[p++] = (l - 269) >>> 8;
      out[p++] = (l - 269) & 0xff;
    }
    out[hp] = h;
    if (l <= 16) {
      for (let j = 0; j < l; j++) out[p + j] = v[j]!;
    } else {
      out.set(v, p);
    }
    p += l;
  }
  if (payload.length > 0) {
    out[p++] = 0xff;
    out.set(payload, p);
    p += payload.length;
  }
  return p - offset;
}

/**
 * Encodes into a caller-supplied buffer at `offset`; returns the number of bytes written.
 * Throws {@link CoapEncodeError} when the message is invalid or does not fit.
 */
export function encodeInto(msg: CoapMessageInit, out: Uint8Array, offset = 0): number {
  if (msg instanceof CoapMessage) {
    if (offset + msg.raw.length > out.length) throw new CoapEncodeError('output buffer too small');
    out.set(msg.raw, offset);
    return msg.raw.length;
  }
  const token = msg.token ?? EMPTY;
  const payload = msg.payload ?? EMPTY;
  const options = sortedOptions(msg.options);
  validate(msg, options, token.length, payload.length);
  const n = 4 + token.length + optionsLength(options) + (payload.length > 0 ? 1 + payload.length : 0);
  if (offset < 0 || offset + n > out.length) throw new CoapEncodeError(`output buffer too small: need ${n} bytes at offset ${offset}`);
  return writeMessage(msg, options, out, offset);
}

/**
 * Encodes a message into a new Buffer. Options are written sorted by number (stable).
 * A decoded {@link CoapMessage} is re-emitted byte for byte.
 */
export function encode(msg: CoapMessageInit): Buffer {
  if (msg instanceof CoapMessage) return Buffer.from(msg.raw);
  const token = msg.token ?? EMPTY;
  const payload = msg.payload ?? EMPTY;
  const options = sortedOptions(msg.options);
  validate(msg, options, token.length, payload.length);
  const n = 4 + token.length + optionsLength(options) + (payload.length > 0 ? 1 + payload.length : 0);
  const out = Buffer.allocUnsafe(n);
  writeMessage(msg, options, out, 0);
  return out;
}
