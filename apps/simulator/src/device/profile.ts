/**
 * Per-UE base facts derived from (seed, index) alone: the hardware (module catalog entry),
 * IMEI, IMSI, CMEI and a few random draws. Shared by the identity factory and the device
 * model so a UE's Device object reports the same IMEI / module / MNC as its EPN.
 *
 * Nothing here is stored per UE: every function is pure arithmetic on (seed, index).
 * Uniqueness: indices 0 .. MAX_DISTINCT_UES-1 get pairwise distinct IMEIs and IMSIs
 * (index % TAC_SLOTS picks one of 100 TACs, the serial is an affine bijection of
 * floor(index / TAC_SLOTS) over 10^6 serials).
 */
import { CHINA_MOBILE_MNCS, luhnCheckDigit } from '@dmp/identity';

/** Number of distinct TACs (module types) per fleet. */
export const TAC_SLOTS = 100;
const SERIALS = 1_000_000;
/** Indices below this get distinct IMEIs (and so distinct EPIs). */
export const MAX_DISTINCT_UES = TAC_SLOTS * SERIALS;

/** 32-bit avalanche mixer (lowbias32). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of (seed, index, salt) → uint32. Indices up to 2^53 are mixed in full. */
export function ueHash(seed: number, index: number, salt: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  return mix32(mix32(mix32((seed ^ Math.imul(salt + 1, 0x9e3779b9)) >>> 0) ^ lo) ^ mix32(hi + salt));
}

/** Uniform draw in [0, 1) for (seed, index, salt). */
export function ueRandom(seed: number, index: number, salt: number): number {
  return ueHash(seed, index, salt) / 4294967296;
}

/** A module as sold in China: the Device object's static strings come from here. */
export interface ModuleType {
  manufacturer: string;
  model: string;
  /** Firmware version prefix; a per-UE minor number is appended. */
  firmware: string;
  hardware: string;
  /** 6-digit model code used in CMEIs of devices built on it. */
  cmeiModel: string;
  /** Network bearer of /4/0/0: 7 NB-IoT, 6 LTE FDD (Cat.1 modules). */
  bearer: 6 | 7;
  memoryTotalKb: number;
}

/** Plausible Chinese NB-IoT / Cat.1 modules (names as vendors print them). */
export const MODULE_CATALOG: readonly ModuleType[] = [
  { manufacturer: 'Quectel', model: 'BC26', firmware: 'BC26NBR01A', hardware: 'R1.0', cmeiModel: '100101', bearer: 7, memoryTotalKb: 256 },
  { manufacturer: 'Quectel', model: 'BC260Y-CN', firmware: 'BC260YCNAAR01A', hardware: 'R1.1', cmeiModel: '100102', bearer: 7, memoryTotalKb: 256 },
  { manufacturer: 'China Mobile IoT', model: 'M5311', firmware: 'M5311_LV_MOD_BOM_R002_', hardware: 'V1.0', cmeiModel: '100201', bearer: 7, memoryTotalKb: 192 },
  { manufacturer: 'China Mobile IoT', model: 'ML302', firmware: 'ML302_V1.', hardware: 'V1.2', cmeiModel: '100202', bearer: 6, memoryTotalKb: 512 },
  { manufacturer: 'ZTE', model: 'ZM8300G', firmware: 'ZM8300G_V1.0.', hardware: 'HW1.0', cmeiModel: '100301', bearer: 7, memoryTotalKb: 256 },
  { manufacturer: 'Fibocom', model: 'N700-CN', firmware: '18000.1000.00.01.', hardware: 'V1.0', cmeiModel: '100401', bearer: 7, memoryTotalKb: 256 },
  { manufacturer: 'Fibocom', model: 'L610-CN', firmware: '16000.1000.00.96.', hardware: 'V1.1', cmeiModel: '100402', bearer: 6, memoryTotalKb: 1024 },
  { manufacturer: 'Neoway', model: 'N21', firmware: 'N21_CN_V1.', hardware: 'N21-A', cmeiModel: '100501', bearer: 7, memoryTotalKb: 256 },
  { manufacturer: 'MobileTek', model: 'ML7820', firmware: 'ML7820_NB_V2.', hardware: 'V2.0', cmeiModel: '100601', bearer: 7, memoryTotalKb: 192 },
  { manufacturer: 'SIMCom', model: 'SIM7020C', firmware: '1752B10SIM7020C', hardware: 'V1.02', cmeiModel: '100701', bearer: 7, memoryTotalKb: 256 },
];

/** Everything about a fleet that depends on the seed only (computed once per factory). */
export interface FleetTables {
  seed: number;
  /** TAC_SLOTS distinct 8-digit TACs starting with 86 (the Chinese reporting body). */
  tacs: readonly string[];
  /** Affine bijection parameters over [0, 10^6) for IMEI serials and IMSI MSIN tails. */
  serialMul: number;
  serialAdd: number;
  msinMul: number;
  msinAdd: number;
  /** Per-TAC-slot offsets added to the bijections, so neighbouring UEs do not share serial digits. */
  slotOffsets: readonly number[];
}

/** A multiplier coprime with 10^6 (odd, not a multiple of 5). */
function coprimeMultiplier(h: number): number {
  let a = (h % (SERIALS / 2)) * 2 + 1;
  if (a % 5 === 0) a += 2;
  return a;
}

export function fleetTables(seed: number): FleetTables {
  const s = seed >>> 0;
  const tacs: string[] = [];
  const seen = new Set<string>();
  for (let k = 0; tacs.length < TAC_SLOTS; k++) {
    const tac = '86' + String(mix32(s ^ mix32(0x7ac + k)) % 1_000_000).padStart(6, '0');
    if (seen.has(tac)) continue;
    seen.add(tac);
    tacs.push(tac);
  }
  return {
    seed: s,
    tacs,
    serialMul: coprimeMultiplier(mix32(s ^ 0x51a1)),
    serialAdd: mix32(s ^ 0x51a2) % SERIALS,
    msinMul: coprimeMultiplier(mix32(s ^ 0x3151)),
    msinAdd: mix32(s ^ 0x3152) % SERIALS,
    slotOffsets: Array.from({ length: TAC_SLOTS }, (_, k) => mix32(s ^ mix32(0x0ff5e7 + k)) % SERIALS),
  };
}

const tablesCache = new Map<number, FleetTables>();
/** Cached `fleetTables` (a process holds one or two seeds). */
export function tablesFor(seed: number): FleetTables {
  const s = seed >>> 0;
  let t = tablesCache.get(s);
  if (!t) {
    t = fleetTables(s);
    tablesCache.set(s, t);
  }
  return t;
}

export function tacSlotOf(index: number): number {
  return index % TAC_SLOTS;
}

export function moduleOf(index: number): ModuleType {
  return MODULE_CATALOG[tacSlotOf(index) % MODULE_CATALOG.length] as ModuleType;
}

function pad6(n: number): string {
  return n < 100000 ? String(n).padStart(6, '0') : String(n);
}

/** Valid IMEI (Luhn) of UE `index`; distinct for distinct indices below MAX_DISTINCT_UES. */
export function imeiOf(t: FleetTables, index: number): string {
  const q = Math.floor(index / TAC_SLOTS) % SERIALS;
  const serial = (t.serialMul * q + t.serialAdd + (t.slotOffsets[tacSlotOf(index)] as number)) % SERIALS;
  const body = (t.tacs[tacSlotOf(index)] as string) + pad6(serial);
  return body + String(luhnCheckDigit(body));
}

/** China Mobile MNC of UE `index` ("00", "02", "04", "07" or "08"). */
export function mncOf(t: FleetTables, index: number): string {
  return CHINA_MOBILE_MNCS[ueHash(t.seed, index, 11) % CHINA_MOBILE_MNCS.length] as string;
}

/**
 * 15-digit IMSI: 460 + MNC + MSIN. MSIN = 2-digit HLR code + 2-digit TAC slot + 6-digit
 * bijection of floor(index / TAC_SLOTS), so IMSIs are distinct like IMEIs.
 */
export function imsiOf(t: FleetTables, index: number): string {
  const q = Math.floor(index / TAC_SLOTS) % SERIALS;
  const tail = (t.msinMul * q + t.msinAdd + (t.slotOffsets[tacSlotOf(index)] as number)) % SERIALS;
  const hlr = 10 + (ueHash(t.seed, index, 12) % 90);
  const slot = tacSlotOf(index);
  return `460${mncOf(t, index)}${hlr}${slot < 10 ? '0' : ''}${slot}${pad6(tail)}`;
}

const ALNUM_UPPER = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** CMEI in China Mobile's scheme: 11 + module model code + 6-char vendor serial + 1 digit. */
export function cmeiOf(t: FleetTables, index: number): string {
  let h = ueHash(t.seed, index, 13);
  let serial = '';
  for (let i = 0; i < 6; i++) {
    serial += ALNUM_UPPER[h % 36];
    h = Math.floor(h / 36);
  }
  return `11${moduleOf(index).cmeiModel}${serial}${ueHash(t.seed, index, 14) % 10}`;
}
