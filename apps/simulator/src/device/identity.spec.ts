import fc from 'fast-check';
import { inspectEpn, isChinaMobileImsi, isCmeiSyntax, isValidImei, luhnValid, parseEpn } from '@dmp/identity';
import { createIdentityFactory, DEFAULT_DM_VERSION, FORM_D_VERSION } from './identity';
import { MAX_DISTINCT_UES } from './profile';
import type { EpnForm, UeIdentity } from './types';

const APP_KEY = 'M100000058';
const PASSWORD = 'sim-password-1';
const passwords = { [APP_KEY]: PASSWORD };
const ALL_FORMS: readonly EpnForm[] = ['A', 'B', 'C', 'D', 'URN_IMEI', 'IMEI'];

function single(form: EpnForm, seed = 7) {
  return createIdentityFactory({ seed, forms: { [form]: 1 }, appKey: APP_KEY, password: PASSWORD });
}

/** Everything the platform must derive from the EPN, and the field checks of epn-formats.md. */
function checkIdentity(id: UeIdentity): void {
  expect(isValidImei(id.imei)).toBe(true);
  expect(luhnValid(id.imei)).toBe(true);
  expect(id.imei.startsWith('86')).toBe(true);
  expect(isChinaMobileImsi(id.imsi)).toBe(true);
  expect(id.imsi).toHaveLength(15);
  if (id.cmei !== undefined) {
    expect(isCmeiSyntax(id.cmei)).toBe(true);
    expect(id.cmei.startsWith('11')).toBe(true);
  }
  const r = parseEpn(id.epn, { passwords });
  if (!r.ok) throw new Error(`parseEpn rejected ${id.epn}: ${r.reason} ${r.detail}`);
  expect(r.form).toBe(id.form);
  expect(r.epi).toBe(id.expectedEpi);
  expect(r.imei).toBe(id.imei);
  expect(r.cmei).toBe(id.cmei);
  expect(r.version).toBe(id.version);
  expect(r.dropped).toEqual([]);
  // IMSI travels in every form except URN / bare IMEI / D.
  if (id.form === 'A' || id.form === 'B' || id.form === 'C') expect(r.imsi).toBe(id.imsi);
  if (id.form === 'A') expect(r.source).toBe('decrypted');
}

describe('createIdentityFactory', () => {
  it.each(ALL_FORMS)('Form %s: valid IMEI / IMSI / CMEI and parseEpn(epn) derives expectedEpi (indices 0..299)', (form) => {
    const f = single(form);
    for (let i = 0; i < 300; i++) {
      const id = f(i);
      expect(id.index).toBe(i);
      expect(id.form).toBe(form);
      checkIdentity(id);
    }
  });

  it('Form A: 5-part and 3-part EPNs with the AppKey; only the password opens the 3-part ones', () => {
    const f = single('A');
    const ids = Array.from({ length: 200 }, (_, i) => f(i));
    const parts = ids.map((id) => id.epn.split('@#@').length);
    expect(parts.filter((n) => n === 3).length).toBeGreaterThan(10);
    expect(parts.filter((n) => n === 5).length).toBeGreaterThan(100);
    for (const id of ids) {
      expect(inspectEpn(id.epn)).toMatchObject({ form: 'A', appKey: APP_KEY, needsPassword: true });
      const blind = parseEpn(id.epn);
      if (id.epn.split('@#@').length === 3) expect(blind).toMatchObject({ ok: false, reason: 'UNKNOWN_APPKEY' });
      // Without the password the 5-part form only has its clear ID1 (absent for ZTE-style UEs without CMEI).
      else if (id.epn.split('@#@')[3] === '****') expect(blind).toMatchObject({ ok: false, reason: 'NO_VALID_ID' });
      else expect(blind).toMatchObject({ ok: true, source: 'clear' });
    }
    // A wrong password never yields the decrypted identity.
    const three = ids.find((id) => id.epn.split('@#@').length === 3) as UeIdentity;
    expect(parseEpn(three.epn, { passwords: { [APP_KEY]: 'wrong' } })).toMatchObject({ ok: false });
  });

  it('Form A/B use both vendor slot layouts: ZTE (CMEI, IMEI) and Unisoc (IMEI, ****)', () => {
    const f = single('B');
    const ids = Array.from({ length: 200 }, (_, i) => f(i));
    const withCmei = ids.filter((id) => id.cmei !== undefined);
    expect(withCmei.length).toBeGreaterThan(40);
    expect(withCmei[0]?.epn).toBe(`${withCmei[0]?.cmei}-${withCmei[0]?.imei}-${withCmei[0]?.imsi}-${DEFAULT_DM_VERSION}`);
    const unisoc = ids.find((id) => id.epn.startsWith(id.imei));
    expect(unisoc?.epn).toBe(`${unisoc?.imei}-****-${unisoc?.imsi}-${DEFAULT_DM_VERSION}`);
    expect(ids.some((id) => id.epn.startsWith('****-'))).toBe(true);
  });

  it('carries the configured DM version (Form D: its own v4 version)', () => {
    const b = createIdentityFactory({ seed: 1, forms: { B: 1 }, version: 'V4.0.1_D1.2.3' })(3);
    expect(b.version).toBe('V4.0.1_D1.2.3');
    expect(parseEpn(b.epn)).toMatchObject({ ok: true, version: 'V4.0.1_D1.2.3', location: `${b.expectedEpi};V4.0.1_D1.2.3` });
    const d = single('D')(3);
    expect(d.version).toBe(FORM_D_VERSION);
    expect(d.epn.split('||')).toHaveLength(12);
    expect(single('C')(3).version).toBeUndefined();
  });

  it('is deterministic in (seed, index) and the seed changes the fleet', () => {
    const opts = { seed: 42, forms: { A: 1, B: 1, C: 1 }, appKey: APP_KEY, password: PASSWORD };
    const a = createIdentityFactory(opts);
    const b = createIdentityFactory(opts);
    for (const i of [0, 1, 99, 100, 12345, 9_999_999]) {
      const x = a(i);
      // Form A ciphertext is deterministic too (zero IV).
      expect(b(i)).toEqual(x);
      expect(a(i)).toEqual(x);
    }
    const other = createIdentityFactory({ ...opts, seed: 43 });
    const same = [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => other(i).imei === a(i).imei);
    expect(same).toEqual([]);
  });

  it('picks forms by weight', () => {
    const f = createIdentityFactory({ seed: 3, forms: { B: 6, C: 3, IMEI: 1 } });
    const counts: Record<string, number> = {};
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const form = f(i).form;
      counts[form] = (counts[form] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(['B', 'C', 'IMEI']);
    expect(Math.abs((counts['B'] ?? 0) / n - 0.6)).toBeLessThan(0.02);
    expect(Math.abs((counts['C'] ?? 0) / n - 0.3)).toBeLessThan(0.02);
    expect(Math.abs((counts['IMEI'] ?? 0) / n - 0.1)).toBeLessThan(0.02);
  });

  it('200,000 consecutive indices have pairwise distinct EPIs, IMEIs and IMSIs', () => {
    const f = createIdentityFactory({ seed: 2024, forms: { B: 4, C: 1, D: 1, URN_IMEI: 1, IMEI: 1 } });
    const epis = new Set<string>();
    const imeis = new Set<string>();
    const imsis = new Set<string>();
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const id = f(i);
      epis.add(id.expectedEpi);
      imeis.add(id.imei);
      imsis.add(id.imsi);
    }
    expect(epis.size).toBe(n);
    expect(imeis.size).toBe(n);
    expect(imsis.size).toBe(n);
  });

  it('property: for any seed, index and form, parseEpn(epn, {passwords}) derives expectedEpi', () => {
    const factories = new Map<string, ReturnType<typeof createIdentityFactory>>();
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(MAX_DISTINCT_UES - 1), fc.constantFrom(...ALL_FORMS), (seed, index, form) => {
        const key = `${seed}/${form}`;
        let f = factories.get(key);
        if (!f) factories.set(key, (f = single(form, seed)));
        checkIdentity(f(index));
      }),
      { numRuns: 400 },
    );
  });

  it('property: distinct indices below MAX_DISTINCT_UES give distinct EPIs', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(MAX_DISTINCT_UES - 1), fc.nat(MAX_DISTINCT_UES - 1), (seed, i, j) => {
        fc.pre(i !== j);
        const f = createIdentityFactory({ seed, forms: { B: 1, IMEI: 1 } });
        expect(f(i).expectedEpi).not.toBe(f(j).expectedEpi);
        expect(f(i).imei).not.toBe(f(j).imei);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects bad options and bad indices', () => {
    expect(() => createIdentityFactory({ seed: 1, forms: {} })).toThrow(RangeError);
    expect(() => createIdentityFactory({ seed: 1, forms: { B: 0 } })).toThrow(RangeError);
    expect(() => createIdentityFactory({ seed: 1, forms: { B: -1 } })).toThrow(RangeError);
    expect(() => createIdentityFactory({ seed: 1, forms: { B: Number.NaN } })).toThrow(RangeError);
    expect(() => createIdentityFactory({ seed: 1, forms: { A: 1 } })).toThrow(/appKey/);
    expect(() => createIdentityFactory({ seed: 1, forms: { A: 1 }, appKey: 'bad key' })).toThrow(RangeError);
    expect(() => createIdentityFactory({ seed: 1, forms: { B: 1 }, version: 'v2-0' })).toThrow(RangeError);
    const f = createIdentityFactory({ seed: 1, forms: { B: 1 } });
    expect(() => f(-1)).toThrow(RangeError);
    expect(() => f(1.5)).toThrow(RangeError);
  });
});
