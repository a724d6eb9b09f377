/**
 * The objects a simulated UE exposes and the generated (default) value of each resource,
 * derived from (seed, index, now). Types and operations come from the DDF models of
 * @dmp/lwm2m; this file only says which resources exist and what they contain.
 *
 * Exposed: 1 (LwM2M Server), 3 (Device), 4 (Connectivity Monitoring), 5 (Firmware Update),
 * 6 (Location), 19 (BinaryAppDataContainer, the OneNET-style data object; the only object
 * a server may Create instances in). Object 0 (Security) is not visible to a DM server,
 * as with Leshan and Wakaama clients: it is not in the Register links and answers 4.04.
 */
import type { LwM2mResource, LwM2mSingleResource, ResourceValue, ValueType } from '@dmp/lwm2m';
import { imeiOf, mncOf, ueHash, type FleetTables, type ModuleType } from './profile';

/** Objects in Register links and served by the model, in link order. */
export const EXPOSED_OBJECTS: readonly number[] = [1, 3, 4, 5, 6, 19];
/** Objects whose instances a server may Create / Delete (multi-instance in the DDF, not mandatory). */
export const CREATABLE_OBJECTS: ReadonlySet<number> = new Set([19]);
/** Most instances a server may create per UE (a constrained device's memory). */
export const MAX_CREATED_INSTANCES = 32;

/** Firmware Update state (/5/0/3) and result (/5/0/5) as the model derives them at `now`. */
export interface FirmwareView {
  state: 0 | 1 | 2 | 3;
  result: number;
  pkgName: string;
  pkgVersion: string;
  uri: string;
  /** Firmware version after a successful update (replaces /3/0/3). */
  firmware?: string;
}

/** Everything a value generator needs about one UE at one instant. */
export interface UeContext {
  seed: number;
  index: number;
  tables: FleetTables;
  module: ModuleType;
  now: number;
  /** ms added to `now` for /3/0/13 (a written Current Time). */
  timeOffsetMs: number;
  fw: FirmwareView;
  lifetime: number;
  binding: string;
  shortServerId: number;
}

type Generator = (u: UeContext) => ResourceValue | readonly ResourceValue[];

export interface ResourceDef {
  id: number;
  /** Default value; an array for a multiple resource (instance ids 0..n-1). Absent for E. */
  value?: Generator;
  /** How often the default value changes by itself (ms); Infinity = static. */
  changeMs: number;
}

export interface ObjectDef {
  id: number;
  /** Instances every UE has (created ones come on top). */
  instances: readonly number[];
  /** Resources present in every built-in instance, ascending id. */
  resources: ReadonlyMap<number, ResourceDef>;
}

// Salts for per-UE draws (profile.ts uses 11..14, identity.ts 21..25).
const S = {
  firmwareMinor: 31,
  battery: 32,
  memory: 33,
  power: 34,
  deviceType: 35,
  rssi: 36,
  snr: 37,
  ip: 38,
  cell: 39,
  lac: 40,
  city: 41,
  latOff: 42,
  lonOff: 43,
  phase: 44,
  alt: 45,
  data: 46,
} as const;

const h = (u: UeContext, salt: number): number => ueHash(u.seed, u.index, salt);
/** Hash of a time bucket: varies every `periodMs`, same for every call inside a bucket. */
const hb = (u: UeContext, salt: number, periodMs: number): number => ueHash(u.seed ^ Math.floor(u.now / periodMs), u.index, salt);

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const RADIO_PERIOD = 30 * SECOND;
const LOCATION_PERIOD = MINUTE;
const BATTERY_PERIOD = MINUTE;

function isMainsPowered(u: UeContext): boolean {
  return h(u, S.power) % 10 < 3;
}

/** Battery %: drains 1 % every 4 h from a per-UE start, recharged at 20 %. Changes per minute at most. */
function batteryLevel(u: UeContext): number {
  const minutes = Math.floor(u.now / BATTERY_PERIOD) + (h(u, S.battery) % 100_000);
  return 100 - (Math.floor(minutes / 240) % 81);
}

function memoryFree(u: UeContext): number {
  const total = u.module.memoryTotalKb;
  const base = Math.floor(total * (0.3 + (h(u, S.memory) % 40) / 100));
  return base + (hb(u, S.memory, RADIO_PERIOD) % 9) - 4;
}

/** RSRP-like dBm in -113..-51: per-UE base, ±3 dB every 30 s. */
function rssi(u: UeContext): number {
  const base = -105 + (h(u, S.rssi) % 40);
  const v = base + (hb(u, S.rssi, RADIO_PERIOD) % 7) - 3;
  return Math.max(-113, Math.min(-51, v));
}

const CITIES: readonly (readonly [number, number])[] = [
  [39.9042, 116.4074], // Beijing
  [31.2304, 121.4737], // Shanghai
  [23.1291, 113.2644], // Guangzhou
  [22.5431, 114.0579], // Shenzhen
  [30.5728, 104.0668], // Chengdu
  [30.2741, 120.1551], // Hangzhou
  [30.5928, 114.3055], // Wuhan
  [34.3416, 108.9398], // Xi'an
  [32.0603, 118.7969], // Nanjing
  [29.563, 106.5516], // Chongqing
  [39.3434, 117.3616], // Tianjin
  [34.7466, 113.6254], // Zhengzhou
];

function city(u: UeContext): readonly [number, number] {
  return CITIES[h(u, S.city) % CITIES.length] as readonly [number, number];
}

/** Position near the UE's city (±0.15°), drifting ~±200 m over a few hours, one step per minute. */
function position(u: UeContext, axis: 0 | 1): number {
  const [lat, lon] = city(u);
  const off = (h(u, axis === 0 ? S.latOff : S.lonOff) % 30001) / 100000 - 0.15;
  const minute = Math.floor(u.now / LOCATION_PERIOD);
  const phase = (h(u, S.phase) % 1000) / 1000;
  const drift = 0.002 * Math.sin(2 * Math.PI * (minute / 240 + phase + axis * 0.25));
  const v = (axis === 0 ? lat : lon) + off + drift;
  return Math.round(v * 1e6) / 1e6;
}

function ipv4(u: UeContext, last?: number): string {
  const x = h(u, S.ip);
  return `10.${(x >>> 16) & 0xff}.${(x >>> 8) & 0xff}.${last ?? ((x & 0xfd) + 2)}`;
}

const DEVICE_TYPES = ['water meter', 'gas meter', 'smoke detector', 'parking sensor', 'asset tracker', 'street light controller'] as const;

function firmwareVersion(u: UeContext): string {
  if (u.fw.firmware !== undefined) return u.fw.firmware;
  const minor = 1 + (h(u, S.firmwareMinor) % 9);
  return `${u.module.firmware}0${minor}`;
}

function def(id: number, value: Generator | undefined, changeMs = Infinity): ResourceDef {
  return value ? { id, value, changeMs } : { id, changeMs };
}

function objectDef(id: number, instances: readonly number[], defs: readonly ResourceDef[]): ObjectDef {
  return { id, instances, resources: new Map([...defs].sort((a, b) => a.id - b.id).map((d) => [d.id, d])) };
}

const SERVER = objectDef(1, [0], [
  def(0, (u) => u.shortServerId),
  def(1, (u) => u.lifetime),
  def(6, () => true),
  def(7, (u) => u.binding),
  def(8, undefined),
]);

const DEVICE = objectDef(3, [0], [
  def(0, (u) => u.module.manufacturer),
  def(1, (u) => u.module.model),
  def(2, (u) => imeiOf(u.tables, u.index)),
  def(3, firmwareVersion),
  def(4, undefined),
  def(5, undefined),
  // 0 DC power, 1 internal battery (enumeration of the DDF).
  def(6, (u) => (isMainsPowered(u) ? [0, 1] : [1])),
  def(7, (u) => (isMainsPowered(u) ? [5000, 3000 + batteryLevel(u) * 12] : [3000 + batteryLevel(u) * 12]), BATTERY_PERIOD),
  def(8, (u) => (isMainsPowered(u) ? [85, 0] : [8 + (hb(u, S.power, RADIO_PERIOD) % 20)]), RADIO_PERIOD),
  def(9, batteryLevel, BATTERY_PERIOD),
  def(10, memoryFree, RADIO_PERIOD),
  def(11, () => [0]),
  def(12, undefined),
  def(13, (u) => new Date(u.now + u.timeOffsetMs), SECOND),
  def(14, () => '+08:00'),
  def(15, () => 'Asia/Shanghai'),
  def(16, () => 'UQ'),
  def(17, (u) => DEVICE_TYPES[h(u, S.deviceType) % DEVICE_TYPES.length] as string),
  def(18, (u) => u.module.hardware),
  def(19, (u) => `${u.module.model}_APP_V1.${h(u, S.firmwareMinor) % 5}`),
  // 0 normal, 4 low battery.
  def(20, (u) => (batteryLevel(u) <= 25 ? 4 : 0), BATTERY_PERIOD),
  def(21, (u) => u.module.memoryTotalKb),
]);

const CONNECTIVITY = objectDef(4, [0], [
  def(0, (u) => u.module.bearer),
  def(1, (u) => [u.module.bearer]),
  def(2, rssi, RADIO_PERIOD),
  // RSRQ index 0..34, follows the signal.
  def(3, (u) => Math.max(0, Math.min(34, Math.round((rssi(u) + 113) / 2))), RADIO_PERIOD),
  def(4, (u) => [ipv4(u)]),
  def(5, (u) => [ipv4(u, 1)]),
  def(7, (u) => [u.module.bearer === 7 ? 'cmnbiot' : 'cmiot']),
  // E-UTRAN cell id: 20-bit eNodeB id, 8-bit cell.
  def(8, (u) => (((h(u, S.cell) & 0xfffff) << 8) | (h(u, S.cell) >>> 29)) >>> 0),
  def(9, (u) => Number(mncOf(u.tables, u.index))),
  def(10, () => 460),
  def(11, (u) => -3 + (h(u, S.snr) % 20) + (hb(u, S.snr, RADIO_PERIOD) % 5) - 2, RADIO_PERIOD),
  def(12, (u) => 0x5000 + (h(u, S.lac) % 0x2000)),
  def(13, (u) => (rssi(u) > -100 ? 0 : rssi(u) > -110 ? 1 : 2), RADIO_PERIOD),
]);

const FIRMWARE = objectDef(5, [0], [
  // Package is write-only: present (writable) but never read.
  def(0, undefined),
  def(1, (u) => u.fw.uri),
  def(2, undefined),
  def(3, (u) => u.fw.state),
  def(5, (u) => u.fw.result),
  def(6, (u) => u.fw.pkgName),
  def(7, (u) => u.fw.pkgVersion),
  // 0 CoAP, 2 HTTP 1.1; delivery 2 = pull and push.
  def(8, () => [0, 2]),
  def(9, () => 2),
  def(10, undefined),
]);

const LOCATION = objectDef(6, [0], [
  def(0, (u) => position(u, 0), LOCATION_PERIOD),
  def(1, (u) => position(u, 1), LOCATION_PERIOD),
  def(2, (u) => 20 + (h(u, S.alt) % 80)),
  def(3, () => 50),
  def(5, (u) => new Date(Math.floor(u.now / LOCATION_PERIOD) * LOCATION_PERIOD), LOCATION_PERIOD),
  def(6, (u) => (hb(u, S.phase, LOCATION_PERIOD) % 4) * 0.5, LOCATION_PERIOD),
]);

const DATA = objectDef(19, [0], [
  def(0, (u) => {
    const x = h(u, S.data);
    return [Uint8Array.of(0x01, x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff)];
  }),
  def(3, () => 'uplink'),
]);

export const OBJECT_DEFS: ReadonlyMap<number, ObjectDef> = new Map([SERVER, DEVICE, CONNECTIVITY, FIRMWARE, LOCATION, DATA].map((o) => [o.id, o]));

/** Resources whose value depends on firmware state: their change interval follows it. */
export const FIRMWARE_DYNAMIC: ReadonlySet<number> = new Set([3, 5]);

/** Build a resource node of `type` from a generated value (no validation: generators are typed by the DDF). */
export function resourceNode(id: number, type: ValueType, multiple: boolean, value: ResourceValue | readonly ResourceValue[]): LwM2mResource {
  if (!multiple) return { kind: 'singleResource', id, type, value } as LwM2mSingleResource;
  const values = value as readonly ResourceValue[];
  const instances = new Map();
  for (let i = 0; i < values.length; i++) instances.set(i, { kind: 'resourceInstance', id: i, type, value: values[i] });
  return { kind: 'multipleResource', id, type, instances };
}
