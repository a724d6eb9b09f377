/**
 * Fuzz: random strings and mutated EPNs never throw and always give a well-formed
 * result (bounded: each property stops after ~1.2 s).
 */
import fc from 'fast-check';
import { DerivedKeyCache, encodeEpn, isValidImei, isValidVersion, parseEpn, type EpnParseResult } from './index';

const REASONS = ['EMPTY', 'TOO_LONG', 'BAD_CHARSET', 'BAD_FORMAT', 'NO_VALID_ID', 'DECRYPT_FAILED', 'UNKNOWN_APPKEY', 'BAD_INNER_FORMAT', 'CLEAR_MISMATCH'];
const PASSWORDS = new Map([['M100000058', 'Abc12345']]);
const cache = new DerivedKeyCache(16);
const budget = { interruptAfterTimeLimit: 1200, numRuns: 1_000_000, markInterruptAsFailure: false };

function wellFormed(r: EpnParseResult, epn: string): void {
  expect(Array.isArray(r.fields) && Array.isArray(r.dropped)).toBe(true);
  if (r.ok) {
    expect(r.epn).toBe(epn);
    const { cmei, imei } = r;
    expect(r.epi).toBe(cmei !== undefined && imei !== undefined ? cmei + imei : (cmei ?? imei));
    if (imei !== undefined) expect(isValidImei(imei)).toBe(true);
    if (cmei !== undefined) expect(cmei).toMatch(/^[0-9A-Za-z]{15}$/);
    if (r.version !== undefined) expect(isValidVersion(r.version)).toBe(true);
    expect(r.location).toBe(r.version === undefined ? r.epi : `${r.epi};${r.version}`);
  } else {
    expect(REASONS).toContain(r.reason);
    expect(r.epnPreview.length).toBeLessThanOrEqual(128);
  }
}

const seeds = [
  encodeEpn({ form: 'A', terminalType: 'I', appKey: 'M100000058', password: 'Abc12345', id1: '866327040830317', imsi: '460041995401123', version: 'v2.0' }),
  encodeEpn({ form: 'A', terminalType: 'L', appKey: 'M100000058', password: 'Abc12345', parts: 3, id1: '110123450A1B2C3', id2: '866327040830317' }),
  '866327040830317-****-460041995401123-v2.0',
  '869976030163456;460040427008310',
  'CMCC||M1||M100000058||V4.0||1.0||A||T0001||866327040830317||869976030163456||***||***||***',
  'urn:imei:866327040830317',
  '866327040830317',
];

/** Mutations: replace, insert, delete characters; duplicate or cut separators. */
const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(
      fc.tuple(fc.constantFrom('set', 'ins', 'del', 'dup'), fc.nat(), fc.constantFrom('-', '@', '#', '|', ';', '*', '0', 'A', '=', '/', '+', ':', ' ', '\u0000', 'é')),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([seed, ops]) => {
    let s = seed;
    for (const [op, pos, ch] of ops) {
      const i = s.length === 0 ? 0 : pos % s.length;
      if (op === 'set') s = s.slice(0, i) + ch + s.slice(i + 1);
      else if (op === 'ins') s = s.slice(0, i) + ch + s.slice(i);
      else if (op === 'del') s = s.slice(0, i) + s.slice(i + 1);
      else s = s.slice(0, i) + s.slice(i, i + 8) + s.slice(i);
    }
    return s;
  });

describe('parseEpn fuzz', () => {
  it('random unicode strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        wellFormed(parseEpn(s, { passwords: PASSWORDS, keyCache: cache }), s);
      }),
      budget,
    );
  });

  it('random strings over the separator alphabet', () => {
    const unit = fc.constantFrom(...'0123456789-@#|;*vV.:_ABIMimnrue+/='.split(''));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 200 }), (s) => {
        wellFormed(parseEpn(s, { passwords: PASSWORDS, keyCache: cache }), s);
      }),
      budget,
    );
  });

  it('mutated EPNs of every form', () => {
    fc.assert(
      fc.property(mutated, (s) => {
        wellFormed(parseEpn(s, { passwords: PASSWORDS, keyCache: cache }), s);
        wellFormed(parseEpn(s), s);
        wellFormed(parseEpn(s, { passwords: PASSWORDS, keyCache: cache, defaultPassword: '0'.repeat(32), requireDecryption: true }), s);
      }),
      budget,
    );
  });

  it('long and pathological input is bounded', () => {
    const huge = '@#@'.repeat(1_000_000);
    const t0 = performance.now();
    expect(parseEpn(huge)).toMatchObject({ ok: false, reason: 'TOO_LONG' });
    const near = `${'1-'.repeat(511)}1`; // 1023 chars, many separators
    wellFormed(parseEpn(near), near);
    const pipes = '|'.repeat(1024);
    wellFormed(parseEpn(pipes), pipes);
    const seps = '@#@'.repeat(341);
    wellFormed(parseEpn(seps, { passwords: PASSWORDS }), seps);
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it('non-string input from untyped callers is a typed rejection', () => {
    for (const v of [undefined, null, 42, {}, []]) {
      expect(parseEpn(v as unknown as string)).toMatchObject({ ok: false, reason: 'BAD_FORMAT' });
    }
  });
});
