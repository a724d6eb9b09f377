/**
 * Typed errors. `decode()` never throws anything but {@link CoapParseError};
 * `encode()` throws {@link CoapEncodeError} for invalid input (a programming error).
 */

/** Machine-readable reason for a rejected datagram. */
export type CoapParseReason =
  /** Fewer than 4 bytes (RFC 7252 §3). */
  | 'TRUNCATED_HEADER'
  /** Version field is not 1; MUST be silently ignored (RFC 7252 §3). */
  | 'BAD_VERSION'
  /** Token length 9..15 is reserved and a message format error (RFC 7252 §3). */
  | 'TKL_RESERVED'
  /** Datagram ends inside the token. */
  | 'TRUNCATED_TOKEN'
  /** Option delta nibble 15 without length nibble 15 (RFC 7252 §3.1). */
  | 'OPTION_DELTA_RESERVED'
  /** Option length nibble 15 (RFC 7252 §3.1). */
  | 'OPTION_LENGTH_RESERVED'
  /** Datagram ends inside an option's extended delta/length or value. */
  | 'TRUNCATED_OPTION'
  /** Option number exceeds 65535. */
  | 'OPTION_NUMBER_TOO_LARGE'
  /** Payload marker followed by a zero-length payload (RFC 7252 §3). */
  | 'PAYLOAD_MARKER_EMPTY_PAYLOAD'
  /** Code 0.00 with a token, options or payload (RFC 7252 §4.1). */
  | 'EMPTY_MESSAGE_NOT_EMPTY'
  /** Empty NON message (RFC 7252 §4.3: a NON always carries a request or response). */
  | 'EMPTY_NON'
  /** ACK carrying a request (RFC 7252 §4.2: ACK carries a response or is Empty). */
  | 'REQUEST_IN_ACK'
  /** RST carrying a request (RFC 7252 §4.2: RST MUST be Empty). */
  | 'REQUEST_IN_RST'
  /** RST carrying a response (RFC 7252 §4.2: RST MUST be Empty). */
  | 'RESPONSE_IN_RST'
  /** Code class 1, 6 or 7 (reserved, RFC 7252 §12.1). */
  | 'RESERVED_CODE_CLASS'
  /** Critical option not known to the decoder (RFC 7252 §5.4.1). */
  | 'UNRECOGNIZED_CRITICAL_OPTION'
  /** Known critical option with a value length outside its range (RFC 7252 §5.4.3). */
  | 'BAD_OPTION_VALUE_LENGTH'
  /** Non-repeatable critical option present more than once (RFC 7252 §5.4.5). */
  | 'REPEATED_CRITICAL_OPTION'
  /** Block1/Block2 with SZX 7 (RFC 7959 §2.2: 4.00 in a request). */
  | 'BLOCK_SZX_RESERVED';

/**
 * What the receiver should do (RFC 7252 §4.2, §4.3, §5.4.1):
 * - `RST`: reject the CON message with a Reset carrying its MID;
 * - `IGNORE`: silently drop (malformed NON/ACK/RST, bad version, truncated header);
 * - `BAD_REQUEST`: answer the request with 4.00 (piggybacked in an ACK for CON);
 * - `BAD_OPTION`: answer the request with 4.02 Bad Option (piggybacked in an ACK for CON).
 */
export type CoapParseAction = 'RST' | 'IGNORE' | 'BAD_REQUEST' | 'BAD_OPTION';

export interface CoapParseErrorDetails {
  reason: CoapParseReason;
  action: CoapParseAction;
  /** Byte offset where the problem was found. */
  offset: number;
  /** Message type, when the header was readable. */
  type?: number;
  /** Code byte, when the header was readable. */
  code?: number;
  /** Message ID, when the header was readable. */
  mid?: number;
  /** Token (a copy), when it was readable. */
  token?: Uint8Array;
  /** The offending option number, for option-related reasons. */
  option?: number;
}

export class CoapParseError extends Error {
  override readonly name = 'CoapParseError';
  readonly reason: CoapParseReason;
  readonly action: CoapParseAction;
  readonly offset: number;
  readonly type: number | undefined;
  readonly code: number | undefined;
  readonly mid: number | undefined;
  readonly token: Uint8Array | undefined;
  readonly option: number | undefined;

  constructor(d: CoapParseErrorDetails, message?: string) {
    super(message ?? `CoAP parse error: ${d.reason} at offset ${d.offset}`);
    this.reason = d.reason;
    this.action = d.action;
    this.offset = d.offset;
    this.type = d.type;
    this.code = d.code;
    this.mid = d.mid;
    this.token = d.token;
    this.option = d.option;
  }
}

export function isCoapParseError(e: unknown): e is CoapParseError {
  return e instanceof CoapParseError;
}

/** Invalid message given to `encode()` (a caller bug, not a network condition). */
export class CoapEncodeError extends Error {
  override readonly name = 'CoapEncodeError';
}
