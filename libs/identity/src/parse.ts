/**
 * EPN → EPI (spec §6.4, R-EPI-1..3, R-REG-3). Recognises the wire forms of
 * epn-formats.md (A–D, `urn:imei:`, bare IMEI). Total: never throws, bounded work.
 */
import {
  checkImei,
  classifyIdentifier,
  isAbsent,
  isChinaImsi,
  isValidAppKey,
  isValidImsi,
  isValidTerminalType,
  isValidText,
  isValidVersion,
  type IdSlot,
} from './checks';
import { type DerivedKeyCache, decryptWithKey, deriveKey } from './crypto';
import type {
  DropReason,
  DroppedField,
  EpnField,
  EpnFieldName,
  EpnForm,
  EpnIdentity,
  EpnParseResult,
  EpnRejectReason,
  EpnRejection,
  PasswordLookup,
} from './types';

/** Default cap on the EPN length (epn-formats.md: 1–1024 printable ASCII). */
export const MAX_EPN_LENGTH = 1024;
/** Hard ceiling for `maxLength`, whatever the caller asks. */
const HARD_MAX_EPN_LENGTH = 8192;

export const FORM_A_SEPARATOR = '@#@';
export const FORM_D_SEPARATOR = '||';
const URN_IMEI_PREFIX = 'urn:imei:';
const PRINTABLE_NO_SPACE = /^[!-~]+$/;
const DIGITS_15 = /^[0-9]{15}$/;
const FORM_D_MIN_FIELDS = 8;
const FORM_D_MAX_FIELDS = 16;

export interface ParseEpnOptions {
  /** AppKey → password (Form A). A map, a record, or a sync function. */
  passwords?: PasswordLookup;
  /** Derived-key cache shared across calls (strongly advised on the hot path). */
  keyCache?: DerivedKeyCache;
  /** Password to try when the lookup knows nothing of the AppKey (e.g. 32 × `0`). */
  defaultPassword?: string;
  /**
   * Form A: the encrypted part is the only authority. The name is rejected unless it
   * decrypts (`UNKNOWN_APPKEY`, `DECRYPT_FAILED`) to a well-formed inner string
   * (`BAD_INNER_FORMAT`) whose ID1 and version agree with the clear ID1/DMv of the
   * 5-part form (`CLEAR_MISMATCH`): a name that fails any of these was not made with
   * the AppKey's password, i.e. it is forged. Default false: the 5-part form then falls
   * back to its clear fields, and a disagreeing clear field is only dropped (`CONFLICT`).
   */
  requireDecryption?: boolean;
  /** Length cap (default 1024, at most 8192). */
  maxLength?: number;
}

/** What can be learnt from an EPN without any secret: the form and the AppKey. */
export interface EpnEnvelope {
  form?: EpnForm;
  /** Form A / D AppKey (only when syntactically valid). */
  appKey?: string;
  /** True for Form A: decryption needs the AppKey's password. */
  needsPassword: boolean;
  /** Form A: 3 or 5 parts. */
  parts?: 3 | 5;
}

function detectForm(epn: string): EpnForm | undefined {
  if (epn.includes(FORM_A_SEPARATOR)) return 'A';
  if (epn.includes(FORM_D_SEPARATOR)) return 'D';
  if (epn.length > URN_IMEI_PREFIX.length && epn.slice(0, URN_IMEI_PREFIX.length).toLowerCase() === URN_IMEI_PREFIX) {
    return 'URN_IMEI';
  }
  if (epn.includes(';')) return 'C';
  if (DIGITS_15.test(epn)) return 'IMEI';
  if (epn.includes('-')) return 'B';
  return undefined;
}

function envelopeOk(epn: unknown, maxLength: number): epn is string {
  return typeof epn === 'string' && epn.length > 0 && epn.length <= maxLength && PRINTABLE_NO_SPACE.test(epn);
}

/**
 * Step 1 of the two-step flow: find the form and the AppKey without any secret, so
 * the caller can fetch the password (e.g. from Redis) before calling `parseEpn`.
 */
export function inspectEpn(epn: string, maxLength = MAX_EPN_LENGTH): EpnEnvelope {
  if (!envelopeOk(epn, clampMax(maxLength))) return { needsPassword: false };
  const form = detectForm(epn);
  if (form === 'A') {
    const parts = epn.split(FORM_A_SEPARATOR);
    const appKey = parts[2];
    const n = parts.length === 3 || parts.length === 5 ? (parts.length as 3 | 5) : undefined;
    if (n === undefined || appKey === undefined || !isValidAppKey(appKey)) return { form, needsPassword: false };
    return { form, appKey, needsPassword: true, parts: n };
  }
  if (form === 'D') {
    const appKey = epn.split(FORM_D_SEPARATOR, 4)[2];
    return appKey !== undefined && isValidAppKey(appKey)
      ? { form, appKey, needsPassword: false }
      : { form, needsPassword: false };
  }
  return form ? { form, needsPassword: false } : { needsPassword: false };
}

/** The Form A AppKey of an EPN, if any (shortcut for `inspectEpn(epn).appKey` on Form A). */
export function extractAppKey(epn: string): string | undefined {
  const env = inspectEpn(epn);
  return env.form === 'A' ? env.appKey : undefined;
}

function clampMax(maxLength: number): number {
  if (!Number.isFinite(maxLength) || maxLength < 1) return MAX_EPN_LENGTH;
  return Math.min(Math.floor(maxLength), HARD_MAX_EPN_LENGTH);
}

function truncate(value: string, n: number): string {
  return value.length > n ? value.slice(0, n) : value;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Resolve a password; a throwing lookup function counts as "unknown". */
export function lookupPassword(lookup: PasswordLookup | undefined, appKey: string): string | undefined {
  if (lookup === undefined) return undefined;
  try {
    if (typeof lookup === 'function') {
      const pw = lookup(appKey);
      return typeof pw === 'string' ? pw : undefined;
    }
    if (lookup instanceof Map) {
      const pw: unknown = lookup.get(appKey);
      return typeof pw === 'string' ? pw : undefined;
    }
    const record = lookup as Readonly<Record<string, string>>;
    if (!hasOwn.call(record, appKey)) return undefined;
    const pw: unknown = record[appKey];
    return typeof pw === 'string' ? pw : undefined;
  } catch {
    return undefined;
  }
}

/** Accumulates accepted and dropped fields while a form is read. */
class Collector {
  readonly fields: EpnField[] = [];
  readonly dropped: DroppedField[] = [];
  cmei?: string;
  imei?: string;
  imei2?: string;
  imsi?: string;
  version?: string;
  appKey?: string;
  terminalType?: string;
  brand?: string;
  model?: string;
  sdkVersion?: string;
  apiVersion?: string;
  templateId?: string;

  accept(name: EpnFieldName, value: string, slot: string): void {
    this.fields.push({ name, value, slot });
  }

  drop(slot: string, value: string, reason: DropReason): void {
    this.dropped.push({ slot, value: truncate(value, 64), reason });
  }

  private takeImei(value: string, slot: string): void {
    if (this.imei === undefined) {
      this.imei = value;
      this.accept('imei', value, slot);
    } else if (this.imei2 === undefined && value !== this.imei) {
      this.imei2 = value;
      this.accept('imei2', value, slot);
    } else {
      this.drop(slot, value, 'DUPLICATE');
    }
  }

  /** An `ID1`/`ID2` slot: CMEI or IMEI by content (see `classifyIdentifier`). */
  identifier(value: string, position: IdSlot, slot: string): void {
    if (isAbsent(value)) return;
    const verdict = classifyIdentifier(value, position);
    if (verdict.kind === 'invalid') {
      this.drop(slot, value, verdict.reason);
    } else if (verdict.kind === 'cmei') {
      if (this.cmei === undefined) {
        this.cmei = value;
        this.accept('cmei', value, slot);
      } else {
        this.drop(slot, value, 'DUPLICATE');
      }
    } else {
      this.takeImei(value, slot);
    }
  }

  /** A position that only holds an IMEI. */
  imeiOnly(value: string, slot: string): void {
    if (isAbsent(value)) return;
    const bad = checkImei(value);
    if (bad) this.drop(slot, value, bad);
    else this.takeImei(value, slot);
  }

  imsiField(value: string, slot: string): void {
    if (isAbsent(value)) return;
    if (!isValidImsi(value)) {
      this.drop(slot, value, 'BAD_IMSI');
    } else {
      this.imsi = value;
      this.accept('imsi', value, slot);
    }
  }

  versionField(value: string, slot: string): void {
    if (isAbsent(value)) return;
    if (!isValidVersion(value)) {
      this.drop(slot, value, 'BAD_VERSION');
    } else {
      this.version = value;
      this.accept('version', value, slot);
    }
  }

  text(name: 'brand' | 'model' | 'sdkVersion' | 'apiVersion' | 'templateId', value: string, slot: string): void {
    if (isAbsent(value)) return;
    if (!isValidText(value)) {
      this.drop(slot, value, 'BAD_TEXT');
    } else {
      this[name] = value;
      this.accept(name, value, slot);
    }
  }

  terminal(value: string, slot: string): void {
    if (isAbsent(value)) return;
    if (!isValidTerminalType(value)) {
      this.drop(slot, value, 'BAD_TERMINAL_TYPE');
    } else {
      this.terminalType = value;
      this.accept('terminalType', value, slot);
    }
  }

  appKeyField(value: string, slot: string): boolean {
    if (isAbsent(value)) return false;
    if (!isValidAppKey(value)) {
      this.drop(slot, value, 'BAD_APPKEY');
      return false;
    }
    this.appKey = value;
    this.accept('appKey', value, slot);
    return true;
  }

  /** An `ID1-ID2-IMSI[-DMv]` string (Form B, Form A inner). */
  inner(parts: readonly string[], prefix: string): void {
    this.identifier(parts[0] ?? '', 1, `${prefix}ID1`);
    this.identifier(parts[1] ?? '', 2, `${prefix}ID2`);
    this.imsiField(parts[2] ?? '', `${prefix}IMSI`);
    if (parts.length > 3) this.versionField(parts[3] ?? '', `${prefix}DMv`);
  }

  reject(reason: EpnRejectReason, detail: string, epn: string, form?: EpnForm): EpnRejection {
    const r: EpnRejection = {
      ok: false,
      reason,
      detail,
      epnPreview: truncate(epn, 128),
      fields: this.fields,
      dropped: this.dropped,
    };
    if (form !== undefined) r.form = form;
    if (this.appKey !== undefined) r.appKey = this.appKey;
    return r;
  }

  finish(epn: string, form: EpnForm, source?: 'decrypted' | 'clear'): EpnParseResult {
    const { cmei, imei } = this;
    const epi = cmei !== undefined && imei !== undefined ? cmei + imei : (cmei ?? imei);
    if (epi === undefined) {
      return this.reject('NO_VALID_ID', 'no valid CMEI or IMEI in the EPN', epn, form);
    }
    const id: EpnIdentity = {
      ok: true,
      form,
      epn,
      epi,
      location: this.version !== undefined ? `${epi};${this.version}` : epi,
      fields: this.fields,
      dropped: this.dropped,
    };
    if (source !== undefined) id.source = source;
    if (this.version !== undefined) id.version = this.version;
    if (cmei !== undefined) id.cmei = cmei;
    if (imei !== undefined) id.imei = imei;
    if (this.imei2 !== undefined) id.imei2 = this.imei2;
    if (this.imsi !== undefined) {
      id.imsi = this.imsi;
      id.imsiChina = isChinaImsi(this.imsi);
    }
    if (this.appKey !== undefined) id.appKey = this.appKey;
    if (this.terminalType !== undefined) id.terminalType = this.terminalType;
    if (this.brand !== undefined) id.brand = this.brand;
    if (this.model !== undefined) id.model = this.model;
    if (this.sdkVersion !== undefined) id.sdkVersion = this.sdkVersion;
    if (this.apiVersion !== undefined) id.apiVersion = this.apiVersion;
    if (this.templateId !== undefined) id.templateId = this.templateId;
    return id;
  }
}

function splitInner(plain: string): string[] | undefined {
  const parts = plain.split('-', 5);
  return parts.length === 3 || parts.length === 4 ? parts : undefined;
}

function parseFormA(epn: string, c: Collector, options: ParseEpnOptions): EpnParseResult {
  const parts = epn.split(FORM_A_SEPARATOR, 6);
  if (parts.length !== 3 && parts.length !== 5) {
    return c.reject('BAD_FORMAT', `Form A needs 3 or 5 '@#@' parts, got ${parts.length}`, epn, 'A');
  }
  const [t = '', b64 = '', appKey = '', id1 = '', dmv = ''] = parts;
  const fivePart = parts.length === 5;
  c.terminal(t, 'T');
  if (!c.appKeyField(appKey, 'AppKey')) {
    return c.reject('BAD_FORMAT', 'Form A AppKey missing or not [A-Za-z0-9]{1,64}', epn, 'A');
  }
  const strict = options.requireDecryption === true || !fivePart;

  const useClear = (): EpnParseResult => {
    c.identifier(id1, 1, 'clear.ID1');
    c.versionField(dmv, 'clear.DMv');
    return c.finish(epn, 'A', 'clear');
  };

  const password = lookupPassword(options.passwords, appKey) ?? options.defaultPassword;
  if (password === undefined) {
    if (strict) return c.reject('UNKNOWN_APPKEY', `no password for AppKey ${appKey}: EPI not derivable`, epn, 'A');
    c.drop('B64', b64, 'UNKNOWN_APPKEY');
    return useClear();
  }
  const key = options.keyCache ? options.keyCache.get(appKey, password) : deriveKey(password);
  const dec = decryptWithKey(b64, key);
  if (!dec.ok) {
    if (strict) return c.reject('DECRYPT_FAILED', `encrypted part did not decrypt (${dec.reason})`, epn, 'A');
    c.drop('B64', b64, 'DECRYPT_FAILED');
    return useClear();
  }
  const inner = splitInner(dec.plaintext);
  if (!inner) {
    if (strict) return c.reject('BAD_INNER_FORMAT', 'decrypted part is not ID1-ID2-IMSI[-DMv]', epn, 'A');
    c.drop('B64', b64, 'BAD_INNER_FORMAT');
    return useClear();
  }
  if (fivePart && options.requireDecryption === true) {
    // checked before any field is taken: a forged name reports no identity at all
    const innerId1 = inner[0] ?? '';
    const innerVersion = inner[3] ?? '';
    if (!isAbsent(id1) && id1 !== innerId1) return c.reject('CLEAR_MISMATCH', 'clear ID1 differs from the encrypted one', epn, 'A');
    if (!isAbsent(dmv) && !isAbsent(innerVersion) && dmv !== innerVersion) {
      return c.reject('CLEAR_MISMATCH', 'clear DMv differs from the encrypted one', epn, 'A');
    }
  }
  c.inner(inner, 'inner.');
  if (fivePart) {
    const innerId1 = inner[0] ?? '';
    if (!isAbsent(id1) && id1 !== innerId1) c.drop('clear.ID1', id1, 'CONFLICT');
    if (!isAbsent(dmv)) {
      if (c.version === undefined) c.versionField(dmv, 'clear.DMv');
      else if (dmv !== c.version) c.drop('clear.DMv', dmv, 'CONFLICT');
    }
  }
  return c.finish(epn, 'A', 'decrypted');
}

function parseFormB(epn: string, c: Collector): EpnParseResult {
  const parts = splitInner(epn);
  if (!parts) return c.reject('BAD_FORMAT', "Form B needs 3 or 4 '-' fields", epn, 'B');
  c.inner(parts, '');
  return c.finish(epn, 'B');
}

function parseFormC(epn: string, c: Collector): EpnParseResult {
  const parts = epn.split(';', 3);
  if (parts.length !== 2) return c.reject('BAD_FORMAT', "Form C is 'IMEI;IMSI'", epn, 'C');
  c.imeiOnly(parts[0] ?? '', 'IMEI');
  c.imsiField(parts[1] ?? '', 'IMSI');
  return c.finish(epn, 'C');
}

function parseFormD(epn: string, c: Collector): EpnParseResult {
  const parts = epn.split(FORM_D_SEPARATOR, FORM_D_MAX_FIELDS + 1);
  if (parts.length < FORM_D_MIN_FIELDS || parts.length > FORM_D_MAX_FIELDS) {
    return c.reject(
      'BAD_FORMAT',
      `Form D needs ${FORM_D_MIN_FIELDS}-${FORM_D_MAX_FIELDS} '||' fields, got ${parts.length}`,
      epn,
      'D',
    );
  }
  const at = (i: number): string => parts[i] ?? '';
  c.text('brand', at(0), 'brand');
  c.text('model', at(1), 'model');
  c.appKeyField(at(2), 'appkey');
  c.text('sdkVersion', at(3), 'sdkVer');
  if (c.sdkVersion !== undefined && isValidVersion(c.sdkVersion)) {
    c.version = c.sdkVersion;
    c.accept('version', c.sdkVersion, 'sdkVer');
  }
  c.text('apiVersion', at(4), 'apiVer');
  c.terminal(at(5), 'type');
  c.text('templateId', at(6), 'templateId');
  c.imeiOnly(at(7), 'imei1');
  c.imeiOnly(at(8), 'imei2');
  for (let i = 9; i < parts.length; i++) {
    if (!isAbsent(at(i))) c.drop(`field${i + 1}`, at(i), 'RESERVED');
  }
  return c.finish(epn, 'D');
}

/**
 * Parse an Endpoint Name into an EPI (or a typed rejection). Never throws.
 *
 * Form A needs the AppKey's password to read the encrypted part: give `passwords`
 * (map/record/function) — typically after `inspectEpn` told you the AppKey — and a
 * shared `keyCache`.
 */
export function parseEpn(epn: string, options: ParseEpnOptions = {}): EpnParseResult {
  const c = new Collector();
  if (typeof epn !== 'string') return c.reject('BAD_FORMAT', 'EPN is not a string', '');
  if (epn.length === 0) return c.reject('EMPTY', 'empty EPN', epn);
  const max = clampMax(options.maxLength ?? MAX_EPN_LENGTH);
  if (epn.length > max) return c.reject('TOO_LONG', `EPN longer than ${max} characters`, epn);
  if (!PRINTABLE_NO_SPACE.test(epn)) {
    return c.reject('BAD_CHARSET', 'EPN must be printable ASCII without whitespace', epn);
  }
  try {
    switch (detectForm(epn)) {
      case 'A':
        return parseFormA(epn, c, options);
      case 'B':
        return parseFormB(epn, c);
      case 'C':
        return parseFormC(epn, c);
      case 'D':
        return parseFormD(epn, c);
      case 'URN_IMEI':
        c.imeiOnly(epn.slice(URN_IMEI_PREFIX.length), 'urn:imei');
        return c.finish(epn, 'URN_IMEI');
      case 'IMEI':
        c.imeiOnly(epn, 'IMEI');
        return c.finish(epn, 'IMEI');
      default:
        return c.reject('BAD_FORMAT', 'EPN matches none of the known forms', epn);
    }
  } catch (err) {
    // Defensive: nothing above is expected to throw (a caller's lookup function is
    // already guarded). Report instead of propagating.
    return c.reject('BAD_FORMAT', `internal parse error: ${err instanceof Error ? err.message : String(err)}`, epn);
  }
}

/** The registration Location (`EPI;version`, or `EPI`) — R-REG-3. */
export function locationOf(epi: string, version?: string): string {
  return version !== undefined && version !== '' ? `${epi};${version}` : epi;
}
