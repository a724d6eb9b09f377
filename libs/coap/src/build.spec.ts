import {
  CoapCode,
  CoapParseError,
  CoapType,
  OptionNumber,
  ack,
  blockOption,
  decode,
  decodeBlock,
  decodeUint,
  emptyOption,
  encode,
  encodeBlock,
  encodeUint,
  locationPathOptions,
  opaqueOption,
  optionDefinition,
  optionName,
  parseCode,
  formatCode,
  makeCode,
  piggybacked,
  ping,
  replyForParseError,
  rst,
  separateResponse,
  sizeToSzx,
  stringOption,
  szxToSize,
  tryDecode,
  uintLength,
  uriPathOptions,
  uriQueryOptions,
  isCritical,
  isUnsafe,
  isNoCacheKey,
} from './index';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
function err(h: string): CoapParseError {
  const r = tryDecode(hex(h));
  if (r.ok) throw new Error('expected error');
  return r.error;
}

describe('option value helpers', () => {
  it('RFC 7252 §3.2 uint: minimal length, 0 is empty', () => {
    const cases: [number, string][] = [
      [0, ''],
      [1, '01'],
      [255, 'ff'],
      [256, '0100'],
      [65535, 'ffff'],
      [65536, '010000'],
      [0xffffff, 'ffffff'],
      [0x1000000, '01000000'],
      [0xffffffff, 'ffffffff'],
    ];
    for (const [v, h] of cases) {
      expect(Buffer.from(encodeUint(v)).toString('hex')).toBe(h);
      expect(uintLength(v)).toBe(h.length / 2);
      expect(decodeUint(hex(h))).toBe(v);
    }
    expect(decodeUint(hex('000028'))).toBe(40);
    expect(() => encodeUint(-1)).toThrow();
    expect(() => encodeUint(2 ** 32)).toThrow();
    expect(() => encodeUint(1.5)).toThrow();
  });

  it('RFC 7959 §2.2 block values', () => {
    expect(Buffer.from(encodeBlock({ num: 0, more: false, szx: 0 })).toString('hex')).toBe('');
    expect(Buffer.from(encodeBlock({ num: 5, more: true, szx: 6 })).toString('hex')).toBe('5e');
    expect(Buffer.from(encodeBlock({ num: 16, more: false, szx: 2 })).toString('hex')).toBe('0102');
    expect(Buffer.from(encodeBlock({ num: 0xfffff, more: true, szx: 6 })).toString('hex')).toBe('fffffe');
    expect(decodeBlock(hex('fffffe'))).toEqual({ num: 0xfffff, more: true, szx: 6 });
    expect(() => encodeBlock({ num: 0x100000, more: false, szx: 0 })).toThrow();
    expect(() => encodeBlock({ num: 0, more: false, szx: 7 })).toThrow();
    expect([0, 1, 2, 3, 4, 5, 6].map(szxToSize)).toEqual([16, 32, 64, 128, 256, 512, 1024]);
    expect(sizeToSzx(1024)).toBe(6);
    expect(sizeToSzx(100)).toBeUndefined();
  });

  it('codes and option properties', () => {
    expect(makeCode(2, 5)).toBe(CoapCode.CONTENT);
    expect(formatCode(CoapCode.BAD_OPTION)).toBe('4.02');
    expect(parseCode('4.13')).toBe(CoapCode.REQUEST_ENTITY_TOO_LARGE);
    expect(parseCode('2.5')).toBeUndefined();
    expect(parseCode('8.00')).toBeUndefined();
    expect(isCritical(OptionNumber.URI_PATH)).toBe(true);
    expect(isCritical(OptionNumber.CONTENT_FORMAT)).toBe(false);
    expect(isUnsafe(OptionNumber.URI_HOST)).toBe(true);
    expect(isNoCacheKey(OptionNumber.SIZE1)).toBe(true);
    expect(optionName(11)).toBe('Uri-Path');
    expect(optionName(2050)).toBe('2050');
    expect(optionDefinition(OptionNumber.OBSERVE)).toMatchObject({ format: 'uint', maxLength: 3 });
  });

  it('option constructors', () => {
    const m = decode(
      encode({
        type: CoapType.CON,
        code: CoapCode.POST,
        mid: 1,
        options: [
          ...uriPathOptions('rd'),
          ...uriQueryOptions({ ep: 'node-1', lt: 300, b: 'U', Q: undefined }),
          blockOption(OptionNumber.BLOCK1, { num: 2, more: true, szx: 6 }),
          stringOption(OptionNumber.URI_HOST, 'h'),
          opaqueOption(OptionNumber.ETAG, hex('01')),
          emptyOption(OptionNumber.IF_NONE_MATCH),
        ],
      }),
    );
    expect(m.uriPath).toEqual(['rd']);
    expect(m.uriQuery).toEqual(['ep=node-1', 'lt=300', 'b=U', 'Q']);
    expect(m.block1).toEqual({ num: 2, more: true, szx: 6 });
    expect(m.uriHost).toBe('h');
    expect(m.ifNoneMatch).toBe(true);
    expect(uriPathOptions('/')).toEqual([]);
    expect(uriPathOptions(['a', '']).length).toBe(2);
    expect(locationPathOptions('/rd/abc').map((o) => o.number)).toEqual([8, 8]);
  });
});

describe('reply builders (RFC 7252 §4.2, §5.2)', () => {
  it('rst / ack / ping are 4-byte Empty messages echoing the MID', () => {
    expect(rst(0x1234).toString('hex')).toBe('70001234');
    expect(ack(0xfffe).toString('hex')).toBe('6000fffe');
    expect(ping(1).toString('hex')).toBe('40000001');
    expect(() => rst(70000)).toThrow();
  });

  it('piggybacked response echoes MID and token in an ACK', () => {
    const req = decode(hex('42 02 00 09 aa bb b2 72 64'));
    const res = decode(encode(piggybacked(req, CoapCode.CREATED, { options: locationPathOptions('/rd/x') })));
    expect(res.type).toBe(CoapType.ACK);
    expect(res.mid).toBe(9);
    expect(Buffer.from(res.token).toString('hex')).toBe('aabb');
    expect(res.locationPath).toEqual(['rd', 'x']);
  });

  it('separate response: new MID, same token, CON by default', () => {
    const res = separateResponse({ token: hex('01') }, CoapCode.CONTENT, 77, { payload: hex('61') });
    expect(res).toMatchObject({ type: CoapType.CON, mid: 77, code: CoapCode.CONTENT });
    expect(separateResponse({}, CoapCode.CONTENT, 1, { type: CoapType.NON }).type).toBe(CoapType.NON);
  });

  it('replyForParseError: RST for a malformed CON', () => {
    expect(replyForParseError(err('41 01 00 05'))!.toString('hex')).toBe('70000005');
  });

  it('replyForParseError: nothing for IGNORE actions', () => {
    expect(replyForParseError(err('50 01 00 05 f0'))).toBeUndefined();
    expect(replyForParseError(err('40 01'))).toBeUndefined();
  });

  it('replyForParseError: 4.02 piggybacked with token and diagnostic payload', () => {
    const r = decode(replyForParseError(err('42 01 00 07 aa bb 90'))!);
    expect(r.type).toBe(CoapType.ACK);
    expect(r.code).toBe(CoapCode.BAD_OPTION);
    expect(r.mid).toBe(7);
    expect(Buffer.from(r.token).toString('hex')).toBe('aabb');
    expect(Buffer.from(r.payload).toString()).toBe('Unrecognized critical option 9');
    const quiet = decode(replyForParseError(err('42 01 00 07 aa bb 90'), { diagnostic: false })!);
    expect(quiet.payload.length).toBe(0);
  });

  it('replyForParseError: 4.00 for Block SZX 7, NON response needs a MID', () => {
    const con = decode(replyForParseError(err('41 01 00 07 cc d1 0a 07'))!);
    expect(con.code).toBe(CoapCode.BAD_REQUEST);
    expect(con.type).toBe(CoapType.ACK);
    const nonErr = err('51 02 00 08 cc d1 0e 0f');
    expect(replyForParseError(nonErr)).toBeUndefined();
    const non = decode(replyForParseError(nonErr, { nonMid: 300 })!);
    expect(non.type).toBe(CoapType.NON);
    expect(non.mid).toBe(300);
    expect(Buffer.from(non.token).toString('hex')).toBe('cc');
  });
});
