import {
  CoapCode,
  CoapMessage,
  CoapParseAction,
  CoapParseError,
  CoapParseReason,
  CoapType,
  ContentFormat,
  OptionNumber,
  decode,
  encode,
  encodeInto,
  encodedLength,
  tryDecode,
  uintOption,
  uriPathOptions,
} from './index';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function parseError(bytes: Uint8Array, opts?: Parameters<typeof decode>[1]): CoapParseError {
  try {
    decode(bytes, opts);
  } catch (e) {
    if (e instanceof CoapParseError) return e;
    throw e;
  }
  throw new Error('expected CoapParseError');
}

interface Bad {
  name: string;
  bytes: string;
  reason: CoapParseReason;
  action: CoapParseAction;
  mid?: number;
  option?: number;
}

const BAD: Bad[] = [
  // RFC 7252 §3 (header)
  { name: 'RFC 7252 §3 truncated header (3 bytes)', bytes: '40 01 00', reason: 'TRUNCATED_HEADER', action: 'IGNORE' },
  { name: 'RFC 7252 §3 empty datagram', bytes: '', reason: 'TRUNCATED_HEADER', action: 'IGNORE' },
  { name: 'RFC 7252 §3 version 0 is silently ignored', bytes: '00 01 00 01', reason: 'BAD_VERSION', action: 'IGNORE', mid: 1 },
  { name: 'RFC 7252 §3 version 2 is silently ignored', bytes: '80 01 00 01', reason: 'BAD_VERSION', action: 'IGNORE' },
  { name: 'RFC 7252 §3 version 3 is silently ignored', bytes: 'c0 01 00 01', reason: 'BAD_VERSION', action: 'IGNORE' },
  { name: 'RFC 7252 §3 TKL 9 reserved in CON → RST', bytes: '49 01 12 34 0102030405060708 09', reason: 'TKL_RESERVED', action: 'RST', mid: 0x1234 },
  { name: 'RFC 7252 §3 TKL 15 reserved in NON → ignore', bytes: '5f 01 12 34', reason: 'TKL_RESERVED', action: 'IGNORE', mid: 0x1234 },
  { name: 'RFC 7252 §3 TKL 12 reserved in ACK → ignore', bytes: '6c 45 00 02', reason: 'TKL_RESERVED', action: 'IGNORE' },
  { name: 'RFC 7252 §3 token truncated', bytes: '48 01 00 01 aa bb', reason: 'TRUNCATED_TOKEN', action: 'RST' },
  { name: 'RFC 7252 §3 payload marker with empty payload', bytes: '40 01 00 01 ff', reason: 'PAYLOAD_MARKER_EMPTY_PAYLOAD', action: 'RST' },
  { name: 'RFC 7252 §3 payload marker with empty payload after options', bytes: '52 45 00 09 aa bb c0 ff', reason: 'PAYLOAD_MARKER_EMPTY_PAYLOAD', action: 'IGNORE' },
  // RFC 7252 §3.1 (option format)
  { name: 'RFC 7252 §3.1 option delta nibble 15 (not a payload marker)', bytes: '40 01 00 01 f0', reason: 'OPTION_DELTA_RESERVED', action: 'RST' },
  { name: 'RFC 7252 §3.1 option delta nibble 15 with length 3', bytes: '40 01 00 01 f3 61 62 63', reason: 'OPTION_DELTA_RESERVED', action: 'RST' },
  { name: 'RFC 7252 §3.1 option length nibble 15', bytes: '40 01 00 01 bf 00', reason: 'OPTION_LENGTH_RESERVED', action: 'RST' },
  { name: 'RFC 7252 §3.1 option delta 13 missing extended byte', bytes: '40 01 00 01 d0', reason: 'TRUNCATED_OPTION', action: 'RST' },
  { name: 'RFC 7252 §3.1 option delta 14 missing one extended byte', bytes: '40 01 00 01 e0 00', reason: 'TRUNCATED_OPTION', action: 'RST' },
  { name: 'RFC 7252 §3.1 option length 13 missing extended byte', bytes: '40 01 00 01 bd', reason: 'TRUNCATED_OPTION', action: 'RST' },
  { name: 'RFC 7252 §3.1 option length 14 missing extended bytes', bytes: '40 01 00 01 be 01', reason: 'TRUNCATED_OPTION', action: 'RST' },
  { name: 'RFC 7252 §3.1 option value longer than datagram', bytes: '40 01 00 01 b5 61 62', reason: 'TRUNCATED_OPTION', action: 'RST' },
  { name: 'RFC 7252 §3.1 option number above 65535', bytes: '40 01 00 01 e0 ff ff', reason: 'OPTION_NUMBER_TOO_LARGE', action: 'RST' },
  // RFC 7252 §4.1–4.3 (message types)
  { name: 'RFC 7252 §4.1 Empty CON with a token', bytes: '41 00 00 05 aa', reason: 'EMPTY_MESSAGE_NOT_EMPTY', action: 'RST', mid: 5 },
  { name: 'RFC 7252 §4.1 Empty ACK with payload', bytes: '60 00 00 05 ff 61', reason: 'EMPTY_MESSAGE_NOT_EMPTY', action: 'IGNORE' },
  { name: 'RFC 7252 §4.1 Empty RST with TKL 1 but no token', bytes: '71 00 00 05', reason: 'EMPTY_MESSAGE_NOT_EMPTY', action: 'IGNORE' },
  { name: 'RFC 7252 §4.3 Empty NON', bytes: '50 00 00 05', reason: 'EMPTY_NON', action: 'IGNORE' },
  { name: 'RFC 7252 §4.2 ACK carrying a request', bytes: '60 01 00 05', reason: 'REQUEST_IN_ACK', action: 'IGNORE' },
  { name: 'RFC 7252 §4.2 RST carrying a request', bytes: '70 01 00 05', reason: 'REQUEST_IN_RST', action: 'IGNORE' },
  { name: 'RFC 7252 §4.2 RST carrying a response', bytes: '70 45 00 05', reason: 'RESPONSE_IN_RST', action: 'IGNORE' },
  // RFC 7252 §12.1 (reserved classes)
  { name: 'RFC 7252 §12.1 class 1 reserved (CON → RST)', bytes: '40 20 00 05', reason: 'RESERVED_CODE_CLASS', action: 'RST' },
  { name: 'RFC 7252 §12.1 class 6 reserved (NON → ignore)', bytes: '50 c0 00 05', reason: 'RESERVED_CODE_CLASS', action: 'IGNORE' },
  { name: 'RFC 7252 §12.1 class 7 reserved (ACK → ignore)', bytes: '60 e5 00 05', reason: 'RESERVED_CODE_CLASS', action: 'IGNORE' },
  // RFC 7252 §5.4.1 (critical options)
  { name: 'RFC 7252 §5.4.1 unrecognised critical option in CON request → 4.02', bytes: '40 01 00 05 90', reason: 'UNRECOGNIZED_CRITICAL_OPTION', action: 'BAD_OPTION', option: 9 },
  { name: 'RFC 7252 §5.4.1 unrecognised critical option in NON request → ignore', bytes: '50 01 00 05 90', reason: 'UNRECOGNIZED_CRITICAL_OPTION', action: 'IGNORE', option: 9 },
  { name: 'RFC 7252 §5.4.1 unrecognised critical option in CON response → RST', bytes: '40 45 00 05 90', reason: 'UNRECOGNIZED_CRITICAL_OPTION', action: 'RST', option: 9 },
  { name: 'RFC 7252 §5.4.1 unrecognised critical option piggybacked in ACK → ignore', bytes: '60 45 00 05 90', reason: 'UNRECOGNIZED_CRITICAL_OPTION', action: 'IGNORE', option: 9 },
  { name: 'RFC 7252 §5.4.1 unknown critical option 2049 (delta 14)', bytes: '40 01 00 05 e0 06 f4', reason: 'UNRECOGNIZED_CRITICAL_OPTION', action: 'BAD_OPTION', option: 2049 },
  // RFC 7252 §5.4.3 (length ranges of critical options)
  { name: 'RFC 7252 §5.4.3 Uri-Host of length 0', bytes: '40 01 00 05 30', reason: 'BAD_OPTION_VALUE_LENGTH', action: 'BAD_OPTION', option: 3 },
  { name: 'RFC 7252 §5.4.3 If-None-Match with a value', bytes: '40 01 00 05 51 00', reason: 'BAD_OPTION_VALUE_LENGTH', action: 'BAD_OPTION', option: 5 },
  { name: 'RFC 7252 §5.4.3 Accept of 3 bytes', bytes: '40 01 00 05 d3 04 00 00 2a', reason: 'BAD_OPTION_VALUE_LENGTH', action: 'BAD_OPTION', option: 17 },
  { name: 'RFC 7252 §5.4.3 If-Match of 9 bytes', bytes: '40 01 00 05 19 010203040506070809', reason: 'BAD_OPTION_VALUE_LENGTH', action: 'BAD_OPTION', option: 1 },
  { name: 'RFC 7959 §2.2 Block2 of 4 bytes', bytes: '40 01 00 05 d4 0a 00 00 00 10', reason: 'BAD_OPTION_VALUE_LENGTH', action: 'BAD_OPTION', option: 23 },
  // RFC 7252 §5.4.5 (repeated options)
  { name: 'RFC 7252 §5.4.5 Uri-Host twice', bytes: '40 01 00 05 31 61 01 62', reason: 'REPEATED_CRITICAL_OPTION', action: 'BAD_OPTION', option: 3 },
  { name: 'RFC 7252 §5.4.5 Block1 twice', bytes: '40 02 00 05 d1 0e 08 01 18', reason: 'REPEATED_CRITICAL_OPTION', action: 'BAD_OPTION', option: 27 },
  // RFC 7959 §2.2 (SZX 7)
  { name: 'RFC 7959 §2.2 Block2 SZX 7 in a request → 4.00', bytes: '40 01 00 05 d1 0a 07', reason: 'BLOCK_SZX_RESERVED', action: 'BAD_REQUEST', option: 23 },
  { name: 'RFC 7959 §2.2 Block1 SZX 7 in a NON request → 4.00', bytes: '50 02 00 05 d1 0e 0f', reason: 'BLOCK_SZX_RESERVED', action: 'BAD_REQUEST', option: 27 },
  { name: 'RFC 7959 §2.2 Block2 SZX 7 in a CON response → RST', bytes: '40 45 00 05 d1 0a 07', reason: 'BLOCK_SZX_RESERVED', action: 'RST', option: 23 },
];

describe('decode: rejected datagrams (conformance)', () => {
  it.each(BAD)('$name', ({ bytes, reason, action, mid, option }) => {
    const err = parseError(hex(bytes));
    expect(err).toBeInstanceOf(CoapParseError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('CoapParseError');
    expect(err.reason).toBe(reason);
    expect(err.action).toBe(action);
    if (mid !== undefined) expect(err.mid).toBe(mid);
    if (option !== undefined) expect(err.option).toBe(option);
    const r = tryDecode(hex(bytes));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.reason).toBe(reason);
  });

  it('RFC 7252 §4.2 error carries MID and token when readable (to build RST / 4.02)', () => {
    const err = parseError(hex('42 01 00 07 aa bb 90'));
    expect(err.mid).toBe(7);
    expect(err.type).toBe(CoapType.CON);
    expect(err.code).toBe(CoapCode.GET);
    expect(Buffer.from(err.token!).toString('hex')).toBe('aabb');
  });

  it('RFC 7252 §3 no token in the error when the header is unreadable', () => {
    const err = parseError(hex('40 01'));
    expect(err.mid).toBeUndefined();
    expect(err.token).toBeUndefined();
  });

  it('a format error takes precedence over an option-level error found earlier', () => {
    // OSCORE (critical, unrecognised) then a truncated option.
    expect(parseError(hex('40 01 00 05 90 b5 61')).reason).toBe('TRUNCATED_OPTION');
  });
});

describe('decode: accepted datagrams (conformance)', () => {
  it('RFC 7252 §4.3 Empty CON (CoAP ping)', () => {
    const m = decode(hex('40 00 12 34'));
    expect(m.type).toBe(CoapType.CON);
    expect(m.code).toBe(0);
    expect(m.mid).toBe(0x1234);
    expect(m.isEmpty).toBe(true);
    expect(m.token.length).toBe(0);
    expect(m.payload.length).toBe(0);
    expect(m.optionCount).toBe(0);
  });

  it('RFC 7252 §4.2 Empty ACK and RST', () => {
    expect(decode(hex('60 00 ff fe')).typeName).toBe('ACK');
    expect(decode(hex('70 00 00 00')).typeName).toBe('RST');
  });

  it('RFC 7252 §3 header fields, 8-byte token, payload', () => {
    const m = decode(hex('48 45 ab cd 0102030405060708 ff 68 69'));
    expect(m.version).toBe(1);
    expect(m.type).toBe(CoapType.CON);
    expect(m.codeText).toBe('2.05');
    expect(m.isResponse).toBe(true);
    expect(m.mid).toBe(0xabcd);
    expect(Buffer.from(m.token).toString('hex')).toBe('0102030405060708');
    expect(Buffer.from(m.payload).toString()).toBe('hi');
  });

  it('RFC 7252 §3 GET with no options and no payload', () => {
    const m = decode(hex('50 01 00 01'));
    expect(m.isRequest).toBe(true);
    expect(m.options).toEqual([]);
    expect(m.payload.length).toBe(0);
  });

  it('RFC 7252 §3.1 option delta 13 (1 extra byte): Size1 = 5', () => {
    const m = decode(hex('40 02 00 01 d1 2f 05'));
    expect(m.optionNumberAt(0)).toBe(60);
    expect(m.size1).toBe(5);
  });

  it('RFC 7252 §3.1 option delta 14 (2 extra bytes): elective option 2050', () => {
    const m = decode(hex('40 01 00 01 e0 06 f5'));
    expect(m.options).toHaveLength(1);
    expect(m.options[0]!.number).toBe(2050);
    expect(m.options[0]!.value.length).toBe(0);
  });

  it('RFC 7252 §3.1 option length 13 (1 extra byte): Uri-Path of 20 chars', () => {
    const seg = 'abcdefghijklmnopqrst';
    const m = decode(Buffer.concat([hex('40 01 00 01 bd 07'), Buffer.from(seg)]));
    expect(m.uriPath).toEqual([seg]);
  });

  it('RFC 7252 §3.1 option length 14 (2 extra bytes): Proxy-Uri of 300 chars', () => {
    const uri = 'coap://x/' + 'a'.repeat(291);
    const m = decode(Buffer.concat([hex('40 01 00 01 de 16 00 1f'), Buffer.from(uri)]));
    expect(m.optionNumberAt(0)).toBe(35);
    expect(Buffer.from(m.optionValueAt(0)).toString()).toBe(uri);
  });

  it('RFC 7252 §3.1 delta 13 + length 13 and delta 14 + length 14 together', () => {
    const v1 = Buffer.alloc(13, 1);
    const v2 = Buffer.alloc(269, 2);
    // number 14 (Max-Age? no: use elective 100) via delta 13 (100 = 13 + 87), len 13 (+0)
    // then number 2050 via delta 14 (1950 = 269 + 1681 = 0x0691), len 14 (+0)
    const bytes = Buffer.concat([hex('40 01 00 01 dd 57 00'), v1, hex('ee 06 91 00 00'), v2]);
    const m = decode(bytes);
    expect(m.options.map((o) => [o.number, o.value.length])).toEqual([
      [100, 13],
      [2050, 269],
    ]);
    expect(encode(m.toInit()).equals(bytes)).toBe(true);
  });

  it('RFC 7252 §5.4.1 unrecognised elective options are kept and otherwise ignored', () => {
    const m = decode(hex('40 01 00 01 e1 06 f5 01'));
    expect(m.options[0]!.number).toBe(2050);
  });

  it('RFC 7252 §5.4.1 critical option accepted when the caller recognises it', () => {
    expect(decode(hex('40 01 00 05 90'), { recognizedCritical: new Set([9]) }).has(9)).toBe(true);
    expect(decode(hex('40 01 00 05 90'), { rejectUnrecognizedCritical: false }).has(9)).toBe(true);
  });

  it('RFC 7252 §5.4.3 elective option with a bad length is treated as absent', () => {
    // Content-Format (12, elective) of 3 bytes
    const m = decode(hex('40 01 00 01 c3 01 02 03'));
    expect(m.has(OptionNumber.CONTENT_FORMAT)).toBe(true);
    expect(m.contentFormat).toBeUndefined();
  });

  it('RFC 7252 §5.4.5 repeated elective option: first occurrence wins', () => {
    const m = decode(hex('40 01 00 01 c1 28 01 3c'));
    expect(m.contentFormat).toBe(40);
    expect(m.all(OptionNumber.CONTENT_FORMAT)).toHaveLength(2);
  });

  it('RFC 7252 §6.4 repeated Uri-Path and Uri-Query in order', () => {
    const m = decode(
      encode({
        type: CoapType.CON,
        code: CoapCode.POST,
        mid: 1,
        options: [
          ...uriPathOptions('/rd/5a3f'),
          { number: OptionNumber.URI_QUERY, value: Buffer.from('lt=60') },
          { number: OptionNumber.URI_QUERY, value: Buffer.from('b=U') },
        ],
      }),
    );
    expect(m.uriPath).toEqual(['rd', '5a3f']);
    expect(m.uriPathString).toBe('/rd/5a3f');
    expect(m.uriQuery).toEqual(['lt=60', 'b=U']);
  });

  it('RFC 7252 §3.2 uint option with leading zeros is accepted', () => {
    expect(decode(hex('40 01 00 01 c2 00 28')).contentFormat).toBe(40);
  });

  it('RFC 7641 §2 Observe of 0..3 bytes', () => {
    expect(decode(hex('40 01 00 01 60')).observe).toBe(0);
    expect(decode(hex('40 45 00 01 63 12 d6 87')).observe).toBe(1234567);
    expect(decode(hex('40 45 00 01 64 01 12 d6 87')).observe).toBeUndefined(); // 4 bytes: invalid elective → absent
  });

  it('RFC 7959 §2.2 Block1 and Block2 getters', () => {
    // Block2 (23): num 5, M=1, szx 6 → 0x5e ; Block1 (27): num 0xfffff, M=0, szx 2 → ff ff f2
    const m = decode(hex('40 45 00 01 d1 0a 5e 43 ff ff f2'));
    expect(m.block2).toEqual({ num: 5, more: true, szx: 6 });
    expect(m.block1).toEqual({ num: 0xfffff, more: false, szx: 2 });
    expect(decode(hex('40 45 00 01 d0 0a')).block2).toEqual({ num: 0, more: false, szx: 0 });
  });

  it('LwM2M content formats', () => {
    for (const cf of Object.values(ContentFormat)) {
      const m = decode(encode({ type: CoapType.ACK, code: CoapCode.CONTENT, mid: 9, options: [uintOption(OptionNumber.CONTENT_FORMAT, cf)] }));
      expect(m.contentFormat).toBe(cf);
    }
  });

  it('getters: uriHost, uriPort, accept, maxAge, size2, etags, ifMatch, ifNoneMatch, locationPath/Query', () => {
    const m = decode(
      encode({
        type: CoapType.CON,
        code: CoapCode.PUT,
        mid: 2,
        options: [
          { number: OptionNumber.URI_HOST, value: Buffer.from('example.org') },
          uintOption(OptionNumber.URI_PORT, 5683),
          uintOption(OptionNumber.ACCEPT, 11543),
          uintOption(OptionNumber.MAX_AGE, 0xffffffff),
          uintOption(OptionNumber.SIZE2, 4096),
          { number: OptionNumber.ETAG, value: hex('0102') },
          { number: OptionNumber.ETAG, value: hex('03') },
          { number: OptionNumber.IF_MATCH, value: hex('') },
          { number: OptionNumber.IF_NONE_MATCH, value: hex('') },
        ],
      }),
    );
    expect(m.uriHost).toBe('example.org');
    expect(m.uriPort).toBe(5683);
    expect(m.accept).toBe(11543);
    expect(m.maxAge).toBe(0xffffffff);
    expect(m.size2).toBe(4096);
    expect(m.etags.map((e) => Buffer.from(e).toString('hex'))).toEqual(['0102', '03']);
    expect(m.ifMatch).toHaveLength(1);
    expect(m.ifNoneMatch).toBe(true);
    const loc = decode(
      encode({
        type: CoapType.ACK,
        code: CoapCode.CREATED,
        mid: 2,
        options: [
          { number: OptionNumber.LOCATION_PATH, value: Buffer.from('rd') },
          { number: OptionNumber.LOCATION_PATH, value: Buffer.from('x1') },
          { number: OptionNumber.LOCATION_QUERY, value: Buffer.from('q') },
        ],
      }),
    );
    expect(loc.locationPath).toEqual(['rd', 'x1']);
    expect(loc.locationQuery).toEqual(['q']);
    expect(loc.uriPath).toEqual([]);
    expect(loc.contentFormat).toBeUndefined();
  });

  it('UTF-8 Uri-Path segments', () => {
    const m = decode(encode({ type: CoapType.CON, code: CoapCode.GET, mid: 1, options: uriPathOptions(['温度', 'é']) }));
    expect(m.uriPath).toEqual(['温度', 'é']);
  });

  it('clone() detaches from the datagram buffer', () => {
    const buf = hex('41 45 00 01 aa c1 28 ff 68');
    const m = decode(buf);
    const c = m.clone();
    buf.fill(0);
    expect(c.contentFormat).toBe(40);
    expect(Buffer.from(c.token).toString('hex')).toBe('aa');
    expect(Buffer.from(c.payload).toString()).toBe('h');
  });
});

describe('encode', () => {
  it('RFC 7252 §3 writes header, token, options (sorted, stable), payload marker', () => {
    const b = encode({
      type: CoapType.NON,
      code: CoapCode.POST,
      mid: 0x0102,
      token: hex('aabb'),
      options: [
        { number: OptionNumber.URI_QUERY, value: Buffer.from('a') },
        { number: OptionNumber.URI_PATH, value: Buffer.from('x') },
        { number: OptionNumber.URI_QUERY, value: Buffer.from('b') },
        { number: OptionNumber.URI_PATH, value: Buffer.from('y') },
      ],
      payload: Buffer.from('z'),
    });
    expect(b.toString('hex')).toBe('52020102aabb' + 'b178' + '0179' + '4161' + '0162' + 'ff7a');
  });

  it('RFC 7252 §3 no payload marker for an empty payload', () => {
    expect(encode({ type: CoapType.CON, code: CoapCode.GET, mid: 1, payload: new Uint8Array(0) }).toString('hex')).toBe('40010001');
  });

  it('RFC 7252 §3.1 extended delta/length encodings (12, 13, 268, 269, 65804)', () => {
    const cases: [number, number, string][] = [
      [12, 0, 'c0'],
      [13, 0, 'd000'],
      [268, 0, 'd0ff'],
      [269, 0, 'e00000'],
      [2050, 0, 'e006f5'],
    ];
    for (const [num, len, h] of cases) {
      const b = encode({ type: CoapType.CON, code: CoapCode.GET, mid: 0, options: [{ number: num, value: new Uint8Array(len) }] });
      expect(b.subarray(4).toString('hex')).toBe(h);
    }
    const lens: [number, string][] = [
      [12, '2c'],
      [13, '2d00'],
      [268, '2dff'],
      [269, '2e0000'],
      [65804, '2effff'],
    ];
    for (const [len, h] of lens) {
      const b = encode({ type: CoapType.CON, code: CoapCode.GET, mid: 0, options: [{ number: 2, value: new Uint8Array(len) }] });
      expect(b.subarray(4, 4 + h.length / 2).toString('hex')).toBe(h);
      expect(b.length).toBe(4 + h.length / 2 + len);
    }
  });

  it('rejects invalid messages with CoapEncodeError', () => {
    const base = { type: CoapType.CON, code: CoapCode.GET, mid: 1 } as const;
    const bad = [
      { ...base, token: new Uint8Array(9) },
      { ...base, mid: 65536 },
      { ...base, mid: -1 },
      { ...base, code: 0x20 },
      { ...base, code: 256 },
      { ...base, type: 4 as CoapType },
      { ...base, code: 0, payload: hex('01') },
      { ...base, code: 0, token: hex('01') },
      { ...base, code: 0, options: [uintOption(12, 0)] },
      { ...base, options: [{ number: 65536, value: new Uint8Array(0) }] },
      { ...base, options: [{ number: 2, value: new Uint8Array(65805) }] },
    ];
    for (const m of bad) {
      expect(() => encode(m)).toThrow(expect.objectContaining({ name: 'CoapEncodeError' }));
    }
  });

  it('encodeInto writes at an offset and reports the length; too small → CoapEncodeError', () => {
    const msg = { type: CoapType.CON, code: CoapCode.GET, mid: 7, options: uriPathOptions('/a') };
    const out = Buffer.alloc(16, 0xee);
    const n = encodeInto(msg, out, 3);
    expect(n).toBe(encodedLength(msg));
    expect(out.subarray(3, 3 + n).equals(encode(msg))).toBe(true);
    expect(out[2]).toBe(0xee);
    expect(() => encodeInto(msg, Buffer.alloc(5))).toThrow(expect.objectContaining({ name: 'CoapEncodeError' }));
  });

  it('encode/encodeInto of a decoded message copies its bytes', () => {
    const raw = hex('41 45 00 01 aa c1 28 ff 68');
    const m = decode(raw);
    expect(m).toBeInstanceOf(CoapMessage);
    expect(encode(m).equals(raw)).toBe(true);
    expect(encodedLength(m)).toBe(raw.length);
    const out = Buffer.alloc(raw.length);
    expect(encodeInto(m, out)).toBe(raw.length);
    expect(out.equals(raw)).toBe(true);
  });
});
