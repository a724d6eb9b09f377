/**
 * Field checks of epn-formats.md ("Field checks"). All functions are total: they
 * return a verdict and never throw.
 */
import type { DropReason } from './types';

/** `****`, `***` and the empty string mean "absent". */
export function isAbsent(value: string): boolean {
  return value === '' || value === '****' || value === '***';
}

const DIGITS_15 = /^[0-9]{15}$/;
const ALNUM_15 = /^[0-9A-Za-z]{15}$/;
const DIGITS_ONLY = /^[0-9]+$/;
const ALNUM = /^[0-9A-Za-z]+$/;
const VERSION = /^[vV]?[0-9]+(?:[._][0-9A-Za-z]+)*$/;
const APPKEY = /^[A-Za-z0-9]{1,64}$/;
const TERMINAL_TYPE = /^[A-Z]$/;
const IMSI = /^[0-9]{6,15}$/;
/** Printable ASCII without whitespace and without the separators of any form. */
const TEXT = /^[!-~]{1,64}$/;

export const MAX_VERSION_LENGTH = 64;

/**
 * Luhn check over a string of digits (the last digit is the check digit).
 * Returns false for anything that is not all digits.
 */
export function luhnValid(digits: string): boolean {
  if (digits.length < 2 || !DIGITS_ONLY.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The Luhn check digit to append to `body` (digits only; returns -1 otherwise). */
export function luhnCheckDigit(body: string): number {
  if (body.length === 0 || !DIGITS_ONLY.test(body)) return -1;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = body.charCodeAt(body.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** IMEI: 15 digits with a valid Luhn check digit. */
export function isValidImei(value: string): boolean {
  return DIGITS_15.test(value) && luhnValid(value);
}

/** CMEI syntax: 15 characters `[0-9A-Za-z]`. */
export function isCmeiSyntax(value: string): boolean {
  return ALNUM_15.test(value);
}

/** IMSI syntax: 6–15 digits. */
export function isValidImsi(value: string): boolean {
  return IMSI.test(value);
}

/** True when the IMSI's MCC is 460 (China). */
export function isChinaImsi(value: string): boolean {
  return isValidImsi(value) && value.startsWith('460');
}

/** China Mobile MNCs (with MCC 460). */
export const CHINA_MOBILE_MNCS: readonly string[] = ['00', '02', '04', '07', '08'];

/** True when the IMSI belongs to China Mobile (MCC 460, MNC 00/02/04/07/08). */
export function isChinaMobileImsi(value: string): boolean {
  return isChinaImsi(value) && CHINA_MOBILE_MNCS.includes(value.slice(3, 5));
}

/** Version: `[vV]?digits(.digits)*` optionally followed by `_`/`.` and alphanumerics. */
export function isValidVersion(value: string): boolean {
  return value.length <= MAX_VERSION_LENGTH && VERSION.test(value);
}

export function isValidAppKey(value: string): boolean {
  return APPKEY.test(value);
}

export function isValidTerminalType(value: string): boolean {
  return TERMINAL_TYPE.test(value);
}

/** Free text (brand, model, SDK/API version, template id): 1–64 printable ASCII. */
export function isValidText(value: string): boolean {
  return TEXT.test(value);
}

/** Position of an identifier slot in an `ID1-ID2-IMSI[-DMv]` string. */
export type IdSlot = 1 | 2;

export type IdVerdict =
  | { kind: 'cmei' | 'imei'; value: string }
  | { kind: 'invalid'; reason: DropReason };

/**
 * Classify the content of an identifier slot (the slot is already known not absent).
 *
 * - letters present → CMEI (an IMEI is all digits);
 * - 15 digits with a valid Luhn digit: ambiguous (a CMEI may carry a Luhn digit),
 *   decided by the slot, then the `11` prefix: slot 1 + `11` → CMEI, else IMEI
 *   (ZTE-style code puts CMEI in slot 1, every vendor puts IMEIs in slot 2);
 * - 15 digits with a wrong Luhn digit: `11` prefix → CMEI (its last digit is not a
 *   Luhn digit by definition), else dropped as a bad IMEI.
 */
export function classifyIdentifier(value: string, slot: IdSlot): IdVerdict {
  if (value.length !== 15) return { kind: 'invalid', reason: 'BAD_LENGTH' };
  if (!ALNUM.test(value)) return { kind: 'invalid', reason: 'BAD_CHARSET' };
  if (!DIGITS_ONLY.test(value)) return { kind: 'cmei', value };
  const cmeiPrefix = value.startsWith('11');
  if (luhnValid(value)) {
    return { kind: slot === 1 && cmeiPrefix ? 'cmei' : 'imei', value };
  }
  return cmeiPrefix ? { kind: 'cmei', value } : { kind: 'invalid', reason: 'BAD_LUHN' };
}

/** Verdict for a position that may only hold an IMEI (Form C, D, URN, bare). */
export function checkImei(value: string): DropReason | undefined {
  if (value.length !== 15) return 'BAD_LENGTH';
  if (!DIGITS_ONLY.test(value)) return 'BAD_CHARSET';
  return luhnValid(value) ? undefined : 'BAD_LUHN';
}
