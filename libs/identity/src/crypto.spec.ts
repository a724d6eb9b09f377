import { DerivedKeyCache, decodeBase64Strict, decryptDmValue, decryptWithKey, deriveKey, encryptDmValue } from './crypto';

describe('DM value encryption (AES-256-CBC, SHA-256(password), zero IV)', () => {
  it('key = SHA-256(password) (OpenSSL known answer)', () => {
    expect(deriveKey('Abc12345').toString('hex')).toBe('f8aa14da2301e201e817f5b8667a36bb40c8ca49da69b3470a74d0f4ec194961');
  });

  it('object 666 style values round-trip, any UTF-8 text', () => {
    const v = '型号 X1 (rev 2)';
    const enc = encryptDmValue(v, 'pw');
    expect(decryptDmValue(enc, 'pw')).toEqual({ ok: true, plaintext: v });
    expect(decryptWithKey(enc, deriveKey('pw'))).toMatchObject({ ok: false, reason: 'NOT_TEXT' });
  });

  it('decrypt failures are typed, never thrown', () => {
    expect(decryptDmValue('', 'pw')).toEqual({ ok: false, reason: 'BAD_BASE64' });
    expect(decryptDmValue('a', 'pw')).toEqual({ ok: false, reason: 'BAD_BASE64' });
    expect(decryptDmValue('QUJD', 'pw')).toEqual({ ok: false, reason: 'BAD_LENGTH' });
    expect(decryptDmValue(Buffer.alloc(2048).toString('base64'), 'pw')).toEqual({ ok: false, reason: 'BAD_LENGTH' });
    const r = decryptDmValue(encryptDmValue('hello', 'pw'), 'other');
    expect(r.ok).toBe(false);
  });

  it('Base64 is strict: standard alphabet, optional but correct padding', () => {
    expect(decodeBase64Strict('QUJD')?.toString()).toBe('ABC');
    expect(decodeBase64Strict('QUI=')?.toString()).toBe('AB');
    expect(decodeBase64Strict('QUI')?.toString()).toBe('AB');
    expect(decodeBase64Strict('QU==')?.toString()).toBe('A');
    for (const bad of ['QU=I', 'Q===', 'QUJD=', '-_-_', 'QU JD']) expect(decodeBase64Strict(bad)).toBeUndefined();
  });

  it('DerivedKeyCache is a bounded LRU keyed by AppKey', () => {
    const c = new DerivedKeyCache(2);
    c.get('a', 'pa');
    c.get('b', 'pb');
    c.get('a', 'pa'); // a most recent
    c.get('c', 'pc'); // evicts b
    expect(c.size).toBe(2);
    c.get('a', 'pa');
    c.get('b', 'pb');
    expect(c.stats).toEqual({ hits: 2, misses: 4 });
    expect(c.get('a', 'pa2').equals(deriveKey('pa2'))).toBe(true);
  });
});
