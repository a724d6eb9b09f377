import { DEFAULT_DEVICE_PASSWORD, encodeEpn, type EpnParseResult } from '@dmp/identity';
import { type AppKeySettingsSource, EpnResolver, isForged } from './epn-resolver';

const IMEI = '866327040830317';
const IMEI_OTHER = '869976030163456';
const IMSI = '460041995401123';

class Settings implements AppKeySettingsSource {
  readonly map = new Map<string, { password?: string; clearFallback?: boolean }>();
  calls = 0;
  async appKeySettings(appKey: string) {
    this.calls++;
    return this.map.get(appKey) ?? {};
  }
}

const formA = (appKey: string, password: string, parts: 3 | 5 = 5, version: string | null = 'v2.0') =>
  encodeEpn({ form: 'A', terminalType: 'I', appKey, password, parts, id1: IMEI, imsi: IMSI, version });

/** The 5-part name with its clear ID1 replaced (a forgery of another device's identity). */
const withClearId1 = (epn: string, id1: string) => {
  const p = epn.split('@#@');
  p[3] = id1;
  return p.join('@#@');
};

function epi(r: EpnParseResult): string {
  if (!r.ok) throw new Error(`rejected: ${r.reason}`);
  return r.epi;
}
function reason(r: EpnParseResult): string {
  if (r.ok) throw new Error(`accepted as ${r.epi}`);
  return r.reason;
}

describe('EpnResolver: Form A passwords, the default password and forged names', () => {
  it('no password configured: decrypts with the default 32 × 0, 5- and 3-part (IMEI and IMSI recovered)', async () => {
    const r = new EpnResolver(new Settings(), { clearFallbackDefault: false });
    for (const parts of [3, 5] as const) {
      const res = await r.resolve(formA('M100000001', DEFAULT_DEVICE_PASSWORD, parts));
      expect(res).toMatchObject({ ok: true, source: 'decrypted', epi: IMEI, imsi: IMSI, location: `${IMEI};v2.0` });
    }
  });

  it('a configured password is used (and the default then fails)', async () => {
    const s = new Settings();
    s.map.set('M100000002', { password: 'Secret-1' });
    const r = new EpnResolver(s, { clearFallbackDefault: false });
    expect(epi(await r.resolve(formA('M100000002', 'Secret-1')))).toBe(IMEI);
    const viaDefault = await r.resolve(formA('M100000002', DEFAULT_DEVICE_PASSWORD));
    expect(reason(viaDefault)).toBe('DECRYPT_FAILED');
    expect(!viaDefault.ok && isForged(viaDefault)).toBe(true);
  });

  it('forged 5-part names are rejected: another password, or a clear ID1 that differs', async () => {
    const r = new EpnResolver(new Settings(), { clearFallbackDefault: false });
    expect(reason(await r.resolve(formA('M100000003', 'not-the-default')))).toBe('DECRYPT_FAILED');
    const mismatch = await r.resolve(withClearId1(formA('M100000003', DEFAULT_DEVICE_PASSWORD), IMEI_OTHER));
    expect(reason(mismatch)).toBe('CLEAR_MISMATCH');
    expect(!mismatch.ok && isForged(mismatch)).toBe(true);
  });

  it('clear-field fallback: per AppKey on (over a gateway default off) and off (over a default on)', async () => {
    const s = new Settings();
    s.map.set('M100000004', { clearFallback: true });
    s.map.set('M100000005', { clearFallback: false });
    const off = new EpnResolver(s, { clearFallbackDefault: false });
    const on = new EpnResolver(s, { clearFallbackDefault: true });
    const foreign = (k: string) => formA(k, 'a-password-we-do-not-hold');
    expect(await off.resolve(foreign('M100000004'))).toMatchObject({ ok: true, source: 'clear', epi: IMEI });
    expect(reason(await on.resolve(foreign('M100000005')))).toBe('DECRYPT_FAILED');
    expect(await on.resolve(foreign('M100000006'))).toMatchObject({ ok: true, source: 'clear' });
    // the 3-part form has no clear identity: rejected even with the fallback
    expect(reason(await off.resolve(formA('M100000004', 'a-password-we-do-not-hold', 3)))).toBe('DECRYPT_FAILED');
  });

  it('other forms need no settings lookup; non-Form-A rejections are not forgeries', async () => {
    const s = new Settings();
    const r = new EpnResolver(s, { clearFallbackDefault: false });
    expect(epi(await r.resolve(`urn:imei:${IMEI}`))).toBe(IMEI);
    const bad = await r.resolve('not-a-device');
    expect(!bad.ok && isForged(bad)).toBe(false);
    expect(s.calls).toBe(0);
  });

  it('caches an AppKey’s settings for cacheMs, then reads them again', async () => {
    const s = new Settings();
    let t = 0;
    const r = new EpnResolver(s, { clearFallbackDefault: false, cacheMs: 1000, now: () => t });
    await r.resolve(formA('M100000007', DEFAULT_DEVICE_PASSWORD));
    await r.resolve(formA('M100000007', DEFAULT_DEVICE_PASSWORD));
    expect(s.calls).toBe(1);
    s.map.set('M100000007', { password: 'rotated' });
    t = 1500;
    expect(reason(await r.resolve(formA('M100000007', DEFAULT_DEVICE_PASSWORD)))).toBe('DECRYPT_FAILED');
    expect(s.calls).toBe(2);
  });
});
