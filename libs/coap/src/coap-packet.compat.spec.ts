/**
 * Byte-level comparison with coap-packet (the baseline codec) and a record of where
 * coap-packet diverges from RFC 7252 (evidence for docs/decisions/0003-coap-codec.md).
 */
import fc from 'fast-check';
import * as coapPacket from 'coap-packet';
import { CoapCode, CoapType, ContentFormat, OptionNumber, formatCode } from './constants';
import { decode, encode, tryDecode } from './codec';
import { CoapMessageInit } from './message';
import { uintOption, uriPathOptions, uriQueryOptions } from './build';
import { plain, validMessage } from './testing/arbitraries';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function toPacket(m: CoapMessageInit): coapPacket.Packet {
  return {
    code: formatCode(m.code),
    messageId: m.mid,
    token: Buffer.from(m.token ?? []),
    confirmable: m.type === CoapType.CON,
    ack: m.type === CoapType.ACK,
    reset: m.type === CoapType.RST,
    options: (m.options ?? []).map((o) => ({ name: String(o.number), value: Buffer.from(o.value) })),
    payload: Buffer.from(m.payload ?? []),
  };
}

const NAME_TO_NUMBER: Record<string, number> = {
  'If-Match': 1, 'Uri-Host': 3, ETag: 4, 'If-None-Match': 5, Observe: 6, 'Uri-Port': 7, 'Location-Path': 8, OSCORE: 9,
  'Uri-Path': 11, 'Content-Format': 12, 'Max-Age': 14, 'Uri-Query': 15, 'Hop-Limit': 16, Accept: 17, 'Q-Block1': 19,
  'Location-Query': 20, Block2: 23, Block1: 27, Size2: 28, 'Q-Block2': 31, 'Proxy-Uri': 35, 'Proxy-Scheme': 39,
  Size1: 60, 'No-Response': 258, 'OCF-Accept-Content-Format-Version': 2049, 'OCF-Content-Format-Version': 2053,
};

function fromParsed(p: coapPacket.ParsedPacket): ReturnType<typeof plain> {
  const type = p.confirmable ? 0 : p.ack ? 2 : p.reset ? 3 : 1;
  const [c, d] = p.code.split('.').map(Number) as [number, number];
  return plain({
    type,
    code: (c << 5) | d,
    mid: p.messageId,
    token: p.token,
    options: p.options.map((o) => ({ number: typeof o.name === 'number' ? o.name : (NAME_TO_NUMBER[o.name] ?? Number(o.name)), value: o.value })),
    payload: p.payload,
  });
}

const token = hex('a1b2c3d4e5f60718');
const FIXED: [string, CoapMessageInit][] = [
  [
    'LwM2M Register',
    {
      type: CoapType.CON,
      code: CoapCode.POST,
      mid: 0x1234,
      token,
      options: [
        ...uriPathOptions('/rd'),
        uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.LINK_FORMAT),
        ...uriQueryOptions({ ep: 'urn:imei:864475040000001', lt: 86400, lwm2m: '1.1', b: 'U' }),
      ],
      payload: Buffer.from('</1/0>,</3/0>,</4/0>,</5/0>'),
    },
  ],
  ['LwM2M Update', { type: CoapType.CON, code: CoapCode.POST, mid: 1, token, options: [...uriPathOptions('/rd/5a3f8c2e1b'), ...uriQueryOptions(['lt=86400'])] }],
  [
    'Notify',
    {
      type: CoapType.CON,
      code: CoapCode.CONTENT,
      mid: 2,
      token,
      options: [uintOption(OptionNumber.OBSERVE, 1234567), uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.LWM2M_TLV)],
      payload: hex('c800144f70656e204d6f62696c65204d4f44454c'),
    },
  ],
  ['Register 2.01 ACK', { type: CoapType.ACK, code: CoapCode.CREATED, mid: 0x1234, token, options: [{ number: 8, value: Buffer.from('rd') }, { number: 8, value: Buffer.from('x') }] }],
  ['Empty ACK', { type: CoapType.ACK, code: 0, mid: 77 }],
  ['RST', { type: CoapType.RST, code: 0, mid: 65535 }],
  ['Ping', { type: CoapType.CON, code: 0, mid: 0 }],
  ['Block2 + Size2', { type: CoapType.ACK, code: CoapCode.CONTENT, mid: 3, token, options: [uintOption(23, 0x5e), uintOption(28, 4096), uintOption(60, 1)], payload: Buffer.alloc(1024, 7) }],
  ['Proxy-Uri 300 B (length 14)', { type: CoapType.CON, code: CoapCode.GET, mid: 4, options: [{ number: 35, value: Buffer.alloc(300, 0x61) }] }],
  ['Elective option 2050 (delta 14)', { type: CoapType.NON, code: CoapCode.GET, mid: 5, options: [{ number: 2050, value: Buffer.from('x') }] }],
];

describe('byte-level comparison with coap-packet', () => {
  it.each(FIXED)('%s: same bytes, both parse each other', (_n, m) => {
    const ours = encode(m);
    const theirs = coapPacket.generate(toPacket(m), 70000);
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    expect(plain(decode(theirs))).toEqual(fromParsed(coapPacket.parse(ours)));
  });

  it('arbitrary valid messages: same bytes and same parse', () => {
    fc.assert(
      fc.property(validMessage, (m) => {
        const ours = encode(m);
        const theirs = coapPacket.generate(toPacket(m), 70000);
        expect(ours.equals(theirs)).toBe(true);
        expect(fromParsed(coapPacket.parse(ours))).toEqual(plain(decode(ours)));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('coap-packet divergences from RFC 7252 (why it is not used as the validator)', () => {
  const accepts = (b: Buffer): boolean => {
    try {
      coapPacket.parse(b);
      return true;
    } catch {
      return false;
    }
  };
  const thrown = (b: Buffer): unknown => {
    try {
      coapPacket.parse(b);
    } catch (e) {
      return e;
    }
    return undefined;
  };

  it.each([
    ['TKL 9 (reserved)', '49 01 00 01 010203040506070809'],
    ['payload marker with empty payload', '40 01 00 01 ff'],
    ['ACK carrying a request', '60 01 00 01'],
    ['RST carrying a response', '70 45 00 01'],
    ['reserved code class 7', '40 e0 00 01'],
    ['truncated option value', '40 01 00 01 b5 61'],
    ['Empty NON', '50 00 00 01'],
    ['Uri-Host of length 0', '40 01 00 01 30'],
    ['unrecognised critical option (OSCORE)', '40 01 00 01 90'],
  ])('coap-packet accepts %s; we reject it', (_n, h) => {
    expect(accepts(hex(h))).toBe(true);
    expect(tryDecode(hex(h)).ok).toBe(false);
  });

  it('coap-packet throws untyped errors (RangeError) on truncated input; we throw CoapParseError', () => {
    // (checked by name: jest runs specs in a separate realm, so instanceof RangeError fails)
    expect((thrown(hex('40 01')) as Error).name).toBe('RangeError');
    expect((thrown(hex('40 01 00 01 d0')) as Error).name).toBe('RangeError');
    expect(thrown(hex('49 01 00 01'))).toBeUndefined(); // TKL 9 with no token bytes: accepted, token truncated silently
    expect(tryDecode(hex('40 01')).ok).toBe(false);
  });
});
