/**
 * Contract between the simulator's engine (sockets, timers, CoAP message layer,
 * registration lifecycle) and the device model (identity, LwM2M objects, request
 * handling). The model keeps per-UE state only where a UE diverged from its generated
 * defaults (a write, a created instance, observe attributes): an idle UE costs the
 * model nothing. Everything else is derived from (seed, index) on demand.
 */

/** EPN forms of docs/spec/epn-formats.md the simulator can send. */
export type EpnForm = 'A' | 'B' | 'C' | 'D' | 'URN_IMEI' | 'IMEI';

export interface IdentityOptions {
  /** Same seed + index → same UE, in every process and every run. */
  seed: number;
  /** Mix of EPN forms by weight, e.g. { B: 6, A: 2, C: 1, URN_IMEI: 1 }. */
  forms: Partial<Record<EpnForm, number>>;
  /** Form A: AppKey and its password (the platform must know the password: PUT /api/v1/appkeys/{appKey}). */
  appKey?: string;
  password?: string;
  /** DM version sent where the form carries one, e.g. "v2.0". */
  version?: string;
}

/** One UE's identity, computed on demand (never stored per UE). */
export interface UeIdentity {
  index: number;
  form: EpnForm;
  /** Endpoint Name sent as `?ep=` in Register. */
  epn: string;
  imei: string;
  imsi: string;
  cmei?: string;
  version?: string;
  /** The End Point Identity the platform must derive from `epn` (as @dmp/identity parseEpn does). */
  expectedEpi: string;
}

export type IdentityFactory = (index: number) => UeIdentity;

/** A request from the server to one UE, already decoded from CoAP by the engine. */
export interface DeviceRequest {
  /** CoAP method code: 1 GET, 2 POST, 3 PUT, 4 DELETE. */
  method: 1 | 2 | 3 | 4;
  /** Uri-Path joined with '/', leading '/', e.g. "/3/0/13"; "/" for the root. */
  path: string;
  /** Uri-Query values, e.g. ["pmin=10", "pmax=60"]. */
  query: readonly string[];
  accept?: number;
  contentFormat?: number;
  payload: Uint8Array;
  /** Observe option of a GET: 0 register, 1 deregister; undefined when absent. */
  observe?: number;
}

/** Side effect the engine must carry out after sending the response. */
export type DeviceEffect = 'reboot' | 'registration-update' | 'factory-reset';

export interface DeviceResponse {
  /** CoAP response code byte, e.g. 0x45 = 2.05 Content, 0x84 = 4.04. */
  code: number;
  contentFormat?: number;
  payload?: Uint8Array;
  /**
   * 'start': a GET with Observe 0 was accepted: the engine keeps the observation (token,
   * path, contentFormat) and sends notifications; 'cancel': Observe 1 (or a cancel) for
   * this path: the engine drops it.
   */
  observe?: 'start' | 'cancel';
  effect?: DeviceEffect;
  /**
   * Create (2.01): Location-Path segments of the new instance, e.g. ["19", "1"]; the engine
   * sends one Location-Path option per segment. Added after the first version of this
   * contract (optional, backward compatible): LwM2M requires it when the client picked the id.
   */
  locationPath?: readonly string[];
}

/** Notification attributes in force for a path (write-attributes, inherited from object/instance). */
export interface ObserveAttributes {
  pmin?: number;
  pmax?: number;
  gt?: number;
  lt?: number;
  st?: number;
}

export interface DeviceModel {
  /** CoRE link-format payload of Register / Update-with-links for UE `index`. */
  registerLinks(index: number): string;
  /** Answer one server request for UE `index` at time `now` (ms since epoch). Never throws. */
  handle(index: number, req: DeviceRequest, now: number): DeviceResponse;
  /**
   * Current content of an observed path for a notification, in `contentFormat`
   * (the format the observation was created with); undefined when the path no
   * longer exists (the engine then sends 4.04 and drops the observation).
   */
  observeValue(index: number, path: string, contentFormat: number, now: number): { contentFormat: number; payload: Uint8Array } | undefined;
  /** Attributes in force for `path` (defaults when none were written). */
  attributes(index: number, path: string): ObserveAttributes;
  /**
   * How often the value at `path` changes by itself, in ms (e.g. /3/0/13 Current Time:
   * 1000; a static resource: Infinity). The engine notifies at
   * max(pmin, change interval), and at pmax at the latest.
   */
  changeIntervalMs(index: number, path: string): number;
  /** Forget everything UE `index` diverged from its defaults (factory reset, simulator restart). */
  reset(index: number): void;
  /** Number of UEs that currently hold per-UE state in the model (for the memory report). */
  statefulUes(): number;
}
