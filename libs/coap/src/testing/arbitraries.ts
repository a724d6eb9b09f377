/**
 * fast-check arbitraries for valid CoAP messages (test support; not exported from the package).
 */
import fc from 'fast-check';
import { CoapType, OptionNumber } from '../constants';
import { CoapOption } from '../message';
import { OPTION_FLAGS, OPTION_TABLE_SIZE, OPT_REPEATABLE } from '../options';

export interface PlainMessage {
  type: CoapType;
  code: number;
  mid: number;
  token: Uint8Array;
  options: CoapOption[];
  payload: Uint8Array;
}

const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });

/** A Block1/Block2 value of 0..3 bytes whose SZX is not 7 (minimal or not). */
const blockValue = fc
  .tuple(fc.integer({ min: 0, max: 0xfffff }), fc.boolean(), fc.integer({ min: 0, max: 6 }))
  .map(([num, m, szx]) => {
    const v = num * 16 + (m ? 8 : 0) + szx;
    const n = v === 0 ? 0 : v < 0x100 ? 1 : v < 0x10000 ? 2 : 3;
    const out = new Uint8Array(n);
    for (let i = n - 1, x = v; i >= 0; i--, x = Math.floor(x / 256)) out[i] = x & 0xff;
    return out;
  });

/** Recognised critical options with values inside their length ranges. */
const criticalOption: fc.Arbitrary<CoapOption> = fc.oneof(
  bytes(0, 8).map((value) => ({ number: OptionNumber.IF_MATCH, value })),
  bytes(1, 40).map((value) => ({ number: OptionNumber.URI_HOST, value })),
  fc.constant({ number: OptionNumber.IF_NONE_MATCH, value: new Uint8Array(0) }),
  bytes(0, 2).map((value) => ({ number: OptionNumber.URI_PORT, value })),
  bytes(0, 20).map((value) => ({ number: OptionNumber.URI_PATH, value })),
  fc.string({ maxLength: 12 }).map((s) => ({ number: OptionNumber.URI_PATH, value: Buffer.from(s) })),
  bytes(0, 30).map((value) => ({ number: OptionNumber.URI_QUERY, value })),
  bytes(0, 2).map((value) => ({ number: OptionNumber.ACCEPT, value })),
  blockValue.map((value) => ({ number: OptionNumber.BLOCK2, value })),
  blockValue.map((value) => ({ number: OptionNumber.BLOCK1, value })),
  bytes(1, 300).map((value) => ({ number: OptionNumber.PROXY_URI, value })),
  bytes(1, 20).map((value) => ({ number: OptionNumber.PROXY_SCHEME, value })),
);

/** Elective options: any even number, any length (bad lengths of known electives are tolerated). */
const electiveOption: fc.Arbitrary<CoapOption> = fc.oneof(
  fc.record({ number: fc.integer({ min: 0, max: 32767 }).map((n) => n * 2), value: bytes(0, 20) }),
  fc.record({ number: fc.constantFrom(4, 6, 8, 12, 14, 20, 28, 60, 258), value: bytes(0, 4) }),
  fc.record({ number: fc.integer({ min: 0, max: 150 }).map((n) => n * 2), value: bytes(0, 300) }),
);

/** Sorts stably and drops supernumerary non-repeatable critical options (RFC 7252 §5.4.5). */
export function normalizeOptions(options: readonly CoapOption[]): CoapOption[] {
  const sorted = options.slice().sort((a, b) => a.number - b.number);
  const out: CoapOption[] = [];
  for (const o of sorted) {
    const prev = out[out.length - 1];
    const flags = o.number < OPTION_TABLE_SIZE ? OPTION_FLAGS[o.number]! : 0;
    if (prev && prev.number === o.number && (o.number & 1) === 1 && (flags & OPT_REPEATABLE) === 0) continue;
    out.push(o);
  }
  return out;
}

const requestCode = fc.integer({ min: 1, max: 31 });
const responseCode = fc.tuple(fc.constantFrom(2, 4, 5), fc.integer({ min: 0, max: 31 })).map(([c, d]) => (c << 5) | d);

/** Any message `decode()` accepts (with default options), options already normalised. */
export const validMessage: fc.Arbitrary<PlainMessage> = fc
  .record({
    kind: fc.constantFrom('req', 'res', 'empty'),
    reqType: fc.constantFrom<CoapType>(CoapType.CON, CoapType.NON),
    resType: fc.constantFrom<CoapType>(CoapType.CON, CoapType.NON, CoapType.ACK),
    emptyType: fc.constantFrom<CoapType>(CoapType.CON, CoapType.ACK, CoapType.RST),
    req: requestCode,
    res: responseCode,
    mid: fc.integer({ min: 0, max: 0xffff }),
    token: bytes(0, 8),
    options: fc.array(fc.oneof(criticalOption, electiveOption), { maxLength: 8 }),
    payload: fc.oneof(bytes(0, 0), bytes(1, 64), bytes(1, 700)),
  })
  .map((r): PlainMessage => {
    if (r.kind === 'empty') {
      return { type: r.emptyType, code: 0, mid: r.mid, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) };
    }
    const isReq = r.kind === 'req';
    return {
      type: isReq ? r.reqType : r.resType,
      code: isReq ? r.req : r.res,
      mid: r.mid,
      token: r.token,
      options: normalizeOptions(r.options),
      payload: r.payload,
    };
  });

/** Plain, comparable representation (hex strings) of a message. */
export function plain(m: {
  type: number;
  code: number;
  mid: number;
  token?: Uint8Array;
  options?: readonly CoapOption[];
  payload?: Uint8Array;
}): { type: number; code: number; mid: number; token: string; options: [number, string][]; payload: string } {
  const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('hex');
  return {
    type: m.type,
    code: m.code,
    mid: m.mid,
    token: hex(m.token),
    options: (m.options ?? []).map((o) => [o.number, hex(o.value)]),
    payload: hex(m.payload),
  };
}
