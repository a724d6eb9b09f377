/**
 * Option constructors and reply builders (RFC 7252 §4.2, §5.2.1, §5.2.2, §5.4.1, §5.5.2).
 */
import { CoapCode, CoapType, OptionNumber } from './constants';
import { CoapEncodeError, CoapParseError } from './errors';
import { encode } from './codec';
import { CoapMessageInit, CoapOption } from './message';
import { BlockValue, encodeBlock, encodeString, encodeUint } from './options';

// ---------------------------------------------------------------------------
// option constructors
// ---------------------------------------------------------------------------

export function uintOption(number: number, value: number): CoapOption {
  return { number, value: encodeUint(value) };
}
export function stringOption(number: number, value: string): CoapOption {
  return { number, value: encodeString(value) };
}
export function opaqueOption(number: number, value: Uint8Array): CoapOption {
  return { number, value };
}
export function emptyOption(number: number): CoapOption {
  return { number, value: new Uint8Array(0) };
}
export function blockOption(number: typeof OptionNumber.BLOCK1 | typeof OptionNumber.BLOCK2, b: BlockValue): CoapOption {
  return { number, value: encodeBlock(b) };
}

function segments(path: string | readonly string[]): readonly string[] {
  if (typeof path !== 'string') return path;
  const s = path.startsWith('/') ? path.slice(1) : path;
  return s === '' ? [] : s.split('/');
}

/** Uri-Path options from `/a/b` or `['a','b']` (segments are used verbatim, no percent-decoding). */
export function uriPathOptions(path: string | readonly string[]): CoapOption[] {
  return segments(path).map((s) => stringOption(OptionNumber.URI_PATH, s));
}
/** Location-Path options from `/rd/x` or `['rd','x']`. */
export function locationPathOptions(path: string | readonly string[]): CoapOption[] {
  return segments(path).map((s) => stringOption(OptionNumber.LOCATION_PATH, s));
}
/** Uri-Query options from `['a=1','b']` or `{ a: '1', b: undefined }` (undefined/empty value → bare key). */
export function uriQueryOptions(query: readonly string[] | Readonly<Record<string, string | number | undefined>>): CoapOption[] {
  const items = Array.isArray(query)
    ? (query as readonly string[])
    : Object.entries(query as Record<string, string | number | undefined>).map(([k, v]) =>
        v === undefined || v === '' ? k : `${k}=${v}`,
      );
  return items.map((s) => stringOption(OptionNumber.URI_QUERY, s));
}

// ---------------------------------------------------------------------------
// replies
// ---------------------------------------------------------------------------

function checkMid(mid: number): void {
  if (!Number.isInteger(mid) || mid < 0 || mid > 0xffff) throw new CoapEncodeError(`invalid message ID: ${mid}`);
}

function emptyMessage(typeBits: number, mid: number): Buffer {
  checkMid(mid);
  const b = Buffer.allocUnsafe(4);
  b[0] = 0x40 | typeBits;
  b[1] = 0;
  b[2] = mid >>> 8;
  b[3] = mid & 0xff;
  return b;
}

/** Reset (RST, Empty) echoing `mid` (RFC 7252 §4.2). */
export function rst(mid: number): Buffer {
  return emptyMessage(0x30, mid);
}
/** Empty ACK echoing `mid` (RFC 7252 §4.2, separate response follows). */
export function ack(mid: number): Buffer {
  return emptyMessage(0x20, mid);
}
/** CoAP ping: Empty CON (RFC 7252 §4.3); the peer answers RST. */
export function ping(mid: number): Buffer {
  return emptyMessage(0x00, mid);
}

export interface ResponseParts {
  options?: readonly CoapOption[];
  payload?: Uint8Array;
}

/** Piggybacked response (ACK with the request's MID and token, RFC 7252 §5.2.1). */
export function piggybacked(
  request: { readonly mid: number; readonly token?: Uint8Array },
  code: number,
  parts: ResponseParts = {},
): CoapMessageInit {
  return { type: CoapType.ACK, code, mid: request.mid, token: request.token, options: parts.options, payload: parts.payload };
}

/**
 * Separate response or response to a NON request (RFC 7252 §5.2.2, §5.2.3): a new MID,
 * the request's token; type CON (default) or NON.
 */
export function separateResponse(
  request: { readonly token?: Uint8Array },
  code: number,
  mid: number,
  parts: ResponseParts & { type?: typeof CoapType.CON | typeof CoapType.NON } = {},
): CoapMessageInit {
  return { type: parts.type ?? CoapType.CON, code, mid, token: request.token, options: parts.options, payload: parts.payload };
}

/**
 * Builds the datagram to send after a {@link CoapParseError}, or undefined when the message
 * must be silently ignored:
 * - `RST` → Reset echoing the MID;
 * - `BAD_OPTION` (CON request) → ACK 4.02 with the token and a diagnostic payload (RFC 7252 §5.4.1, §5.5.2);
 * - `BAD_REQUEST` → 4.00 piggybacked in an ACK for CON; for NON a NON response, which needs
 *   a fresh MID in `nonMid` (without it, nothing is sent).
 */
export function replyForParseError(err: CoapParseError, opts: { nonMid?: number; diagnostic?: boolean } = {}): Buffer | undefined {
  if (err.mid === undefined) return undefined;
  switch (err.action) {
    case 'IGNORE':
      return undefined;
    case 'RST':
      return rst(err.mid);
    case 'BAD_OPTION':
    case 'BAD_REQUEST': {
      const code = err.action === 'BAD_OPTION' ? CoapCode.BAD_OPTION : CoapCode.BAD_REQUEST;
      if (err.token === undefined) return rst(err.mid);
      const diag = opts.diagnostic === false ? undefined : Buffer.from(diagnosticText(err), 'utf8');
      if (err.type === CoapType.CON) return encode(piggybacked({ mid: err.mid, token: err.token }, code, { payload: diag }));
      if (err.type === CoapType.NON && opts.nonMid !== undefined) {
        return encode(separateResponse({ token: err.token }, code, opts.nonMid, { type: CoapType.NON, payload: diag }));
      }
      return undefined;
    }
  }
}

function diagnosticText(err: CoapParseError): string {
  switch (err.reason) {
    case 'UNRECOGNIZED_CRITICAL_OPTION':
      return `Unrecognized critical option ${err.option ?? ''}`;
    case 'BAD_OPTION_VALUE_LENGTH':
      return `Bad length for option ${err.option ?? ''}`;
    case 'REPEATED_CRITICAL_OPTION':
      return `Option ${err.option ?? ''} repeated`;
    case 'BLOCK_SZX_RESERVED':
      return 'Block SZX 7 is reserved';
    default:
      return err.reason;
  }
}
