/**
 * Conformance table built from every example of docs/spec/epn-formats.md. Test
 * names follow the document's sections. Known-answer ciphertexts were produced with
 * the OpenSSL CLI (`openssl enc -aes-256-cbc -K sha256(pw) -iv 0…0 -base64`), not with
 * this code.
 */
import {
  DEFAULT_DEVICE_PASSWORD,
  DerivedKeyCache,
  decodeBase64Strict,
  deriveKey,
  encodeEpn,
  encryptWithKey,
  extractAppKey,
  inspectEpn,
  parseEpn,
  type EpnIdentity,
  type EpnParseResult,
  type EpnRejection,
} from './index';

const DOC_INNER = '866327040830317-****-460041995401123-v2.0';
const DOC_IMEI = '866327040830317';
const DOC_IMSI = '460041995401123';
const DOC_APPKEY = 'M100000058';
const PASSWORD = 'Abc12345';
/** OpenSSL: AES-256-CBC(DOC_INNER), key = SHA-256("Abc12345"), zero IV, PKCS#7. */
const KAT_B64 = 'NnikHz6yCfpa3RzauDe8oXnIXKD4YtFbvDir+/dt7sX0JsowNQO7CQdafpwy2I5E';
/** Same plaintext with the default password (32 × '0'). */
const KAT_B64_DEFAULT_PW = 'NGo65n4Pb6qJ9njWZVfXYxRzCgXayS+PNyB9LPVZ2QRmcQiwuw6zyGMtb83C0I4D';
const CMEI = '110123450A1B2C3'; // 11 + model 012345 + serial 0A1B2C + digit 3
const IMEI2 = '869976030163456';
const PASSWORDS = new Map([[DOC_APPKEY, PASSWORD]]);

function ok(r: EpnParseResult): EpnIdentity {
  if (!r.ok) throw new Error(`expected an identity, got ${r.reason}: ${r.detail}`);
  return r;
}
function rejected(r: EpnParseResult): EpnRejection {
  if (r.ok) throw new Error(`expected a rejection, got EPI ${r.epi}`);
  return r;
}

describe('Form A: China Mobile DM v2.x', () => {
  const fivePart = `I@#@${KAT_B64}@#@${DOC_APPKEY}@#@${DOC_IMEI}@#@v2.0`;
  const threePart = `I@#@${KAT_B64}@#@${DOC_APPKEY}`;

  it('decrypts the document example inner plaintext (OpenSSL known answer), 5 parts', () => {
    const r = ok(parseEpn(fivePart, { passwords: PASSWORDS }));
    expect(r).toMatchObject({
      form: 'A',
      source: 'decrypted',
      epi: DOC_IMEI,
      imei: DOC_IMEI,
      imsi: DOC_IMSI,
      imsiChina: true,
      version: 'v2.0',
      location: `${DOC_IMEI};v2.0`,
      appKey: DOC_APPKEY,
      terminalType: 'I',
      epn: fivePart,
    });
    expect(r.cmei).toBeUndefined();
    expect(r.dropped).toEqual([]);
    expect(r.fields.map((f) => `${f.name}@${f.slot}`)).toEqual([
      'terminalType@T',
      'appKey@AppKey',
      'imei@inner.ID1',
      'imsi@inner.IMSI',
      'version@inner.DMv',
    ]);
  });

  it('3 parts (older clients): decrypts with the password', () => {
    const r = ok(parseEpn(threePart, { passwords: PASSWORDS }));
    expect(r).toMatchObject({ epi: DOC_IMEI, imsi: DOC_IMSI, version: 'v2.0', source: 'decrypted' });
  });

  it.each(['I', 'L', 'A'])('terminal type %s (one upper-case letter)', (t) => {
    const r = ok(parseEpn(`${t}@#@${KAT_B64}@#@${DOC_APPKEY}`, { passwords: PASSWORDS }));
    expect(r.terminalType).toBe(t);
  });

  it('a bad terminal type is dropped, not fatal', () => {
    const r = ok(parseEpn(`i@#@${KAT_B64}@#@${DOC_APPKEY}`, { passwords: PASSWORDS }));
    expect(r.terminalType).toBeUndefined();
    expect(r.dropped).toContainEqual({ slot: 'T', value: 'i', reason: 'BAD_TERMINAL_TYPE' });
  });

  it('AppKey accepts [A-Za-z0-9]{1,64}, otherwise BAD_FORMAT', () => {
    expect(extractAppKey(threePart)).toBe(DOC_APPKEY);
    expect(extractAppKey(`I@#@${KAT_B64}@#@${'k'.repeat(64)}`)).toBe('k'.repeat(64));
    expect(extractAppKey(`I@#@${KAT_B64}@#@${'k'.repeat(65)}`)).toBeUndefined();
    expect(rejected(parseEpn(`I@#@${KAT_B64}@#@M1_0`, { passwords: PASSWORDS })).reason).toBe('BAD_FORMAT');
  });

  it('two-step flow: inspect → fetch password → parse', () => {
    const env = inspectEpn(fivePart);
    expect(env).toEqual({ form: 'A', appKey: DOC_APPKEY, needsPassword: true, parts: 5 });
    const fetched = PASSWORDS.get(env.appKey!)!;
    const r = ok(parseEpn(fivePart, { passwords: (k) => (k === env.appKey ? fetched : undefined) }));
    expect(r.imsi).toBe(DOC_IMSI);
  });

  it('passwords as a plain record (own keys only, no prototype lookups)', () => {
    expect(ok(parseEpn(threePart, { passwords: { [DOC_APPKEY]: PASSWORD } })).epi).toBe(DOC_IMEI);
    const proto = `I@#@${KAT_B64}@#@constructor`;
    expect(rejected(parseEpn(proto, { passwords: {} })).reason).toBe('UNKNOWN_APPKEY');
  });

  it('a throwing lookup counts as an unknown AppKey', () => {
    const r = rejected(
      parseEpn(threePart, {
        passwords: () => {
          throw new Error('redis down');
        },
      }),
    );
    expect(r.reason).toBe('UNKNOWN_APPKEY');
  });

  it('no password configured: the device uses 32 ASCII 0 (OpenSSL known answer)', () => {
    const epn = `L@#@${KAT_B64_DEFAULT_PW}@#@${DOC_APPKEY}`;
    expect(rejected(parseEpn(epn)).reason).toBe('UNKNOWN_APPKEY');
    expect(ok(parseEpn(epn, { defaultPassword: DEFAULT_DEVICE_PASSWORD })).imsi).toBe(DOC_IMSI);
    expect(ok(parseEpn(epn, { passwords: { [DOC_APPKEY]: '0'.repeat(32) } })).imsi).toBe(DOC_IMSI);
  });

  it('PKCS#7 adds a full extra block when the plaintext is a multiple of 16 bytes', () => {
    // 32-byte inner plaintext → 48-byte ciphertext.
    const inner = `${DOC_IMEI}-****-46000123-v2`; // 15+1+4+1+8+1+2 = 32
    expect(inner.length).toBe(32);
    const epn = encodeEpn({ form: 'A', terminalType: 'I', appKey: DOC_APPKEY, password: PASSWORD, parts: 3, id1: DOC_IMEI, imsi: '46000123', version: 'v2' });
    const b64 = epn.split('@#@')[1]!;
    expect(decodeBase64Strict(b64)!.length).toBe(48);
    expect(ok(parseEpn(epn, { passwords: PASSWORDS })).imsi).toBe('46000123');
  });

  it('ZTE-style slots: CMEI in slot 1, IMEI in slot 2 → EPI = CMEI+IMEI', () => {
    const epn = encodeEpn({ form: 'A', terminalType: 'I', appKey: DOC_APPKEY, password: PASSWORD, id1: CMEI, id2: DOC_IMEI, imsi: DOC_IMSI, version: 'v2.0' });
    const r = ok(parseEpn(epn, { passwords: PASSWORDS }));
    expect(r).toMatchObject({ cmei: CMEI, imei: DOC_IMEI, epi: CMEI + DOC_IMEI, location: `${CMEI}${DOC_IMEI};v2.0` });
  });

  it('ZTE-style slots: `****` in slot 1, IMEI in slot 2 → EPI = IMEI', () => {
    const epn = encodeEpn({ form: 'A', terminalType: 'I', appKey: DOC_APPKEY, password: PASSWORD, id2: DOC_IMEI, imsi: DOC_IMSI, version: 'v2.0' });
    expect(ok(parseEpn(epn, { passwords: PASSWORDS })).epi).toBe(DOC_IMEI);
  });

  it('Unisoc/RDA/Fibocom-style slots: IMEI in slot 1, second IMEI in slot 2', () => {
    const epn = encodeEpn({ form: 'A', terminalType: 'I', appKey: DOC_APPKEY, password: PASSWORD, id1: DOC_IMEI, id2: IMEI2, imsi: DOC_IMSI, version: 'v2.0' });
    const r = ok(parseEpn(epn, { passwords: PASSWORDS }));
    expect(r).toMatchObject({ epi: DOC_IMEI, imei: DOC_IMEI, imei2: IMEI2 });
    expect(r.cmei).toBeUndefined();
  });

  it('without the password only the 5-part form yields an identity (ID1, DMv in clear)', () => {
    const r = ok(parseEpn(fivePart));
    expect(r).toMatchObject({ source: 'clear', epi: DOC_IMEI, version: 'v2.0', location: `${DOC_IMEI};v2.0` });
    expect(r.imsi).toBeUndefined();
    expect(r.dropped).toContainEqual({ slot: 'B64', value: KAT_B64, reason: 'UNKNOWN_APPKEY' });
  });

  it('without the password the 3-part form is rejected: EPI not derivable (R-EPI-3)', () => {
    const r = rejected(parseEpn(threePart));
    expect(r).toMatchObject({ reason: 'UNKNOWN_APPKEY', form: 'A', appKey: DOC_APPKEY });
  });

  it('wrong password: 3-part → DECRYPT_FAILED; 5-part falls back to the clear fields', () => {
    const wrong = { passwords: { [DOC_APPKEY]: 'not-the-password' } };
    expect(rejected(parseEpn(threePart, wrong)).reason).toBe('DECRYPT_FAILED');
    const r = ok(parseEpn(fivePart, wrong));
    expect(r.source).toBe('clear');
    expect(r.dropped).toContainEqual({ slot: 'B64', value: KAT_B64, reason: 'DECRYPT_FAILED' });
    expect(rejected(parseEpn(fivePart, { ...wrong, requireDecryption: true })).reason).toBe('DECRYPT_FAILED');
  });

  it('corrupt Base64 / wrong ciphertext length → DECRYPT_FAILED', () => {
    for (const b64 of ['!!!!', 'QUJD', KAT_B64.slice(0, -4), `${KAT_B64}=`]) {
      expect(rejected(parseEpn(`I@#@${b64}@#@${DOC_APPKEY}`, { passwords: PASSWORDS })).reason).toBe('DECRYPT_FAILED');
    }
  });

  it('clear ID1 disagreeing with the decrypted one is dropped as CONFLICT', () => {
    const epn = `I@#@${KAT_B64}@#@${DOC_APPKEY}@#@${IMEI2}@#@v2.0`;
    const r = ok(parseEpn(epn, { passwords: PASSWORDS }));
    expect(r.epi).toBe(DOC_IMEI);
    expect(r.dropped).toContainEqual({ slot: 'clear.ID1', value: IMEI2, reason: 'CONFLICT' });
  });

  describe('requireDecryption: the encrypted part authenticates the name (forgeries rejected)', () => {
    const strict = { passwords: PASSWORDS, requireDecryption: true };
    const five = (b64: string, id1: string, dmv: string) => `I@#@${b64}@#@${DOC_APPKEY}@#@${id1}@#@${dmv}`;

    it('a genuine 5-part name passes and reports the decrypted fields', () => {
      expect(ok(parseEpn(fivePart, strict))).toMatchObject({ source: 'decrypted', epi: DOC_IMEI, imsi: DOC_IMSI, version: 'v2.0' });
    });

    it('clear ID1 differing from the decrypted one → CLEAR_MISMATCH, no identity reported', () => {
      const r = rejected(parseEpn(five(KAT_B64, IMEI2, 'v2.0'), strict));
      expect(r.reason).toBe('CLEAR_MISMATCH');
      expect(r.fields.filter((f) => f.name === 'imei')).toEqual([]);
    });

    it('clear DMv differing from the decrypted version → CLEAR_MISMATCH; an absent side is no mismatch', () => {
      expect(rejected(parseEpn(five(KAT_B64, DOC_IMEI, 'v4.0'), strict)).reason).toBe('CLEAR_MISMATCH');
      expect(ok(parseEpn(five(KAT_B64, DOC_IMEI, '****'), strict)).version).toBe('v2.0');
      expect(ok(parseEpn(five(KAT_B64, '****', 'v2.0'), strict)).epi).toBe(DOC_IMEI);
      // an update name: inner version absent, clear DMv present
      const upd = encodeEpn({ form: 'A', terminalType: 'I', appKey: DOC_APPKEY, password: PASSWORD, parts: 3, id1: DOC_IMEI, imsi: DOC_IMSI, version: null });
      expect(ok(parseEpn(five(upd.split('@#@')[1]!, DOC_IMEI, 'v2.0'), strict)).version).toBe('v2.0');
    });

    it('a Base64 part made with another password, or not Base64 at all → DECRYPT_FAILED', () => {
      const other = encodeEpn({ form: 'A', terminalType: 'I', appKey: DOC_APPKEY, password: 'someone-else', parts: 3, id1: DOC_IMEI, imsi: DOC_IMSI, version: 'v2.0' });
      expect(rejected(parseEpn(five(other.split('@#@')[1]!, DOC_IMEI, 'v2.0'), strict)).reason).toBe('DECRYPT_FAILED');
      expect(rejected(parseEpn(five('QUJDREVGR0hJSktMTU5PUA==', DOC_IMEI, 'v2.0'), strict)).reason).toBe('DECRYPT_FAILED');
    });

    it('the default password is the AppKey password when none is configured', () => {
      const dflt = { defaultPassword: DEFAULT_DEVICE_PASSWORD, requireDecryption: true };
      expect(ok(parseEpn(`L@#@${KAT_B64_DEFAULT_PW}@#@${DOC_APPKEY}@#@${DOC_IMEI}@#@v2.0`, dflt))).toMatchObject({ source: 'decrypted', imsi: DOC_IMSI });
      // made with a real password the platform does not hold: not readable with the default
      expect(rejected(parseEpn(fivePart, dflt)).reason).toBe('DECRYPT_FAILED');
      // a configured password wins over the default
      expect(rejected(parseEpn(`L@#@${KAT_B64_DEFAULT_PW}@#@${DOC_APPKEY}`, { ...dflt, passwords: PASSWORDS })).reason).toBe('DECRYPT_FAILED');
    });

    it('a decrypted text that is not ID1-ID2-IMSI[-DMv] → BAD_INNER_FORMAT (3-part always, 5-part when strict)', () => {
      // the right password, but a plaintext with six '-' fields
      const b64 = encryptWithKey('no-fields-here-at-all-x-y', deriveKey(PASSWORD));
      expect(rejected(parseEpn(`I@#@${b64}@#@${DOC_APPKEY}`, { passwords: PASSWORDS })).reason).toBe('BAD_INNER_FORMAT');
      expect(rejected(parseEpn(five(b64, DOC_IMEI, 'v2.0'), strict)).reason).toBe('BAD_INNER_FORMAT');
      expect(ok(parseEpn(five(b64, DOC_IMEI, 'v2.0'), { passwords: PASSWORDS })).source).toBe('clear');
    });
  });

  it('Registration Update name: inner ID1-ID2-IMSI-**** and ID1-ID2-IMSI', () => {
    for (const version of [null, undefined] as const) {
      const epn = encodeEpn({ form: 'A', terminalType: 'I', appKey: DOC_APPKEY, password: PASSWORD, parts: 3, id1: DOC_IMEI, imsi: DOC_IMSI, version });
      const r = ok(parseEpn(epn, { passwords: PASSWORDS }));
      expect(r).toMatchObject({ epi: DOC_IMEI, imsi: DOC_IMSI, location: DOC_IMEI });
      expect(r.version).toBeUndefined();
    }
  });

  it.each(['v2.0', 'V4.0', 'v4.0', 'V1.2.3_D4.5.6'])('version seen in the field: %s', (v) => {
    const epn = encodeEpn({ form: 'A', terminalType: 'I', appKey: DOC_APPKEY, password: PASSWORD, id1: DOC_IMEI, imsi: DOC_IMSI, version: v });
    const r = ok(parseEpn(epn, { passwords: PASSWORDS }));
    expect(r.version).toBe(v);
    expect(r.location).toBe(`${DOC_IMEI};${v}`);
  });

  it('wrong number of @#@ parts → BAD_FORMAT', () => {
    expect(rejected(parseEpn(`I@#@${KAT_B64}`)).reason).toBe('BAD_FORMAT');
    expect(rejected(parseEpn(`I@#@${KAT_B64}@#@${DOC_APPKEY}@#@${DOC_IMEI}`)).reason).toBe('BAD_FORMAT');
  });

  it('the derived key is cached per AppKey and re-derived when the password changes', () => {
    const cache = new DerivedKeyCache(4);
    parseEpn(threePart, { passwords: PASSWORDS, keyCache: cache });
    parseEpn(threePart, { passwords: PASSWORDS, keyCache: cache });
    expect(cache.stats).toEqual({ hits: 1, misses: 1 });
    expect(rejected(parseEpn(threePart, { passwords: { [DOC_APPKEY]: 'rotated' }, keyCache: cache })).reason).toBe('DECRYPT_FAILED');
    expect(cache.stats.misses).toBe(2);
  });
});

describe('Form B: plain inner string', () => {
  it('the document example in clear (4 fields)', () => {
    const r = ok(parseEpn(DOC_INNER));
    expect(r).toMatchObject({ form: 'B', epi: DOC_IMEI, imsi: DOC_IMSI, version: 'v2.0', location: `${DOC_IMEI};v2.0` });
  });

  it('3 fields (no version)', () => {
    const r = ok(parseEpn(`${CMEI}-${DOC_IMEI}-${DOC_IMSI}`));
    expect(r).toMatchObject({ epi: CMEI + DOC_IMEI, location: CMEI + DOC_IMEI });
  });

  it('2 or 5 fields → BAD_FORMAT', () => {
    expect(rejected(parseEpn(`${DOC_IMEI}-${DOC_IMSI}`)).reason).toBe('BAD_FORMAT');
    expect(rejected(parseEpn(`${DOC_INNER}-x`)).reason).toBe('BAD_FORMAT');
  });

  it('all identifiers absent → NO_VALID_ID', () => {
    const r = rejected(parseEpn(`****-****-${DOC_IMSI}-v2.0`));
    expect(r).toMatchObject({ reason: 'NO_VALID_ID', form: 'B' });
    expect(r.fields.map((f) => f.name)).toEqual(['imsi', 'version']);
  });
});

describe('Form C: OneNET style', () => {
  it('869976030163456;460040427008310: no version, no CMEI', () => {
    const r = ok(parseEpn('869976030163456;460040427008310'));
    expect(r).toMatchObject({ form: 'C', epi: '869976030163456', imei: '869976030163456', imsi: '460040427008310', location: '869976030163456' });
    expect(r.version).toBeUndefined();
    expect(r.cmei).toBeUndefined();
  });

  it('bad Luhn IMEI → NO_VALID_ID with the drop reason', () => {
    const r = rejected(parseEpn('869976030163457;460040427008310'));
    expect(r.reason).toBe('NO_VALID_ID');
    expect(r.dropped).toEqual([{ slot: 'IMEI', value: '869976030163457', reason: 'BAD_LUHN' }]);
  });
});

describe('Form D: DM v4.x', () => {
  const epnD = (type: string) =>
    `CMCC||M1||M100000058||V4.0||1.0||${type}||T0001||${DOC_IMEI}||${IMEI2}||***||***||***`;

  it.each(['A', 'I'])('brand||model||appkey||sdkVer||apiVer||%s||templateId||imei1||imei2||***||***||***', (t) => {
    const r = ok(parseEpn(epnD(t)));
    expect(r).toMatchObject({
      form: 'D',
      epi: DOC_IMEI,
      imei: DOC_IMEI,
      imei2: IMEI2,
      brand: 'CMCC',
      model: 'M1',
      appKey: DOC_APPKEY,
      sdkVersion: 'V4.0',
      apiVersion: '1.0',
      terminalType: t,
      templateId: 'T0001',
      version: 'V4.0',
      location: `${DOC_IMEI};V4.0`,
    });
    expect(r.dropped).toEqual([]);
    expect(inspectEpn(epnD(t))).toEqual({ form: 'D', appKey: DOC_APPKEY, needsPassword: false });
  });

  it('imei2 absent (***)', () => {
    const r = ok(parseEpn(`B||M||K1||V4.0||***||I||***||${DOC_IMEI}||***||***||***||***`));
    expect(r.imei2).toBeUndefined();
    expect(r.epi).toBe(DOC_IMEI);
  });

  it('imei1 invalid → dropped; imei2 still a valid IMEI', () => {
    const r = ok(parseEpn(`B||M||K1||V4.0||1||I||t||123||${IMEI2}||***||***||***`));
    expect(r.epi).toBe(IMEI2);
    expect(r.dropped).toContainEqual({ slot: 'imei1', value: '123', reason: 'BAD_LENGTH' });
  });

  it('too few fields → BAD_FORMAT', () => {
    expect(rejected(parseEpn(`B||M||K1||V4.0`)).reason).toBe('BAD_FORMAT');
  });
});

describe('Also seen', () => {
  it('urn:imei:<15 digits>', () => {
    expect(ok(parseEpn(`urn:imei:${DOC_IMEI}`))).toMatchObject({ form: 'URN_IMEI', epi: DOC_IMEI, location: DOC_IMEI });
  });
  it('a bare 15-digit IMEI', () => {
    expect(ok(parseEpn(DOC_IMEI))).toMatchObject({ form: 'IMEI', epi: DOC_IMEI });
  });
  it('bad Luhn in either → NO_VALID_ID', () => {
    expect(rejected(parseEpn('urn:imei:866327040830318')).reason).toBe('NO_VALID_ID');
    expect(rejected(parseEpn('866327040830318')).reason).toBe('NO_VALID_ID');
  });
});

describe('Field checks', () => {
  it('IMEI: 15 digits with a valid Luhn check digit', () => {
    expect(ok(parseEpn(`****-${DOC_IMEI}-****`)).imei).toBe(DOC_IMEI);
    const r = rejected(parseEpn(`****-866327040830318-****`));
    expect(r.dropped).toEqual([{ slot: 'ID2', value: '866327040830318', reason: 'BAD_LUHN' }]);
  });

  it('CMEI: 15 characters [0-9A-Za-z]', () => {
    expect(ok(parseEpn(`${CMEI}-****-****`)).cmei).toBe(CMEI);
    expect(ok(parseEpn(`abcdefABCDEF123-****-****`)).cmei).toBe('abcdefABCDEF123');
    expect(rejected(parseEpn(`11012345_A1B2C3-****-****`)).dropped[0]!.reason).toBe('BAD_CHARSET');
    expect(rejected(parseEpn(`1101234A1B2C3-****-****`)).dropped[0]!.reason).toBe('BAD_LENGTH');
  });

  it('a CMEI with a Luhn digit looks like an IMEI: slot first, then the 11 prefix', () => {
    const luhnCmei = '110123456789012'; // all digits, 11 prefix, valid Luhn
    expect(ok(parseEpn(luhnCmei)).imei).toBe(luhnCmei); // bare form: IMEI by definition
    expect(ok(parseEpn(`${luhnCmei}-****-****`)).cmei).toBe(luhnCmei); // slot 1 + 11 → CMEI
    expect(ok(parseEpn(`****-${luhnCmei}-****`)).imei).toBe(luhnCmei); // slot 2 → IMEI
    expect(ok(parseEpn(`${DOC_IMEI}-****-****`)).imei).toBe(DOC_IMEI); // slot 1, no 11 → IMEI
    // 11-prefixed digits with a wrong Luhn digit can only be a CMEI.
    expect(ok(parseEpn(`****-110123456789011-****`)).cmei).toBe('110123456789011');
  });

  it('IMSI: 6–15 digits; MCC 460 flagged as China', () => {
    expect(ok(parseEpn(`${DOC_IMEI}-****-460001`)).imsi).toBe('460001');
    expect(ok(parseEpn(`${DOC_IMEI}-****-310260123456789`))).toMatchObject({ imsi: '310260123456789', imsiChina: false });
    for (const bad of ['46000', '4600012345678901', '46000A']) {
      expect(ok(parseEpn(`${DOC_IMEI}-****-${bad}`)).dropped).toEqual([{ slot: 'IMSI', value: bad, reason: 'BAD_IMSI' }]);
    }
  });

  it('Version: [vV]?digits(.digits)* optionally followed by _ or . and alphanumerics', () => {
    for (const v of ['2', 'v2.0', 'V4.0', '1.2.3', 'V1.2.3_D4.5.6', 'v2.0.beta1']) {
      expect(ok(parseEpn(`${DOC_IMEI}-****-****-${v}`)).version).toBe(v);
    }
    for (const v of ['x2.0', 'v', 'v2.', 'v2.0#1', '.2', 'v2.0_']) {
      const r = ok(parseEpn(`${DOC_IMEI}-****-****-${v}`));
      expect(r.version).toBeUndefined();
      expect(r.dropped).toEqual([{ slot: 'DMv', value: v, reason: 'BAD_VERSION' }]);
      expect(r.location).toBe(DOC_IMEI);
    }
  });

  it('****, *** and empty mean absent (not dropped)', () => {
    for (const absent of ['****', '***', '']) {
      const r = ok(parseEpn(`${absent}-${DOC_IMEI}-${absent}-${absent}`));
      expect(r.dropped).toEqual([]);
      expect(r.epi).toBe(DOC_IMEI);
    }
  });

  it('an invalid field is dropped; no valid CMEI or IMEI remaining → rejected', () => {
    const r = rejected(parseEpn(`1234-866327040830318-${DOC_IMSI}-v2.0`));
    expect(r.reason).toBe('NO_VALID_ID');
    expect(r.dropped.map((d) => d.reason)).toEqual(['BAD_LENGTH', 'BAD_LUHN']);
    expect(r.fields.map((f) => f.name)).toEqual(['imsi', 'version']);
  });

  it('the whole EPN: 1–1024 printable ASCII characters, no whitespace; kept verbatim', () => {
    expect(rejected(parseEpn('')).reason).toBe('EMPTY');
    expect(rejected(parseEpn(`${DOC_IMEI} `)).reason).toBe('BAD_CHARSET');
    expect(rejected(parseEpn(`${DOC_IMEI}\u00e9`)).reason).toBe('BAD_CHARSET');
    const long = `${DOC_IMEI}-****-****-v${'1'.repeat(1024)}`;
    const r = rejected(parseEpn(long));
    expect(r.reason).toBe('TOO_LONG');
    expect(r.epnPreview.length).toBe(128);
    const max = `${DOC_IMEI}-****-****-${'*'.repeat(1024 - 26)}`;
    expect(max.length).toBe(1024);
    expect(ok(parseEpn(max)).epn).toBe(max);
  });
});

describe('EPI and Location', () => {
  it('EPI = CMEI + IMEI when both exist, else CMEI, else IMEI; Location = EPI;version', () => {
    expect(ok(parseEpn(`${CMEI}-${DOC_IMEI}-****-v2.0`))).toMatchObject({ epi: CMEI + DOC_IMEI, location: `${CMEI}${DOC_IMEI};v2.0` });
    expect(ok(parseEpn(`${CMEI}-****-****-v2.0`))).toMatchObject({ epi: CMEI, location: `${CMEI};v2.0` });
    expect(ok(parseEpn(`****-${DOC_IMEI}-****-v2.0`))).toMatchObject({ epi: DOC_IMEI, location: `${DOC_IMEI};v2.0` });
    expect(ok(parseEpn(`****-${DOC_IMEI}-****`)).location).toBe(DOC_IMEI);
  });
});
