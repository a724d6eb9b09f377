import fc from 'fast-check';
import { LwM2mPathError } from './errors';
import { LwM2mPath } from './path';

describe('LwM2mPath (LwM2M URI /{Object ID}/{Object Instance ID}/{Resource ID}, spec tables 8-12, 8-16, 8-17)', () => {
  it.each([
    ['/', 0, '/'],
    ['', 0, '/'],
    ['/3', 1, '/3'],
    ['/3/0', 2, '/3/0'],
    ['3/0/1', 3, '/3/0/1'],
    ['/3/0/11/2', 4, '/3/0/11/2'],
    ['/3/0/', 2, '/3/0'],
    ['/65535/65535/65535/65535', 4, '/65535/65535/65535/65535'],
  ])('parses %s', (text, depth, str) => {
    const p = LwM2mPath.parse(text);
    expect(p.depth).toBe(depth);
    expect(p.toString()).toBe(str);
  });

  it('exposes ids and predicates', () => {
    const p = LwM2mPath.parse('/3/0/11/2');
    expect([p.objectId, p.objectInstanceId, p.resourceId, p.resourceInstanceId]).toEqual([3, 0, 11, 2]);
    expect(p.isResourceInstance()).toBe(true);
    expect(p.parent().toString()).toBe('/3/0/11');
    expect(LwM2mPath.ROOT.isRoot()).toBe(true);
    expect(LwM2mPath.of(3, 0).append(1).toSegments()).toEqual(['3', '0', '1']);
    expect(LwM2mPath.fromSegments(['3', '0']).equals(LwM2mPath.of(3, 0))).toBe(true);
    expect(JSON.stringify({ p: LwM2mPath.of(5) })).toBe('{"p":"/5"}');
  });

  it.each([
    ['/65536', 'ID_OUT_OF_RANGE'],
    ['/-1', 'SYNTAX'],
    ['/a', 'SYNTAX'],
    ['/01', 'SYNTAX'],
    ['//3', 'EMPTY'],
    ['/1/2/3/4/5', 'TOO_DEEP'],
    ['/1.5', 'SYNTAX'],
    ['/ 3', 'SYNTAX'],
  ])('rejects %s with %s', (text, reason) => {
    try {
      LwM2mPath.parse(text);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(LwM2mPathError);
      expect((e as LwM2mPathError).reason).toBe(reason);
    }
  });

  it('of() validates ids', () => {
    expect(() => LwM2mPath.of(1.5)).toThrow(LwM2mPathError);
    expect(() => LwM2mPath.of(1, 2, 3, 4, 5)).toThrow(LwM2mPathError);
    expect(() => LwM2mPath.of(1, 2, 3, 4).append(1)).toThrow(LwM2mPathError);
  });

  const pathArb = fc.array(fc.integer({ min: 0, max: 65535 }), { maxLength: 4 }).map((ids) => LwM2mPath.of(...ids));

  it('parse(toString(p)) = p (property)', () => {
    fc.assert(fc.property(pathArb, (p) => LwM2mPath.parse(p.toString()).equals(p)));
  });

  it('compare is a total order consistent with prefixes (property)', () => {
    fc.assert(
      fc.property(pathArb, pathArb, (a, b) => {
        const c = LwM2mPath.compare(a, b);
        if (c !== -LwM2mPath.compare(b, a) && !(c === 0 && LwM2mPath.compare(b, a) === 0)) return false;
        if (a.isPrefixOf(b) && !a.equals(b) && c >= 0) return false;
        return (c === 0) === a.equals(b);
      }),
    );
    expect(LwM2mPath.ROOT.isPrefixOf(LwM2mPath.of(3))).toBe(true);
    expect(LwM2mPath.of(3, 0).isPrefixOf(LwM2mPath.of(3, 0, 1))).toBe(true);
    expect(LwM2mPath.of(3, 1).isPrefixOf(LwM2mPath.of(3, 0, 1))).toBe(false);
    expect([LwM2mPath.of(3, 1), LwM2mPath.of(3), LwM2mPath.of(2, 9)].sort(LwM2mPath.compare).map(String)).toEqual(['/2/9', '/3', '/3/1']);
  });

  it('fuzz: parse throws only LwM2mPathError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[/0-9a]{0,20}$/)), (s) => {
        try {
          LwM2mPath.parse(s);
        } catch (e) {
          if (!(e instanceof LwM2mPathError)) throw e;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
