import { randomBytes } from 'node:crypto';
import { DecryptError, FieldCipher, parseKeys } from './crypto';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const hk = randomBytes(32);

describe('FieldCipher (AES-256-GCM + HMAC-SHA-256)', () => {
  it('round-trips, with a fresh IV each time', () => {
    const c = new FieldCipher({ k1 }, 'k1', hk);
    const a = c.encrypt('490154203237518', 'epi');
    const b = c.encrypt('490154203237518', 'epi');
    expect(a.keyId).toBe('k1');
    expect(a.blob.equals(b.blob)).toBe(false);
    expect(a.blob.length).toBe(12 + 15 + 16);
    expect(c.decrypt('k1', a.blob, 'epi').toString()).toBe('490154203237518');
    expect(c.decrypt('k1', c.encrypt(Buffer.alloc(0), 'raw:x').blob, 'raw:x').length).toBe(0);
  });

  it('rejects an unknown key id', () => {
    const c = new FieldCipher({ k1 }, 'k1', hk);
    const s = c.encrypt('x', 'epi');
    expect(() => c.decrypt('k9', s.blob, 'epi')).toThrow(DecryptError);
    expect(() => c.decrypt('k9', s.blob, 'epi')).toThrow(/unknown key id k9/);
  });

  it('rejects the wrong key under a known id', () => {
    const a = new FieldCipher({ k1 }, 'k1', hk);
    const b = new FieldCipher({ k1: k2 }, 'k1', hk);
    expect(() => b.decrypt('k1', a.encrypt('secret', 'epi').blob, 'epi')).toThrow(/authentication failed/);
  });

  it('detects tampering with the ciphertext, the tag, the IV or the context (AAD)', () => {
    const c = new FieldCipher({ k1 }, 'k1', hk);
    const s = c.encrypt('10.1.2.3', 'value:/4/0/4');
    for (const i of [0, 12, s.blob.length - 1]) {
      const t = Buffer.from(s.blob);
      t[i]! ^= 1;
      expect(() => c.decrypt('k1', t, 'value:/4/0/4')).toThrow(DecryptError);
    }
    expect(() => c.decrypt('k1', s.blob, 'value:/4/0/5')).toThrow(DecryptError);
    expect(() => c.decrypt('k1', s.blob.subarray(0, 20), 'value:/4/0/4')).toThrow(/too short/);
  });

  it('rotates: new rows use the new active key, old rows decrypt with their own key id', () => {
    const before = new FieldCipher({ k1 }, 'k1', hk);
    const old = before.encrypt('old', 'epi');
    const after = new FieldCipher({ k1, k2 }, 'k2', hk);
    const fresh = after.encrypt('new', 'epi');
    expect(fresh.keyId).toBe('k2');
    expect(after.decrypt(old.keyId, old.blob, 'epi').toString()).toBe('old');
    expect(after.decrypt(fresh.keyId, fresh.blob, 'epi').toString()).toBe('new');
    expect(() => before.decrypt(fresh.keyId, fresh.blob, 'epi')).toThrow(/unknown key id k2/);
    // the keyed hash does not depend on the encryption keys: lookups survive rotation
    expect(after.hash('epi', 'a').equals(before.hash('epi', 'a'))).toBe(true);
  });

  it('hashes deterministically per key and domain', () => {
    const c = new FieldCipher({ k1 }, 'k1', hk);
    expect(c.hash('epi', 'a').equals(c.hash('epi', 'a'))).toBe(true);
    expect(c.hash('epi', 'a').equals(c.hash('value', 'a'))).toBe(false);
    expect(c.hash('epi', 'a').equals(new FieldCipher({ k1 }, 'k1', randomBytes(32)).hash('epi', 'a'))).toBe(false);
    expect(c.hash('epi', 'a')).toHaveLength(32);
  });

  it('refuses bad key material', () => {
    expect(() => new FieldCipher({ k1: randomBytes(16) }, 'k1', hk)).toThrow(/32 bytes/);
    expect(() => new FieldCipher({ k1 }, 'k2', hk)).toThrow(/active key k2/);
    expect(() => new FieldCipher({ k1 }, 'k1', randomBytes(8))).toThrow(/hash key/);
    expect(() => new FieldCipher({ k1 }, 'k1', k1)).toThrow(/differ/);
  });
});

describe('parseKeys (STORAGE_KEYS)', () => {
  it('parses ids and base64 keys', () => {
    const m = parseKeys(JSON.stringify({ k1: k1.toString('base64'), 'k-2': k2.toString('base64') }));
    expect([...m.keys()]).toEqual(['k1', 'k-2']);
    expect(m.get('k1')!.equals(k1)).toBe(true);
  });
  it.each([
    ['not json', /JSON object/],
    ['[]', /JSON object/],
    ['{}', /at least one key/],
    [JSON.stringify({ k1: randomBytes(16).toString('base64') }), /32 bytes/],
    [JSON.stringify({ 'bad id!': k1.toString('base64') }), /key id/],
    [JSON.stringify({ k1: 5 }), /base64 string/],
  ])('rejects %s', (json, re) => expect(() => parseKeys(json)).toThrow(re));
});
