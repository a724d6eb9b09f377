import fc from 'fast-check';
import { LinkFormatError } from './errors';
import { link, lwm2mAttributes, parseLinkFormat, serializeLinkFormat } from './link-format';

describe('RFC 6690 §2 link-format', () => {
  it('parses the spec §8.3.1 registration payload </>;rt="oma.lwm2m",</1/0>,</3/0>,</6/0>', () => {
    const links = parseLinkFormat('</>;rt="oma.lwm2m",</1/0>,</3/0>,</6/0>');
    expect(links.map((l) => l.uri)).toEqual(['/', '/1/0', '/3/0', '/6/0']);
    expect(links[0]?.attributes['rt']).toBe('oma.lwm2m');
  });

  it('tolerates spaces after commas (spec table 8-9 example) and a trailing comma', () => {
    expect(parseLinkFormat('</>;rt="oma.lwm2m", </1/0>, </3/0>, </6/0>,').map((l) => l.uri)).toEqual(['/', '/1/0', '/3/0', '/6/0']);
    expect(parseLinkFormat('')).toEqual([]);
    expect(parseLinkFormat('  ')).toEqual([]);
  });

  it('parses LwM2M attributes: ver, ct, pmin, pmax, gt, lt, st, dim, flags, quoted values with escapes', () => {
    const [l] = parseLinkFormat('</3/0/7>;dim=2;pmin=10;pmax=60;gt=50.5;lt=-3;st=0.5;ver=1.1;ct="60 110";obs;title="a \\"q\\" b"');
    expect(l?.attributes['obs']).toBe(true);
    expect(l?.attributes['title']).toBe('a "q" b');
    expect(lwm2mAttributes(l!)).toEqual({ dim: 2, pmin: 10, pmax: 60, gt: 50.5, lt: -3, st: 0.5, ver: '1.1', ct: [60, 110] });
    expect(lwm2mAttributes(parseLinkFormat('</1>;stp=2')[0]!).st).toBe(2);
  });

  it.each([
    ['missing <', '/3/0>'],
    ['unterminated <', '</3/0'],
    ['unterminated quote', '</3>;rt="abc'],
    ['empty value', '</3>;pmin='],
    ['garbage after link', '</3> x'],
    ['bad parameter name', '</3>;=5'],
    ['space inside uri', '</3 /0>'],
  ])('rejects %s', (_n, s) => {
    expect(() => parseLinkFormat(s)).toThrow(LinkFormatError);
  });

  it('caps size and link count', () => {
    expect(() => parseLinkFormat('</1>,'.repeat(20000))).toThrow(LinkFormatError);
    expect(() => parseLinkFormat('</1>,'.repeat(20), { maxLinks: 10 })).toThrow(LinkFormatError);
  });

  it('serializes with quoting rules (rt quoted, tokens bare, flags bare)', () => {
    expect(serializeLinkFormat([link('/', { rt: 'oma.lwm2m' }), link('/3/0/7', { dim: 2, pmin: 10, obs: true }), link('/1', { title: 'a b' })])).toBe(
      '</>;rt="oma.lwm2m",</3/0/7>;dim=2;pmin=10;obs,</1>;title="a b"',
    );
  });

  const token = fc.stringMatching(/^[A-Za-z0-9.\-_:/]{1,10}$/);
  const uriArb = fc.stringMatching(/^\/[A-Za-z0-9/._-]{0,20}$/);
  // eslint-disable-next-line no-control-regex
  const valueArb = fc.oneof(token, fc.string({ maxLength: 10 }).filter((s) => !/[\u0000-\u001f]/.test(s)), fc.constant(true as const));
  const linkArb = fc
    .tuple(uriArb, fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), valueArb, { maxKeys: 4 }))
    .map(([u, a]) => link(u, a));

  it('round trip (property): parse(serialize(links)) = links', () => {
    fc.assert(
      fc.property(fc.array(linkArb, { maxLength: 8 }), (links) => {
        const back = parseLinkFormat(serializeLinkFormat(links));
        expect(back.map((l) => [l.uri, { ...l.attributes }])).toEqual(links.map((l) => [l.uri, { ...l.attributes }]));
      }),
      { numRuns: 1000 },
    );
  });

  it('fuzz: only LinkFormatError, for strings and bytes', () => {
    const seeds = ['</>;rt="oma.lwm2m",</1/0>,</3/0>', '</3/0/7>;dim=2;pmin=10;ct="60 110"'];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.tuple(fc.constantFrom(...seeds), fc.nat(40), fc.string({ maxLength: 3 })).map(([s, i, x]) => s.slice(0, i) + x + s.slice(i + 1)),
        ),
        (s) => {
          try {
            parseLinkFormat(s);
          } catch (e) {
            if (!(e instanceof LinkFormatError)) throw e;
          }
        },
      ),
      { numRuns: 10000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        try {
          parseLinkFormat(b);
        } catch (e) {
          if (!(e instanceof LinkFormatError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
