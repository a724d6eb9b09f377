/** parse(encode(fields)) = fields, for every form (fast-check). */
import fc from 'fast-check';
import {
  DerivedKeyCache,
  classifyIdentifier,
  encodeEpn,
  generateCmei,
  generateImei,
  generateImsi,
  imeiFromBody,
  isChinaMobileImsi,
  isValidImei,
  luhnCheckDigit,
  luhnValid,
  parseEpn,
  seededRandom,
  slotsFor,
  type EpnParseResult,
} from './index';

const digitStr = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: n, maxLength: n });
const alnum = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.split('');

/** Valid IMEIs, excluding the `11` prefix that reads as a CMEI in slot 1. */
const imeiArb = digitStr(14)
  .filter((b) => !b.startsWith('11'))
  .map(imeiFromBody);
/** CMEIs in China Mobile's scheme (11 + model + serial + digit). */
const cmeiArb = fc
  .tuple(digitStr(6), fc.string({ unit: fc.constantFrom(...alnum), minLength: 6, maxLength: 6 }), digitStr(1))
  .map(([m, s, d]) => `11${m}${s}${d}`);
const imsiArb = fc.tuple(fc.constantFrom('00', '02', '04', '07', '08'), digitStr(10)).map(([mnc, msin]) => `460${mnc}${msin}`);
const versionArb = fc.oneof(
  fc.constantFrom('v2.0', 'V4.0', 'v4.0'),
  fc.tuple(fc.nat(99), fc.nat(99), fc.nat(99), fc.nat(9)).map(([a, b, c, d]) => `V${a}.${b}.${c}_D${d}.${b}.${a}`),
);
const appKeyArb = fc.string({ unit: fc.constantFrom(...alnum), minLength: 1, maxLength: 64 });
const passwordArb = fc.string({ minLength: 0, maxLength: 40 });

type Ids = { cmei?: string; imei?: string; imei2?: string };
/** Identity sets expressible in each vendor slot layout (at least one identifier). */
const zteIds = fc.record({ cmei: fc.option(cmeiArb, { nil: undefined }), imei: imeiArb });
const zteCmeiOnly = cmeiArb.map((cmei) => ({ cmei }));
const unisocIds = fc
  .tuple(imeiArb, fc.option(imeiArb, { nil: undefined }))
  .filter(([a, b]) => a !== b)
  .map(([imei, imei2]) => ({ imei, imei2 }));
const idsWithStyle: fc.Arbitrary<[Ids, 'zte' | 'unisoc']> = fc.oneof(
  fc.tuple(fc.oneof<fc.Arbitrary<Ids>[]>(zteIds, zteCmeiOnly), fc.constant('zte' as const)),
  fc.tuple(unisocIds as fc.Arbitrary<Ids>, fc.constant('unisoc' as const)),
);

function identityOf(r: EpnParseResult) {
  if (!r.ok) return { rejected: r.reason, detail: r.detail };
  return { cmei: r.cmei, imei: r.imei, imei2: r.imei2, imsi: r.imsi, version: r.version, dropped: r.dropped };
}
function expected(ids: Ids, imsi: string | undefined, version: string | undefined) {
  return { cmei: ids.cmei, imei: ids.imei, imei2: ids.imei2, imsi, version, dropped: [] };
}

describe('round trip parse(encode(fields)) = fields', () => {
  const cache = new DerivedKeyCache(64);

  it('Form A (3 and 5 parts, both slot layouts), with the password', () => {
    fc.assert(
      fc.property(
        idsWithStyle,
        fc.option(imsiArb, { nil: undefined }),
        fc.option(versionArb, { nil: undefined }),
        appKeyArb,
        passwordArb,
        fc.constantFrom(3 as const, 5 as const),
        fc.constantFrom('I', 'L', 'A'),
        ([ids, style], imsi, version, appKey, password, parts, terminalType) => {
          const epn = encodeEpn({ form: 'A', terminalType, appKey, password, parts, imsi, version, ...slotsFor(ids, style) });
          const r = parseEpn(epn, { passwords: new Map([[appKey, password]]), keyCache: cache });
          expect(identityOf(r)).toEqual(expected(ids, imsi, version));
          expect(r.ok && r.source === 'decrypted' && r.appKey === appKey && r.terminalType === terminalType).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('Form A 5 parts without the password: clear ID1 and DMv', () => {
    fc.assert(
      fc.property(idsWithStyle, fc.option(versionArb, { nil: undefined }), appKeyArb, ([ids, style], version, appKey) => {
        const slots = slotsFor(ids, style);
        const epn = encodeEpn({ form: 'A', terminalType: 'I', appKey, password: 'pw', version, ...slots });
        const r = parseEpn(epn);
        if (slots.id1 === undefined) {
          expect(r.ok ? r.epi : r.reason).toBe('NO_VALID_ID');
        } else {
          expect(r.ok && r.source === 'clear' && r.epi === slots.id1 && r.version === version).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('Form B', () => {
    fc.assert(
      fc.property(idsWithStyle, fc.option(imsiArb, { nil: undefined }), fc.option(versionArb, { nil: undefined }), ([ids, style], imsi, version) => {
        const r = parseEpn(encodeEpn({ form: 'B', imsi, version, ...slotsFor(ids, style) }));
        expect(identityOf(r)).toEqual(expected(ids, imsi, version));
        if (r.ok) {
          const epi = ids.cmei !== undefined && ids.imei !== undefined ? ids.cmei + ids.imei : (ids.cmei ?? ids.imei);
          expect(r.epi).toBe(epi);
          expect(r.location).toBe(version === undefined ? epi : `${epi};${version}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('Form C', () => {
    fc.assert(
      fc.property(digitStr(14).map(imeiFromBody), imsiArb, (imei, imsi) => {
        expect(identityOf(parseEpn(encodeEpn({ form: 'C', imei, imsi })))).toEqual(expected({ imei }, imsi, undefined));
      }),
    );
  });

  it('Form D', () => {
    const text = fc.string({ unit: fc.constantFrom(...alnum, '.', '_', '-'), minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(
        fc.record({
          brand: text,
          model: text,
          appKey: appKeyArb,
          sdkVersion: versionArb,
          apiVersion: text,
          terminalType: fc.constantFrom('A', 'I'),
          templateId: text,
          imei1: digitStr(14).map(imeiFromBody),
          imei2: fc.option(digitStr(14).map(imeiFromBody), { nil: undefined }),
        }).filter((d) => d.imei1 !== d.imei2),
        (d) => {
          const r = parseEpn(encodeEpn({ form: 'D', ...d }));
          if (!r.ok) throw new Error(r.detail);
          expect({
            brand: r.brand,
            model: r.model,
            appKey: r.appKey,
            sdkVersion: r.sdkVersion,
            apiVersion: r.apiVersion,
            terminalType: r.terminalType,
            templateId: r.templateId,
            imei1: r.imei,
            imei2: r.imei2,
          }).toEqual(d);
          expect(r.version).toBe(d.sdkVersion);
          expect(r.dropped).toEqual([]);
        },
      ),
    );
  });

  it('urn:imei and bare IMEI', () => {
    fc.assert(
      fc.property(digitStr(14).map(imeiFromBody), (imei) => {
        for (const form of ['URN_IMEI', 'IMEI'] as const) {
          const r = parseEpn(encodeEpn({ form, imei }));
          expect(r.ok && r.epi === imei && r.form === form).toBe(true);
        }
      }),
    );
  });
});

describe('generators and checks', () => {
  it('luhnCheckDigit makes luhnValid true, and any single-digit change breaks it', () => {
    fc.assert(
      fc.property(digitStr(14), fc.nat(14), fc.integer({ min: 1, max: 9 }), (body, pos, delta) => {
        const imei = imeiFromBody(body);
        expect(imei.endsWith(String(luhnCheckDigit(body)))).toBe(true);
        expect(isValidImei(imei)).toBe(true);
        const d = (Number(imei[pos]) + delta) % 10;
        const mutated = imei.slice(0, pos) + String(d) + imei.slice(pos + 1);
        expect(luhnValid(mutated)).toBe(false);
      }),
    );
  });

  it('generated identities pass the field checks and classify as intended', () => {
    const random = seededRandom(42);
    for (let i = 0; i < 500; i++) {
      const imei = generateImei({ random });
      const cmei = generateCmei({ random });
      const imsi = generateImsi({ random });
      expect(isValidImei(imei)).toBe(true);
      expect(classifyIdentifier(imei, 1)).toEqual({ kind: 'imei', value: imei });
      expect(classifyIdentifier(cmei, 1)).toEqual({ kind: 'cmei', value: cmei });
      expect(isChinaMobileImsi(imsi)).toBe(true);
      expect(imsi).toHaveLength(15);
    }
    expect(generateImei({ tac: '86632704' }).slice(0, 8)).toBe('86632704');
    expect(() => generateImei({ tac: '1' })).toThrow(RangeError);
  });

  it('seededRandom is reproducible', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    expect(generateImei({ random: a })).toBe(generateImei({ random: b }));
  });
});
