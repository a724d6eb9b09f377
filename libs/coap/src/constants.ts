/**
 * CoAP constants: message types, codes, option numbers and content formats
 * (RFC 7252 §3, §5.8, §5.10, §12; RFC 7641; RFC 7959; LwM2M 1.1 TS §7.3).
 */

/** Message type (RFC 7252 §3, 2-bit T field). */
export const CoapType = {
  CON: 0,
  NON: 1,
  ACK: 2,
  RST: 3,
} as const;
export type CoapType = (typeof CoapType)[keyof typeof CoapType];

export const COAP_TYPE_NAMES: readonly ['CON', 'NON', 'ACK', 'RST'] = ['CON', 'NON', 'ACK', 'RST'];

/** Builds the one-byte code `class.detail` (class 0..7, detail 0..31). */
export function makeCode(cls: number, detail: number): number {
  return ((cls & 0x07) << 5) | (detail & 0x1f);
}

/** Class of a one-byte code (0 = request/empty, 2 = success, 4 = client error, 5 = server error). */
export function codeClass(code: number): number {
  return code >>> 5;
}

/** Detail of a one-byte code. */
export function codeDetail(code: number): number {
  return code & 0x1f;
}

/** Formats a one-byte code as `c.dd`, e.g. `2.05`. */
export function formatCode(code: number): string {
  const d = code & 0x1f;
  return `${code >>> 5}.${d < 10 ? '0' : ''}${d}`;
}

/** Parses `c.dd` (e.g. `4.04`) into a one-byte code; returns undefined when malformed. */
export function parseCode(text: string): number | undefined {
  const m = /^([0-7])\.([0-2][0-9]|3[01])$/.exec(text);
  if (!m) return undefined;
  return makeCode(Number(m[1]), Number(m[2]));
}

/** Request method and response codes (RFC 7252 §12.1, RFC 7959 §2.9, RFC 8132). */
export const CoapCode = {
  EMPTY: 0x00,
  GET: 0x01,
  POST: 0x02,
  PUT: 0x03,
  DELETE: 0x04,
  FETCH: 0x05,
  PATCH: 0x06,
  IPATCH: 0x07,

  CREATED: 0x41, // 2.01
  DELETED: 0x42, // 2.02
  VALID: 0x43, // 2.03
  CHANGED: 0x44, // 2.04
  CONTENT: 0x45, // 2.05
  CONTINUE: 0x5f, // 2.31 (RFC 7959)

  BAD_REQUEST: 0x80, // 4.00
  UNAUTHORIZED: 0x81, // 4.01
  BAD_OPTION: 0x82, // 4.02
  FORBIDDEN: 0x83, // 4.03
  NOT_FOUND: 0x84, // 4.04
  METHOD_NOT_ALLOWED: 0x85, // 4.05
  NOT_ACCEPTABLE: 0x86, // 4.06
  REQUEST_ENTITY_INCOMPLETE: 0x88, // 4.08 (RFC 7959)
  CONFLICT: 0x89, // 4.09
  PRECONDITION_FAILED: 0x8c, // 4.12
  REQUEST_ENTITY_TOO_LARGE: 0x8d, // 4.13
  UNSUPPORTED_CONTENT_FORMAT: 0x8f, // 4.15

  INTERNAL_SERVER_ERROR: 0xa0, // 5.00
  NOT_IMPLEMENTED: 0xa1, // 5.01
  BAD_GATEWAY: 0xa2, // 5.02
  SERVICE_UNAVAILABLE: 0xa3, // 5.03
  GATEWAY_TIMEOUT: 0xa4, // 5.04
  PROXYING_NOT_SUPPORTED: 0xa5, // 5.05
} as const;

/** Option numbers (RFC 7252 §5.10, RFC 7641, RFC 7959, RFC 7967, RFC 8613, RFC 8768, RFC 9175). */
export const OptionNumber = {
  IF_MATCH: 1,
  URI_HOST: 3,
  ETAG: 4,
  IF_NONE_MATCH: 5,
  OBSERVE: 6,
  URI_PORT: 7,
  LOCATION_PATH: 8,
  OSCORE: 9,
  URI_PATH: 11,
  CONTENT_FORMAT: 12,
  MAX_AGE: 14,
  URI_QUERY: 15,
  HOP_LIMIT: 16,
  ACCEPT: 17,
  Q_BLOCK1: 19,
  LOCATION_QUERY: 20,
  BLOCK2: 23,
  BLOCK1: 27,
  SIZE2: 28,
  Q_BLOCK2: 31,
  PROXY_URI: 35,
  PROXY_SCHEME: 39,
  SIZE1: 60,
  ECHO: 252,
  NO_RESPONSE: 258,
  REQUEST_TAG: 292,
} as const;

/** An option is critical when its number is odd (RFC 7252 §5.4.1). */
export function isCritical(optionNumber: number): boolean {
  return (optionNumber & 1) === 1;
}
/** Unsafe-to-forward bit (RFC 7252 §5.4.2). */
export function isUnsafe(optionNumber: number): boolean {
  return (optionNumber & 2) === 2;
}
/** NoCacheKey bits (RFC 7252 §5.4.2). */
export function isNoCacheKey(optionNumber: number): boolean {
  return (optionNumber & 0x1e) === 0x1c;
}

/** Content-Format numbers used by LwM2M (RFC 7252 §12.3, RFC 8428, LwM2M 1.1/1.2). */
export const ContentFormat = {
  TEXT_PLAIN: 0,
  LINK_FORMAT: 40,
  OCTET_STREAM: 42,
  JSON: 50,
  CBOR: 60,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  LWM2M_TLV_LEGACY: 1542,
  LWM2M_JSON_LEGACY: 1543,
  LWM2M_TLV: 11542,
  LWM2M_JSON: 11543,
  LWM2M_CBOR: 11544,
} as const;

/** Default transmission parameters (RFC 7252 §4.8). */
export const DEFAULT_ACK_TIMEOUT_MS = 2000;
export const DEFAULT_ACK_RANDOM_FACTOR = 1.5;
export const DEFAULT_MAX_RETRANSMIT = 4;
export const DEFAULT_NSTART = 1;
export const DEFAULT_LEISURE_MS = 5000;
export const DEFAULT_PROBING_RATE = 1;
/** MAX_LATENCY (RFC 7252 §4.8.2), 100 s. */
export const MAX_LATENCY_MS = 100_000;
/** EXCHANGE_LIFETIME with default parameters (RFC 7252 §4.8.2), 247 s. */
export const EXCHANGE_LIFETIME_MS = 247_000;
/** NON_LIFETIME with default parameters (RFC 7252 §4.8.2), 145 s. */
export const NON_LIFETIME_MS = 145_000;

/** Largest token length allowed by RFC 7252 §3 (TKL 9..15 reserved). */
export const MAX_TOKEN_LENGTH = 8;
/** Largest option number (16-bit registry). */
export const MAX_OPTION_NUMBER = 0xffff;
/** Largest option value length expressible with a 14 length nibble (65535 + 269). */
export const MAX_OPTION_VALUE_LENGTH = 65535 + 269;
/** The payload marker byte (RFC 7252 §3). */
export const PAYLOAD_MARKER = 0xff;
