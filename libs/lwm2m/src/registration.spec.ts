import fc from 'fast-check';
import { RegistrationError } from './errors';
import { parseBootstrapQuery, parseObjectLinks, parseRegisterQuery, parseUpdateQuery } from './registration';

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RegistrationError) return e.reason;
    throw e;
  }
  return 'none';
}

describe('spec §8.3.1 table 8-8 Register /rd?ep=&lt=&lwm2m=&b= (R-REG-1)', () => {
  it('applies the defaults lt 86400, lwm2m 1.0, b U', () => {
    expect(parseRegisterQuery(['ep=CMEI123'])).toMatchObject({ endpoint: 'CMEI123', lifetime: 86400, lwm2mVersion: '1.0', binding: 'U', queueMode: false, sms: undefined });
  });
  it('reads explicit parameters (Uri-Query list or a query string)', () => {
    expect(parseRegisterQuery(['ep=x', 'lt=300', 'lwm2m=1.1', 'b=UQ', 'sms=+8613800000000', 'foo=bar'])).toMatchObject({
      lifetime: 300,
      lwm2mVersion: '1.1',
      binding: 'UQ',
      queueMode: true,
      sms: '+8613800000000',
      extra: { foo: 'bar' },
    });
    expect(parseRegisterQuery('?ep=x&lt=60&Q').queueMode).toBe(true);
  });
  it.each([
    [[], 'MISSING_ENDPOINT'],
    [['ep='], 'MISSING_ENDPOINT'],
    [['ep=x', 'lt=0'], 'INVALID_LIFETIME'],
    [['ep=x', 'lt=-5'], 'INVALID_LIFETIME'],
    [['ep=x', 'lt=1.5'], 'INVALID_LIFETIME'],
    [['ep=x', 'lt=99999999999'], 'INVALID_LIFETIME'],
    [['ep=x', 'b=T'], 'INVALID_BINDING'],
    [['ep=x', 'lwm2m=2.0'], 'INVALID_VERSION'],
    [['ep=x', 'ep=y'], 'INVALID_QUERY'],
    [['ep=x', 'Q=1'], 'INVALID_QUERY'],
    [['ep=' + 'a'.repeat(300)], 'INVALID_ENDPOINT'],
    [['ep=a\u0000b'], 'INVALID_ENDPOINT'],
  ])('%j → %s', (q, r) => {
    expect(reason(() => parseRegisterQuery(q))).toBe(r);
  });
  it.each(['U', 'UQ', 'S', 'SQ', 'US', 'UQS'])('accepts binding %s', (b) => {
    expect(parseRegisterQuery(['ep=x', `b=${b}`]).binding).toBe(b);
  });
});

describe('spec §8.3.2 table 8-9 Update (R-UPD-1)', () => {
  it('all parameters optional', () => {
    expect(parseUpdateQuery([])).toEqual({});
    expect(parseUpdateQuery(['lt=120', 'b=U', 'sms=123', 'Q'])).toEqual({ lifetime: 120, binding: 'U', sms: '123', queueMode: true });
    expect(parseUpdateQuery(['lwm2m=1.0']).lwm2mVersion).toBe('1.0');
  });
  it('rejects invalid / unexpected parameters', () => {
    expect(reason(() => parseUpdateQuery(['lt=x']))).toBe('INVALID_LIFETIME');
    expect(reason(() => parseUpdateQuery(['ep=x']))).toBe('INVALID_QUERY');
  });
  it('China Mobile DM `epi=` update name, alone or beside lt=, kept verbatim (Base64 `=` included)', () => {
    const name = 'I@#@NnikHz6yCfpa3RzauDe8oXnIXKD4YtFbvDir+/dt7sX0JsowNQO7CQdafpwy2I5E@#@M100000058';
    expect(parseUpdateQuery([`epi=${name}`])).toEqual({ updateName: name });
    expect(parseUpdateQuery(['lt=300', `epi=${name}==`])).toEqual({ lifetime: 300, updateName: `${name}==` });
    expect(parseUpdateQuery(`lt=60&epi=866327040830317-****-460041995401123`)).toEqual({ lifetime: 60, updateName: '866327040830317-****-460041995401123' });
  });
  it('rejects an empty, overlong, repeated or control-character `epi=`', () => {
    expect(reason(() => parseUpdateQuery(['epi=']))).toBe('MISSING_ENDPOINT');
    expect(reason(() => parseUpdateQuery(['epi']))).toBe('MISSING_ENDPOINT');
    expect(reason(() => parseUpdateQuery([`epi=${'x'.repeat(256)}`]))).toBe('INVALID_ENDPOINT');
    expect(reason(() => parseUpdateQuery(['epi=a\u0001b']))).toBe('INVALID_ENDPOINT');
    expect(reason(() => parseUpdateQuery(['epi=a', 'epi=b']))).toBe('INVALID_QUERY');
  });
  it('property: any Update query built from valid parameters parses back to them', () => {
    const params = fc.record(
      {
        lifetime: fc.integer({ min: 1, max: 0xffffffff }),
        binding: fc.constantFrom('U', 'UQ', 'S', 'SQ', 'US', 'UQS' as const),
        sms: fc.stringMatching(/^\+?[0-9]{1,20}$/),
        queueMode: fc.constant(true),
        lwm2mVersion: fc.constantFrom('1.0', '1.1', '1.2' as const),
        updateName: fc.stringMatching(/^[!-~]{1,255}$/),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(params, fc.boolean(), fc.boolean(), (p, asString, reversed) => {
        const parts: string[] = [];
        if (p.lifetime !== undefined) parts.push(`lt=${p.lifetime}`);
        if (p.binding !== undefined) parts.push(`b=${p.binding}`);
        if (p.sms !== undefined) parts.push(`sms=${p.sms}`);
        if (p.queueMode) parts.push('Q');
        if (p.lwm2mVersion !== undefined) parts.push(`lwm2m=${p.lwm2mVersion}`);
        if (p.updateName !== undefined) parts.push(`epi=${p.updateName}`);
        // the one-string form splits on '&': only names without it survive that form
        const useString = asString && !parts.some((x) => x.includes('&'));
        if (reversed) parts.reverse();
        expect(parseUpdateQuery(useString ? parts.join('&') : parts)).toEqual(p);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('spec §8.2.1 table 8-5 Bootstrap-Request /bs?ep= (R-BS-1)', () => {
  it('reads ep and the 1.1 pct', () => {
    expect(parseBootstrapQuery(['ep=abc'])).toEqual({ endpoint: 'abc', preferredContentFormat: undefined });
    expect(parseBootstrapQuery(['ep=abc', 'pct=112'])).toEqual({ endpoint: 'abc', preferredContentFormat: 112 });
    expect(reason(() => parseBootstrapQuery(['pct=112']))).toBe('MISSING_ENDPOINT');
    expect(reason(() => parseBootstrapQuery(['ep=a', 'pct=x']))).toBe('INVALID_PCT');
    expect(reason(() => parseBootstrapQuery(['ep=a', 'lt=5']))).toBe('INVALID_QUERY');
  });
});

describe('object links payload (spec §8.3.1 CoAP-payload)', () => {
  it('parses </>;rt="oma.lwm2m",</1/0>,</3/0>,</6/0> into supported objects', () => {
    const ol = parseObjectLinks('</>;rt="oma.lwm2m",</1/0>,</3/0>,</6/0>');
    expect(ol.rootPath).toBe('/');
    expect([...ol.objects.keys()]).toEqual([1, 3, 6]);
    expect(ol.objects.get(3)).toEqual({ id: 3, version: undefined, instances: [0] });
  });
  it('reads versions, objects without instances, several instances and the 1.1 ct', () => {
    const ol = parseObjectLinks(new TextEncoder().encode('</>;rt="oma.lwm2m";ct="60 110 112 11542",</1/0>,</3>;ver=1.1,</3303/1>,</3303/0>,</5>'));
    expect(ol.contentFormats).toEqual([60, 110, 112, 11542]);
    expect(ol.objects.get(3)).toEqual({ id: 3, version: '1.1', instances: [] });
    expect(ol.objects.get(3303)?.instances).toEqual([0, 1]);
    expect(ol.objects.has(5)).toBe(true);
  });
  it('supports an alternate path', () => {
    const ol = parseObjectLinks('</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>,</other/x>');
    expect(ol.rootPath).toBe('/lwm2m');
    expect([...ol.objects.keys()]).toEqual([1, 3]);
    expect(ol.links).toHaveLength(4);
  });
  it('works without a root link (LwM2M 1.0 devices)', () => {
    expect([...parseObjectLinks('</1/0>, </3/0>').objects.keys()]).toEqual([1, 3]);
  });
  it.each([
    ['</3/0/1>', 'INVALID_LINKS'],
    ['</70000/0>', 'INVALID_LINKS'],
    ['</abc>', 'INVALID_LINKS'],
    ['</3>;ver=x', 'INVALID_LINKS'],
    ['<3/0', 'INVALID_LINKS'],
    ['<x>;rt="oma.lwm2m"', 'INVALID_LINKS'],
  ])('rejects %s', (s, r) => {
    expect(reason(() => parseObjectLinks(s))).toBe(r);
  });
  it('fuzz: query and links parsers throw only RegistrationError', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }), (q) => {
        for (const f of [parseRegisterQuery, parseUpdateQuery, parseBootstrapQuery]) {
          try {
            f(q);
          } catch (e) {
            if (!(e instanceof RegistrationError)) throw e;
          }
        }
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^(<\/[0-9a-z/]{0,8}>(;[a-z]{1,3}(=[0-9."a-z]{0,4})?)?,?){0,4}$/)), (s) => {
        try {
          parseObjectLinks(s);
        } catch (e) {
          if (!(e instanceof RegistrationError)) throw e;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
