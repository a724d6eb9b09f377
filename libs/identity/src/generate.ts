/**
 * Identity generators for tests and the simulator. Not cryptographically random;
 * pass a seeded `random` for reproducible output.
 */
import { CHINA_MOBILE_MNCS, luhnCheckDigit } from './checks';

/** Uniform in [0, 1). */
export type RandomSource = () => number;

function pick<T>(items: readonly T[], random: RandomSource): T {
  const item = items[Math.floor(random() * items.length) % items.length];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

function digits(n: number, random: RandomSource): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String(Math.floor(random() * 10) % 10);
  return out;
}

const ALNUM_UPPER = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A 15-digit IMEI from its 14-digit body (TAC + serial) plus the Luhn digit. */
export function imeiFromBody(body14: string): string {
  const check = luhnCheckDigit(body14);
  if (body14.length !== 14 || check < 0) throw new RangeError('IMEI body must be 14 digits');
  return body14 + String(check);
}

/** Reporting-body prefixes of real TACs (never `11`, which reads as a CMEI). */
const TAC_PREFIXES = ['86', '35', '01', '99'] as const;

/** A valid IMEI (Luhn) with an 8-digit TAC (`tac` if given) and a random serial. */
export function generateImei(opts: { tac?: string; random?: RandomSource } = {}): string {
  const random = opts.random ?? Math.random;
  const tac = opts.tac ?? pick(TAC_PREFIXES, random) + digits(6, random);
  if (!/^[0-9]{8}$/.test(tac)) throw new RangeError('TAC must be 8 digits');
  return imeiFromBody(tac + digits(6, random));
}

/**
 * A CMEI in China Mobile's scheme: `11` + 6-digit model code + 6-char vendor serial
 * (`[0-9A-Z]`) + 1 digit. Valid only in slot 1 of Form A/B when it happens to be all
 * digits with a Luhn digit (see `classifyIdentifier`).
 */
export function generateCmei(opts: { modelCode?: string; random?: RandomSource } = {}): string {
  const random = opts.random ?? Math.random;
  const model = opts.modelCode ?? digits(6, random);
  if (!/^[0-9]{6}$/.test(model)) throw new RangeError('model code must be 6 digits');
  let serial = '';
  for (let i = 0; i < 6; i++) serial += pick(ALNUM_UPPER.split(''), random);
  return `11${model}${serial}${digits(1, random)}`;
}

/** A 15-digit China Mobile IMSI: MCC 460 + MNC (00/02/04/07/08) + 10-digit MSIN. */
export function generateImsi(opts: { mnc?: string; random?: RandomSource } = {}): string {
  const random = opts.random ?? Math.random;
  const mnc = opts.mnc ?? pick(CHINA_MOBILE_MNCS, random);
  if (!/^[0-9]{2}$/.test(mnc)) throw new RangeError('MNC must be 2 digits');
  return `460${mnc}${digits(10, random)}`;
}

/** A small deterministic PRNG (mulberry32) for reproducible simulator fleets. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
