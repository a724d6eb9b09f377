/**
 * The LwM2M device model of a simulated UE: answers server requests (Read, Observe,
 * Discover, Write, Write-Attributes, Execute, Create, Delete) with payloads encoded by the
 * @dmp/lwm2m codecs, so real servers (our gateway, Leshan) decode them.
 *
 * Values are generated from (seed, index, now) by objects.ts. Per-UE state lives in a
 * sparse Map and holds only what a server changed (written values, created instances,
 * attributes, firmware-update progress); an idle UE has no entry. `handle` never throws.
 */
import {
  ContentFormat,
  createDefaultContentFormatRegistry,
  isWritable,
  LwM2mPath,
  ObjectModelRegistry,
  parseTlv,
  type ContentFormatRegistry,
  type LwM2mMultipleResource,
  type LwM2mNode,
  type LwM2mObject,
  type LwM2mObjectInstance,
  type LwM2mResource,
  type LwM2mResourceInstance,
  type ModelProvider,
  type ObjectModel,
  type ResourceModel,
} from '@dmp/lwm2m';
import {
  CREATABLE_OBJECTS,
  EXPOSED_OBJECTS,
  FIRMWARE_DYNAMIC,
  MAX_CREATED_INSTANCES,
  OBJECT_DEFS,
  resourceNode,
  type FirmwareView,
  type ObjectDef,
  type UeContext,
} from './objects';
import { moduleOf, tablesFor, type FleetTables } from './profile';
import type { DeviceEffect, DeviceModel, DeviceRequest, DeviceResponse, ObserveAttributes } from './types';

/** CoAP response codes (class << 5 | detail). */
export const Code = {
  CREATED: 0x41,
  DELETED: 0x42,
  CHANGED: 0x44,
  CONTENT: 0x45,
  BAD_REQUEST: 0x80,
  NOT_FOUND: 0x84,
  METHOD_NOT_ALLOWED: 0x85,
  NOT_ACCEPTABLE: 0x86,
  UNSUPPORTED_CONTENT_FORMAT: 0x8f,
  INTERNAL_SERVER_ERROR: 0xa0,
} as const;

const GET = 1;
const POST = 2;
const PUT = 3;
const DELETE = 4;

/** Download of a written Package URI takes this long (then State 2 Downloaded). */
export const FW_DOWNLOAD_MS = 10_000;
/** Update (after /5/0/2 Execute and the reboot) takes this long (then State 0, Result 1). */
export const FW_UPDATE_MS = 5_000;

export interface DeviceModelOptions {
  seed: number;
  /** Codecs (default: every codec of @dmp/lwm2m). */
  formats?: ContentFormatRegistry;
  /** Object models (default: the DDF files shipped with @dmp/lwm2m). Must know objects 1, 3, 4, 5, 6, 19. */
  models?: ModelProvider;
  /** /1/0/1 before any Write, in s: must equal the `lt` the engine registers with. Default 86400. */
  lifetime?: number;
  /** /1/0/7 before any Write: must equal the `b` of Register. Default "U". */
  binding?: string;
  /** /1/0/0. Default 1. */
  shortServerId?: number;
}

/** The model plus what the engine needs after a server changed the registration parameters. */
export interface SimDeviceModel extends DeviceModel {
  /** /1/0/1 of UE `index` (a server Write changes it and asks for a registration update). */
  lifetime(index: number): number;
  /** /1/0/7 of UE `index`. */
  binding(index: number): string;
}

type FwPhase = 'idle' | 'downloading' | 'downloaded' | 'updating';
interface FwState {
  phase: FwPhase;
  since: number;
  result: number;
  uri: string;
  pkgName: string;
  pkgVersion: string;
  /** /3/0/3 once an update succeeded. */
  firmware?: string;
}

/** What a UE changed away from its generated defaults. Absent fields cost nothing. */
interface UeState {
  /** Written resources of built-in instances, keyed "oid/iid/rid". */
  values?: Map<string, LwM2mResource>;
  /** Written /3/0/13 minus the time of the write. */
  timeOffsetMs?: number;
  /** Instances created by a server: object id → instance id → instance. */
  created?: Map<number, Map<number, LwM2mObjectInstance>>;
  /** Write-Attributes per path string ("/3", "/3/0", "/3/0/9"). */
  attrs?: Map<string, ObserveAttributes>;
  fw?: FwState;
}

const IDLE_FW: FirmwareView = { state: 0, result: 0, pkgName: '', pkgVersion: '', uri: '' };
const EMPTY = new Uint8Array(0);
const NUMERIC_TYPES = new Set(['INTEGER', 'UNSIGNED_INTEGER', 'FLOAT']);
/** Most attributes or overridden values a UE keeps (a bound on what a hostile server can make us store). */
const MAX_STATE_ENTRIES = 256;

const fail = (code: number): DeviceResponse => ({ code });

class RequestError extends Error {
  constructor(readonly code: number) {
    super(`CoAP ${code >> 5}.${String(code & 31).padStart(2, '0')}`);
  }
}

function isReadable(r: ResourceModel): boolean {
  return r.operations === 'R' || r.operations === 'RW';
}

function fwView(s: FwState | undefined, now: number): FirmwareView {
  if (!s) return IDLE_FW;
  const base = { pkgName: s.pkgName, pkgVersion: s.pkgVersion, uri: s.uri, ...(s.firmware !== undefined ? { firmware: s.firmware } : {}) };
  switch (s.phase) {
    case 'idle':
      return { ...base, state: 0, result: s.result };
    case 'downloading':
      return { ...base, state: now - s.since >= FW_DOWNLOAD_MS ? 2 : 1, result: 0 };
    case 'downloaded':
      return { ...base, state: 2, result: 0 };
    case 'updating':
      if (now - s.since < FW_UPDATE_MS) return { ...base, state: 3, result: 0 };
      return { ...base, state: 0, result: 1, firmware: s.pkgVersion !== '' ? s.pkgVersion : `${base.firmware ?? 'FW'}-updated` };
  }
}

/** Package name / version from a URI's last segment, e.g. ".../BC26NBR01A10.bin" → name, version "BC26NBR01A10". */
function packageFromUri(uri: string): { pkgName: string; pkgVersion: string } {
  const last = uri.split(/[/?#]/).filter((s) => s !== '').pop() ?? '';
  const name = last.slice(0, 255);
  return { pkgName: name, pkgVersion: name.replace(/\.(bin|pkg|img|fota|zip|delta)$/i, '').slice(0, 255) };
}

const FW_URI = /^(coaps?|https?):\/\/[!-~]+$/;

function fmtAttr(v: number): string {
  return Object.is(v, -0) ? '0' : String(v);
}

function attrsToLink(a: ObserveAttributes | undefined): string {
  if (!a) return '';
  let s = '';
  if (a.pmin !== undefined) s += `;pmin=${fmtAttr(a.pmin)}`;
  if (a.pmax !== undefined) s += `;pmax=${fmtAttr(a.pmax)}`;
  if (a.gt !== undefined) s += `;gt=${fmtAttr(a.gt)}`;
  if (a.lt !== undefined) s += `;lt=${fmtAttr(a.lt)}`;
  if (a.st !== undefined) s += `;st=${fmtAttr(a.st)}`;
  return s;
}

const INTEGER_TEXT = /^(0|[1-9][0-9]{0,9})$/;
const NUMBER_TEXT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const ATTR_NAMES: Readonly<Record<string, keyof ObserveAttributes>> = { pmin: 'pmin', pmax: 'pmax', gt: 'gt', lt: 'lt', st: 'st', stp: 'st' };

/** Parse Write-Attributes Uri-Query items: a value per attribute, `null` = unset. Throws RequestError(4.00). */
function parseAttributeQuery(query: readonly string[]): Map<keyof ObserveAttributes, number | null> {
  const out = new Map<keyof ObserveAttributes, number | null>();
  for (const item of query) {
    if (typeof item !== 'string') throw new RequestError(Code.BAD_REQUEST);
    const eq = item.indexOf('=');
    const rawName = eq < 0 ? item : item.slice(0, eq);
    const name = Object.prototype.hasOwnProperty.call(ATTR_NAMES, rawName) ? ATTR_NAMES[rawName] : undefined;
    if (name === undefined || out.has(name)) throw new RequestError(Code.BAD_REQUEST);
    if (eq < 0) {
      out.set(name, null);
      continue;
    }
    const text = item.slice(eq + 1);
    const ok = name === 'pmin' || name === 'pmax' ? INTEGER_TEXT.test(text) && Number(text) <= 0xffffffff : NUMBER_TEXT.test(text);
    const v = Number(text);
    if (!ok || !Number.isFinite(v)) throw new RequestError(Code.BAD_REQUEST);
    out.set(name, v);
  }
  return out;
}

export function createDeviceModel(opts: DeviceModelOptions): SimDeviceModel {
  return new Model(opts);
}

class Model implements SimDeviceModel {
  private readonly seed: number;
  private readonly tables: FleetTables;
  private readonly formats: ContentFormatRegistry;
  private readonly models: ModelProvider;
  private readonly defaultLifetime: number;
  private readonly defaultBinding: string;
  private readonly shortServerId: number;
  private readonly states = new Map<number, UeState>();
  private readonly objectModels = new Map<number, ObjectModel>();
  private readonly idleLinks: string;

  constructor(opts: DeviceModelOptions) {
    this.seed = opts.seed >>> 0;
    this.tables = tablesFor(this.seed);
    this.formats = opts.formats ?? createDefaultContentFormatRegistry();
    this.models = opts.models ?? ObjectModelRegistry.default();
    this.defaultLifetime = opts.lifetime ?? 86400;
    this.defaultBinding = opts.binding ?? 'U';
    this.shortServerId = opts.shortServerId ?? 1;
    if (!Number.isSafeInteger(this.defaultLifetime) || this.defaultLifetime < 1) throw new RangeError('lifetime must be a positive integer');
    for (const oid of EXPOSED_OBJECTS) {
      const m = this.models.getObjectModel(oid);
      if (!m) throw new RangeError(`object model ${oid} is missing from the model provider`);
      for (const rid of (OBJECT_DEFS.get(oid) as ObjectDef).resources.keys()) {
        if (!m.resources.has(rid)) throw new RangeError(`object model ${oid} has no resource ${rid}`);
      }
      this.objectModels.set(oid, m);
    }
    this.idleLinks = this.buildLinks(undefined);
  }

  // ------------------------------------------------------------------ public API

  registerLinks(index: number): string {
    const st = this.states.get(index);
    return st?.created ? this.buildLinks(st) : this.idleLinks;
  }

  handle(index: number, req: DeviceRequest, now: number): DeviceResponse {
    try {
      return this.dispatch(index, req, now);
    } catch (e) {
      if (e instanceof RequestError) return fail(e.code);
      // Anything else is a bug of ours, never a reason to take the engine down.
      return fail(Code.INTERNAL_SERVER_ERROR);
    }
  }

  observeValue(index: number, path: string, contentFormat: number, now: number): { contentFormat: number; payload: Uint8Array } | undefined {
    try {
      const p = LwM2mPath.parse(path);
      const r = this.read(index, p, contentFormat, now);
      return r.code === Code.CONTENT && r.payload && r.contentFormat !== undefined ? { contentFormat: r.contentFormat, payload: r.payload } : undefined;
    } catch {
      return undefined;
    }
  }

  attributes(index: number, path: string): ObserveAttributes {
    let p: LwM2mPath;
    try {
      p = LwM2mPath.parse(path);
    } catch {
      return {};
    }
    const st = this.states.get(index);
    const out: ObserveAttributes = {};
    // Defaults of the server object (/1/0/2 Default Minimum Period, /1/0/3 Default Maximum Period) when written.
    const dmin = st?.values?.get('1/0/2');
    const dmax = st?.values?.get('1/0/3');
    if (dmin?.kind === 'singleResource' && typeof dmin.value === 'number') out.pmin = dmin.value;
    if (dmax?.kind === 'singleResource' && typeof dmax.value === 'number') out.pmax = dmax.value;
    if (!st?.attrs) return out;
    // Object < instance < resource < resource instance: the deeper level wins.
    let cur = p;
    const chain: LwM2mPath[] = [];
    while (cur.depth > 0) {
      chain.unshift(cur);
      cur = cur.parent();
    }
    for (const level of chain) {
      const a = st.attrs.get(level.toString());
      if (!a) continue;
      if (a.pmin !== undefined) out.pmin = a.pmin;
      if (a.pmax !== undefined) out.pmax = a.pmax;
      if (level.depth >= 3) {
        if (a.gt !== undefined) out.gt = a.gt;
        if (a.lt !== undefined) out.lt = a.lt;
        if (a.st !== undefined) out.st = a.st;
      }
    }
    return out;
  }

  changeIntervalMs(index: number, path: string): number {
    try {
      const p = LwM2mPath.parse(path);
      if (p.depth === 0) return Infinity;
      const oid = p.objectId as number;
      const def = OBJECT_DEFS.get(oid);
      if (!def) return Infinity;
      const st = this.states.get(index);
      if (p.depth >= 3) return this.resourceChangeMs(st, oid, p.objectInstanceId as number, p.resourceId as number);
      let min = Infinity;
      const iids = p.depth === 2 ? [p.objectInstanceId as number] : this.instanceIds(st, oid);
      for (const iid of iids) {
        if (!def.instances.includes(iid)) continue;
        for (const rid of def.resources.keys()) min = Math.min(min, this.resourceChangeMs(st, oid, iid, rid));
      }
      return min;
    } catch {
      return Infinity;
    }
  }

  reset(index: number): void {
    this.states.delete(index);
  }

  statefulUes(): number {
    return this.states.size;
  }

  lifetime(index: number): number {
    const v = this.states.get(index)?.values?.get('1/0/1');
    return v?.kind === 'singleResource' && typeof v.value === 'number' ? v.value : this.defaultLifetime;
  }

  binding(index: number): string {
    const v = this.states.get(index)?.values?.get('1/0/7');
    return v?.kind === 'singleResource' && typeof v.value === 'string' ? v.value : this.defaultBinding;
  }

  // ------------------------------------------------------------------ dispatch

  private dispatch(index: number, req: DeviceRequest, now: number): DeviceResponse {
    if (typeof req !== 'object' || req === null || typeof req.path !== 'string') return fail(Code.BAD_REQUEST);
    let path: LwM2mPath;
    try {
      path = LwM2mPath.parse(req.path);
    } catch {
      return fail(Code.NOT_FOUND);
    }
    const query = Array.isArray(req.query) ? req.query : [];
    const payload = req.payload instanceof Uint8Array ? req.payload : EMPTY;
    if (path.depth > 0 && !this.objectModels.has(path.objectId as number)) return fail(Code.NOT_FOUND);
    switch (req.method) {
      case GET: {
        if (req.accept === ContentFormat.LINK_FORMAT) return this.discover(index, path);
        const r = this.read(index, path, req.accept ?? ContentFormat.TLV, now);
        if (req.observe === 0 && r.code === Code.CONTENT) return { ...r, observe: 'start' };
        if (req.observe === 1) return { ...r, observe: 'cancel' };
        return r;
      }
      case PUT:
        if (query.length > 0) {
          // Write-Attributes carries no payload; a Write does not carry a query.
          if (payload.length > 0) return fail(Code.BAD_REQUEST);
          return this.writeAttributes(index, path, query);
        }
        return this.write(index, path, req.contentFormat, payload, true, now);
      case POST:
        if (path.depth === 1) return this.create(index, path, req.contentFormat, payload);
        if (path.depth === 2) return this.write(index, path, req.contentFormat, payload, false, now);
        if (path.depth === 3) return this.execute(index, path, now);
        return fail(Code.METHOD_NOT_ALLOWED);
      case DELETE:
        return this.delete(index, path);
      default:
        return fail(Code.METHOD_NOT_ALLOWED);
    }
  }

  // ------------------------------------------------------------------ nodes

  private context(index: number, st: UeState | undefined, now: number): UeContext {
    return {
      seed: this.seed,
      index,
      tables: this.tables,
      module: moduleOf(index),
      now,
      timeOffsetMs: st?.timeOffsetMs ?? 0,
      fw: fwView(st?.fw, now),
      lifetime: this.lifetime(index),
      binding: this.binding(index),
      shortServerId: this.shortServerId,
    };
  }

  private model(oid: number): ObjectModel {
    return this.objectModels.get(oid) as ObjectModel;
  }

  private instanceIds(st: UeState | undefined, oid: number): number[] {
    const builtIn = (OBJECT_DEFS.get(oid) as ObjectDef).instances;
    const created = st?.created?.get(oid);
    if (!created || created.size === 0) return builtIn as number[];
    return [...builtIn, ...created.keys()].sort((a, b) => a - b);
  }

  private isBuiltIn(oid: number, iid: number): boolean {
    return (OBJECT_DEFS.get(oid) as ObjectDef).instances.includes(iid);
  }

  private hasInstance(st: UeState | undefined, oid: number, iid: number): boolean {
    return this.isBuiltIn(oid, iid) || st?.created?.get(oid)?.has(iid) === true;
  }

  /** Resource ids present in an instance (generated + written), ascending. */
  private resourceIds(st: UeState | undefined, oid: number, iid: number): number[] {
    const created = st?.created?.get(oid)?.get(iid);
    if (created) return [...created.resources.keys()].sort((a, b) => a - b);
    const ids = [...(OBJECT_DEFS.get(oid) as ObjectDef).resources.keys()];
    if (st?.values) {
      const prefix = `${oid}/${iid}/`;
      for (const k of st.values.keys()) {
        if (!k.startsWith(prefix)) continue;
        const rid = Number(k.slice(prefix.length));
        if (!ids.includes(rid)) ids.push(rid);
      }
      ids.sort((a, b) => a - b);
    }
    return ids;
  }

  /** The resource node (any operations), or undefined when absent or without a value (E, write-only never written). */
  private resource(u: UeContext, st: UeState | undefined, oid: number, iid: number, rid: number): LwM2mResource | undefined {
    const created = st?.created?.get(oid)?.get(iid);
    if (created) return created.resources.get(rid);
    if (!this.isBuiltIn(oid, iid)) return undefined;
    const written = st?.values?.get(`${oid}/${iid}/${rid}`);
    if (written) return written;
    const def = (OBJECT_DEFS.get(oid) as ObjectDef).resources.get(rid);
    if (!def?.value) return undefined;
    const rm = this.model(oid).resources.get(rid) as ResourceModel;
    return resourceNode(rid, rm.type as Exclude<ResourceModel['type'], 'NONE'>, rm.multiple, def.value(u));
  }

  private instanceNode(u: UeContext, st: UeState | undefined, oid: number, iid: number): LwM2mObjectInstance {
    const models = this.model(oid).resources;
    const resources = new Map<number, LwM2mResource>();
    for (const rid of this.resourceIds(st, oid, iid)) {
      const rm = models.get(rid);
      if (!rm || !isReadable(rm)) continue;
      const r = this.resource(u, st, oid, iid, rid);
      if (r) resources.set(rid, r);
    }
    return { kind: 'objectInstance', id: iid, resources };
  }

  // ------------------------------------------------------------------ read / discover

  private read(index: number, path: LwM2mPath, format: number, now: number): DeviceResponse {
    if (path.depth === 0) return fail(Code.METHOD_NOT_ALLOWED);
    const codec = this.formats.get(format);
    if (!codec || !codec.supportsPath(path)) return fail(Code.NOT_ACCEPTABLE);
    const st = this.states.get(index);
    const oid = path.objectId as number;
    const u = this.context(index, st, now);
    let node: LwM2mNode;
    if (path.depth === 1) {
      const instances = new Map<number, LwM2mObjectInstance>();
      for (const iid of this.instanceIds(st, oid)) instances.set(iid, this.instanceNode(u, st, oid, iid));
      node = { kind: 'object', id: oid, instances } satisfies LwM2mObject;
    } else {
      const iid = path.objectInstanceId as number;
      if (!this.hasInstance(st, oid, iid)) return fail(Code.NOT_FOUND);
      if (path.depth === 2) node = this.instanceNode(u, st, oid, iid);
      else {
        const rid = path.resourceId as number;
        const rm = this.model(oid).resources.get(rid);
        if (!rm || !this.resourceIds(st, oid, iid).includes(rid)) return fail(Code.NOT_FOUND);
        if (!isReadable(rm)) return fail(Code.METHOD_NOT_ALLOWED);
        const r = this.resource(u, st, oid, iid, rid);
        if (!r) return fail(Code.NOT_FOUND);
        if (path.depth === 3) node = r;
        else {
          const ri = r.kind === 'multipleResource' ? r.instances.get(path.resourceInstanceId as number) : undefined;
          if (!ri) return fail(Code.NOT_FOUND);
          node = ri;
        }
      }
    }
    let payload: Uint8Array;
    try {
      payload = codec.encode(node, path, this.models);
    } catch {
      // Our nodes are valid: an encoder refusal means the format cannot carry this node
      // (text/opaque on an instance or a multiple resource, opaque on a string).
      return fail(Code.NOT_ACCEPTABLE);
    }
    return { code: Code.CONTENT, contentFormat: format, payload };
  }

  private discover(index: number, path: LwM2mPath): DeviceResponse {
    if (path.depth === 0 || path.depth === 4) return fail(Code.METHOD_NOT_ALLOWED);
    const st = this.states.get(index);
    const oid = path.objectId as number;
    const attrs = st?.attrs;
    const links: string[] = [];
    const u = this.context(index, st, 0);
    const resourceLinks = (iid: number): void => {
      const models = this.model(oid).resources;
      for (const rid of this.resourceIds(st, oid, iid)) links.push(this.resourceLink(u, st, oid, iid, rid, models.get(rid), attrs));
    };
    if (path.depth === 1) {
      links.push(`</${oid}>${attrsToLink(attrs?.get(`/${oid}`))}`);
      for (const iid of this.instanceIds(st, oid)) {
        links.push(`</${oid}/${iid}>${attrsToLink(attrs?.get(`/${oid}/${iid}`))}`);
        resourceLinks(iid);
      }
    } else {
      const iid = path.objectInstanceId as number;
      if (!this.hasInstance(st, oid, iid)) return fail(Code.NOT_FOUND);
      if (path.depth === 2) {
        links.push(`</${oid}/${iid}>${attrsToLink(attrs?.get(`/${oid}/${iid}`))}`);
        resourceLinks(iid);
      } else {
        const rid = path.resourceId as number;
        if (!this.resourceIds(st, oid, iid).includes(rid)) return fail(Code.NOT_FOUND);
        // A Discover on a resource shows the inherited attributes too (LwM2M 1.0 §5.4.2).
        const own = this.attributes(index, path.toString());
        links.push(this.resourceLink(u, st, oid, iid, rid, this.model(oid).resources.get(rid), undefined) + attrsToLink(own));
      }
    }
    return { code: Code.CONTENT, contentFormat: ContentFormat.LINK_FORMAT, payload: Buffer.from(links.join(','), 'utf8') };
  }

  private resourceLink(
    u: UeContext,
    st: UeState | undefined,
    oid: number,
    iid: number,
    rid: number,
    rm: ResourceModel | undefined,
    attrs: Map<string, ObserveAttributes> | undefined,
  ): string {
    let link = `</${oid}/${iid}/${rid}>`;
    if (rm?.multiple) {
      const r = this.resource(u, st, oid, iid, rid);
      // dim = number of resource instances (the count does not depend on time).
      if (r?.kind === 'multipleResource') link += `;dim=${r.instances.size}`;
    }
    return link + attrsToLink(attrs?.get(`/${oid}/${iid}/${rid}`));
  }

  // ------------------------------------------------------------------ write-attributes

  private writeAttributes(index: number, path: LwM2mPath, query: readonly string[]): DeviceResponse {
    if (path.depth === 0) return fail(Code.METHOD_NOT_ALLOWED);
    const st = this.states.get(index);
    const oid = path.objectId as number;
    let rm: ResourceModel | undefined;
    if (path.depth >= 2) {
      const iid = path.objectInstanceId as number;
      if (!this.hasInstance(st, oid, iid)) return fail(Code.NOT_FOUND);
      if (path.depth >= 3) {
        const rid = path.resourceId as number;
        rm = this.model(oid).resources.get(rid);
        if (!rm || !this.resourceIds(st, oid, iid).includes(rid)) return fail(Code.NOT_FOUND);
        if (path.depth === 4) {
          const r = this.resource(this.context(index, st, 0), st, oid, iid, rid);
          if (r?.kind !== 'multipleResource' || !r.instances.has(path.resourceInstanceId as number)) return fail(Code.NOT_FOUND);
        }
      }
    }
    const changes = parseAttributeQuery(query);
    const key = path.toString();
    const merged: ObserveAttributes = { ...(st?.attrs?.get(key) ?? {}) };
    for (const [name, v] of changes) {
      if (v === null) delete merged[name];
      else merged[name] = v;
    }
    const numeric = merged.gt !== undefined || merged.lt !== undefined || merged.st !== undefined;
    if (numeric && (path.depth < 3 || !rm || !NUMERIC_TYPES.has(rm.type))) return fail(Code.BAD_REQUEST);
    if (merged.st !== undefined && merged.st < 0) return fail(Code.BAD_REQUEST);
    if (merged.pmin !== undefined && merged.pmax !== undefined && merged.pmax < merged.pmin) return fail(Code.BAD_REQUEST);
    if (merged.gt !== undefined && merged.lt !== undefined && !(merged.lt + 2 * (merged.st ?? 0) < merged.gt)) return fail(Code.BAD_REQUEST);
    const empty = Object.keys(merged).length === 0;
    if (empty) {
      if (st?.attrs) {
        st.attrs.delete(key);
        if (st.attrs.size === 0) delete st.attrs;
        this.prune(index, st);
      }
    } else {
      const s = this.stateFor(index);
      const attrs = (s.attrs ??= new Map());
      if (!attrs.has(key) && attrs.size >= MAX_STATE_ENTRIES) return fail(Code.INTERNAL_SERVER_ERROR);
      attrs.set(key, merged);
    }
    return fail(Code.CHANGED);
  }

  // ------------------------------------------------------------------ write

  private decode(format: number | undefined, payload: Uint8Array, path: LwM2mPath): LwM2mNode {
    if (format === undefined) throw new RequestError(Code.BAD_REQUEST);
    const codec = this.formats.get(format);
    if (!codec) throw new RequestError(Code.UNSUPPORTED_CONTENT_FORMAT);
    if (!codec.supportsPath(path)) throw new RequestError(Code.BAD_REQUEST);
    try {
      return codec.decode(payload, path, this.models, { strict: true, maxPayloadBytes: 64 * 1024 });
    } catch {
      throw new RequestError(Code.BAD_REQUEST);
    }
  }

  private write(index: number, path: LwM2mPath, format: number | undefined, payload: Uint8Array, replace: boolean, now: number): DeviceResponse {
    if (path.depth < 2) return fail(Code.METHOD_NOT_ALLOWED);
    const st = this.states.get(index);
    const oid = path.objectId as number;
    const iid = path.objectInstanceId as number;
    if (!this.hasInstance(st, oid, iid)) return fail(Code.NOT_FOUND);
    const models = this.model(oid).resources;
    if (path.depth >= 3) {
      const rm = models.get(path.resourceId as number);
      if (!rm) return fail(Code.NOT_FOUND);
      if (!isWritable(rm)) return fail(Code.METHOD_NOT_ALLOWED);
      if (path.depth === 4 && !rm.multiple) return fail(Code.NOT_FOUND);
    }
    const node = this.decode(format, payload, path);
    // Collect the resources to write, checked before anything is applied (all or nothing).
    let resources: LwM2mResource[];
    if (path.depth === 2) {
      if (node.kind !== 'objectInstance' || node.id !== iid) return fail(Code.BAD_REQUEST);
      resources = [...node.resources.values()];
    } else if (path.depth === 3) {
      if ((node.kind !== 'singleResource' && node.kind !== 'multipleResource') || node.id !== path.resourceId) return fail(Code.BAD_REQUEST);
      resources = [node];
    } else {
      if (node.kind !== 'resourceInstance' || node.id !== path.resourceInstanceId) return fail(Code.BAD_REQUEST);
      const current = this.resource(this.context(index, st, now), st, oid, iid, path.resourceId as number);
      if (current?.kind !== 'multipleResource') return fail(Code.NOT_FOUND);
      const instances = new Map<number, LwM2mResourceInstance>(current.instances);
      instances.set(node.id, node);
      resources = [{ kind: 'multipleResource', id: current.id, type: current.type, instances } satisfies LwM2mMultipleResource];
    }
    for (const r of resources) {
      const rm = models.get(r.id);
      if (!rm) return fail(Code.BAD_REQUEST);
      if (!isWritable(rm)) return fail(Code.METHOD_NOT_ALLOWED);
      if (rm.multiple !== (r.kind === 'multipleResource')) return fail(Code.BAD_REQUEST);
      if (!this.validValue(oid, r)) return fail(Code.BAD_REQUEST);
    }
    const created = st?.created?.get(oid)?.get(iid);
    if (created) {
      const next = new Map(replace && path.depth === 2 ? [] : created.resources);
      for (const r of resources) next.set(r.id, r);
      (st?.created?.get(oid) as Map<number, LwM2mObjectInstance>).set(iid, { kind: 'objectInstance', id: iid, resources: next });
      return fail(Code.CHANGED);
    }
    const s = this.stateFor(index);
    if (replace && path.depth === 2) {
      // Replace: writable resources not in the payload go back to their generated defaults.
      const given = new Set(resources.map((r) => r.id));
      for (const [rid, rm] of models) if (isWritable(rm) && !given.has(rid)) this.clearValue(s, oid, iid, rid);
    }
    let effect: DeviceEffect | undefined;
    for (const r of resources) {
      const e = this.applyValue(s, oid, iid, r, now);
      if (e === 'overflow') {
        this.prune(index, s);
        return fail(Code.INTERNAL_SERVER_ERROR);
      }
      effect ??= e;
    }
    this.prune(index, s);
    return effect ? { code: Code.CHANGED, effect } : fail(Code.CHANGED);
  }

  /** Value checks beyond the data type (ranges a real client enforces). */
  private validValue(oid: number, r: LwM2mResource): boolean {
    if (r.kind !== 'singleResource') return true;
    const v = r.value;
    if (oid === 1) {
      if (r.id === 1) return typeof v === 'number' && v >= 1 && v <= 0xffffffff;
      if (r.id === 2 || r.id === 3 || r.id === 5) return typeof v === 'number' && v >= 0 && v <= 0xffffffff;
      if (r.id === 7) return typeof v === 'string' && /^[UTSNQ]{1,6}$/.test(v);
    }
    if (oid === 5 && r.id === 1) return typeof v === 'string' && (v === '' || (v.length <= 255 && FW_URI.test(v)));
    return true;
  }

  private clearValue(s: UeState, oid: number, iid: number, rid: number): void {
    if (oid === 3 && rid === 13) delete s.timeOffsetMs;
    else if (oid === 5 && (rid === 0 || rid === 1)) delete s.fw;
    else s.values?.delete(`${oid}/${iid}/${rid}`);
  }

  /** Store one written resource of a built-in instance; returns the engine effect it implies. */
  private applyValue(s: UeState, oid: number, iid: number, r: LwM2mResource, now: number): DeviceEffect | undefined | 'overflow' {
    if (oid === 3 && r.id === 13 && r.kind === 'singleResource' && r.value instanceof Date) {
      s.timeOffsetMs = r.value.getTime() - now;
      return undefined;
    }
    if (oid === 5 && r.kind === 'singleResource' && (r.id === 0 || r.id === 1)) {
      this.firmwareWrite(s, r, now);
      return undefined;
    }
    const values = (s.values ??= new Map());
    const key = `${oid}/${iid}/${r.id}`;
    if (!values.has(key) && values.size >= MAX_STATE_ENTRIES) return 'overflow';
    values.set(key, r);
    // A real client sends a Registration Update when its lifetime or binding is changed.
    return oid === 1 && (r.id === 1 || r.id === 7) ? 'registration-update' : undefined;
  }

  private firmwareWrite(s: UeState, r: LwM2mResource & { kind: 'singleResource' }, now: number): void {
    const empty = r.id === 0 ? !(r.value instanceof Uint8Array) || r.value.length === 0 : r.value === '';
    if (empty) {
      // Writing an empty Package / URI resets the state machine to Idle (LwM2M E.6).
      delete s.fw;
      return;
    }
    const firmware = s.fw?.firmware;
    if (r.id === 1) {
      const uri = r.value as string;
      s.fw = { phase: 'downloading', since: now, result: 0, uri, ...packageFromUri(uri), ...(firmware !== undefined ? { firmware } : {}) };
    } else {
      s.fw = { phase: 'downloaded', since: now, result: 0, uri: '', pkgName: 'package', pkgVersion: '', ...(firmware !== undefined ? { firmware } : {}) };
    }
  }

  // ------------------------------------------------------------------ execute

  private execute(index: number, path: LwM2mPath, now: number): DeviceResponse {
    const st = this.states.get(index);
    const oid = path.objectId as number;
    const iid = path.objectInstanceId as number;
    const rid = path.resourceId as number;
    if (!this.hasInstance(st, oid, iid)) return fail(Code.NOT_FOUND);
    const rm = this.model(oid).resources.get(rid);
    if (!rm || !this.resourceIds(st, oid, iid).includes(rid)) return fail(Code.NOT_FOUND);
    if (rm.operations !== 'E') return fail(Code.METHOD_NOT_ALLOWED);
    switch (`${oid}/${rid}`) {
      case '3/4':
        return { code: Code.CHANGED, effect: 'reboot' };
      case '3/5':
        this.reset(index);
        return { code: Code.CHANGED, effect: 'factory-reset' };
      case '1/8':
        return { code: Code.CHANGED, effect: 'registration-update' };
      case '5/2':
        return this.firmwareUpdate(index, st, now);
      case '5/10':
        return this.firmwareCancel(index, st, now);
      default:
        // /3/0/12 Reset Error Code: the error code is always [0] here.
        return fail(Code.CHANGED);
    }
  }

  private firmwareUpdate(index: number, st: UeState | undefined, now: number): DeviceResponse {
    const fw = st?.fw;
    // Update is only possible from Downloaded; anything else is refused like Leshan's demo client.
    if (!fw || fwView(fw, now).state !== 2) return fail(Code.METHOD_NOT_ALLOWED);
    const current = this.resource(this.context(index, st, now), st, 3, 0, 3);
    fw.phase = 'updating';
    fw.since = now;
    // Remember the running version: the derived view reports the new one once the update is done.
    if (current?.kind === 'singleResource' && typeof current.value === 'string') fw.firmware = current.value;
    // The module reboots into the new image.
    return { code: Code.CHANGED, effect: 'reboot' };
  }

  private firmwareCancel(index: number, st: UeState | undefined, now: number): DeviceResponse {
    const fw = st?.fw;
    const state = fwView(fw, now).state;
    if (!fw || (state !== 1 && state !== 2)) return fail(Code.METHOD_NOT_ALLOWED);
    fw.phase = 'idle';
    fw.since = now;
    fw.result = 10; // Update cancelled
    this.prune(index, st as UeState);
    return fail(Code.CHANGED);
  }

  // ------------------------------------------------------------------ create / delete

  private create(index: number, path: LwM2mPath, format: number | undefined, payload: Uint8Array): DeviceResponse {
    const oid = path.objectId as number;
    const model = this.model(oid);
    if (!CREATABLE_OBJECTS.has(oid) || !model.multiple) return fail(Code.METHOD_NOT_ALLOWED);
    const st = this.states.get(index);
    let instance: LwM2mObjectInstance;
    const isTlv = format === ContentFormat.TLV || format === ContentFormat.TLV_LEGACY;
    let bareTlv = false;
    if (isTlv) {
      try {
        const entries = parseTlv(payload);
        bareTlv = entries.length > 0 && entries[0]?.kind !== 0;
      } catch {
        return fail(Code.BAD_REQUEST);
      }
    }
    const taken = (iid: number): boolean => this.hasInstance(st, oid, iid);
    if (bareTlv) {
      // No instance id in the payload: the client picks the lowest free one and says so in Location-Path.
      let iid = 0;
      while (taken(iid)) iid++;
      const node = this.decode(format, payload, path.append(iid));
      if (node.kind !== 'objectInstance') return fail(Code.BAD_REQUEST);
      instance = node;
    } else {
      const node = this.decode(format, payload, path);
      if (node.kind !== 'object' || node.instances.size !== 1) return fail(Code.BAD_REQUEST);
      instance = node.instances.values().next().value as LwM2mObjectInstance;
      if (taken(instance.id)) return fail(Code.BAD_REQUEST);
    }
    for (const r of instance.resources.values()) {
      const rm = model.resources.get(r.id);
      if (!rm || rm.multiple !== (r.kind === 'multipleResource')) return fail(Code.BAD_REQUEST);
      if (!isWritable(rm)) return fail(Code.METHOD_NOT_ALLOWED);
    }
    for (const rm of model.resources.values()) {
      if (rm.mandatory && isWritable(rm) && !instance.resources.has(rm.id)) return fail(Code.BAD_REQUEST);
    }
    const s = this.stateFor(index);
    const created = (s.created ??= new Map());
    let objectInstances = created.get(oid);
    if (!objectInstances) created.set(oid, (objectInstances = new Map()));
    if (objectInstances.size >= MAX_CREATED_INSTANCES) {
      this.prune(index, s);
      return fail(Code.INTERNAL_SERVER_ERROR);
    }
    objectInstances.set(instance.id, instance);
    return { code: Code.CREATED, locationPath: [String(oid), String(instance.id)] };
  }

  private delete(index: number, path: LwM2mPath): DeviceResponse {
    if (path.depth !== 2) return fail(Code.METHOD_NOT_ALLOWED);
    const oid = path.objectId as number;
    const iid = path.objectInstanceId as number;
    const st = this.states.get(index);
    const objectInstances = st?.created?.get(oid);
    if (st && objectInstances?.has(iid)) {
      objectInstances.delete(iid);
      if (objectInstances.size === 0) st.created?.delete(oid);
      if (st.created?.size === 0) delete st.created;
      if (st.attrs) {
        const prefix = `/${oid}/${iid}`;
        for (const k of [...st.attrs.keys()]) if (k === prefix || k.startsWith(prefix + '/')) st.attrs.delete(k);
        if (st.attrs.size === 0) delete st.attrs;
      }
      this.prune(index, st);
      return fail(Code.DELETED);
    }
    // Built-in instances (Server, Device, ...) are part of the device: not deletable.
    return fail(this.isBuiltIn(oid, iid) ? Code.METHOD_NOT_ALLOWED : Code.NOT_FOUND);
  }

  // ------------------------------------------------------------------ state helpers

  private stateFor(index: number): UeState {
    let s = this.states.get(index);
    if (!s) {
      s = {};
      this.states.set(index, s);
    }
    return s;
  }

  /** Drop the UE's entry once it holds nothing (keeps idle UEs at zero bytes). */
  private prune(index: number, s: UeState): void {
    if (s.values?.size === 0) delete s.values;
    if (s.attrs?.size === 0) delete s.attrs;
    if (s.created?.size === 0) delete s.created;
    if (s.fw?.phase === 'idle' && s.fw.result === 0 && s.fw.firmware === undefined) delete s.fw;
    if (s.values === undefined && s.attrs === undefined && s.created === undefined && s.fw === undefined && s.timeOffsetMs === undefined) {
      this.states.delete(index);
    }
  }

  private resourceChangeMs(st: UeState | undefined, oid: number, iid: number, rid: number): number {
    if (!this.isBuiltIn(oid, iid)) return Infinity;
    if (oid === 3 && rid === 13) return (OBJECT_DEFS.get(3) as ObjectDef).resources.get(13)?.changeMs ?? Infinity;
    if (oid === 5 && FIRMWARE_DYNAMIC.has(rid)) {
      const phase = st?.fw?.phase;
      return phase === 'downloading' || phase === 'updating' ? 1000 : Infinity;
    }
    if (st?.values?.has(`${oid}/${iid}/${rid}`)) return Infinity;
    return (OBJECT_DEFS.get(oid) as ObjectDef).resources.get(rid)?.changeMs ?? Infinity;
  }

  private buildLinks(st: UeState | undefined): string {
    const parts = ['</>;rt="oma.lwm2m"'];
    for (const oid of EXPOSED_OBJECTS) for (const iid of this.instanceIds(st, oid)) parts.push(`</${oid}/${iid}>`);
    return parts.join(',');
  }
}
