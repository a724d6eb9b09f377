/**
 * Register / Update / Bootstrap-Request parameter parsing (spec §8.2.1, §8.3.1, §8.3.2;
 * R-REG-1, R-UPD-1, R-BS-1) and object-links payload parsing.
 *
 * Query input is the list of CoAP Uri-Query option values (`['ep=x', 'lt=300']`) or one
 * `a=b&c=d` string. Values are taken verbatim (CoAP options are not percent-encoded).
 */
import { RegistrationError, LinkFormatError } from './errors';
import { parseLinkFormat, type Link } from './link-format';
import { MAX_ID } from './path';

/** `/{object}` or `/{object}/{instance}` (optional trailing slash), decimal ids without leading zeros. */
const OBJECT_LINK_RE = /^\/(0|[1-9][0-9]{0,5})(?:\/(0|[1-9][0-9]{0,5}))?\/?$/;

export const DEFAULT_LIFETIME = 86400;
export const DEFAULT_LWM2M_VERSION = '1.0';
export const DEFAULT_BINDING = 'U';
export const SUPPORTED_LWM2M_VERSIONS = ['1.0', '1.1', '1.2'] as const;
export type Lwm2mVersion = (typeof SUPPORTED_LWM2M_VERSIONS)[number];
/** Binding modes accepted in `b=` (LwM2M 1.0 set; 1.1 devices send U / UQ / ... too). */
export const BINDINGS = ['U', 'UQ', 'S', 'SQ', 'US', 'UQS'] as const;
export type BindingMode = (typeof BINDINGS)[number];
/** Largest lifetime accepted (32-bit unsigned). */
export const MAX_LIFETIME = 0xffffffff;
export const MAX_ENDPOINT_LENGTH = 255;
const MAX_QUERY_PARAMS = 32;

export type QueryInput = readonly string[] | string;

/** Split a query into name → value (`undefined` for flags like `Q`). Duplicates → INVALID_QUERY. */
export function parseQuery(query: QueryInput): Map<string, string | undefined> {
  const parts = typeof query === 'string' ? (query.startsWith('?') ? query.slice(1) : query).split('&').filter((p) => p !== '') : query;
  if (parts.length > MAX_QUERY_PARAMS) throw new RegistrationError('INVALID_QUERY', `more than ${MAX_QUERY_PARAMS} query parameters`);
  const out = new Map<string, string | undefined>();
  for (const p of parts) {
    if (typeof p !== 'string' || p.length > 1024) throw new RegistrationError('INVALID_QUERY', 'query parameter too long or not a string');
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? undefined : p.slice(eq + 1);
    if (name === '') throw new RegistrationError('INVALID_QUERY', `empty parameter name in "${p}"`);
    if (out.has(name)) throw new RegistrationError('INVALID_QUERY', `duplicate parameter "${name}"`);
    out.set(name, value);
  }
  return out;
}

function parseLifetime(v: string | undefined): number {
  if (v === undefined || !/^[0-9]{1,10}$/.test(v)) throw new RegistrationError('INVALID_LIFETIME', `lt "${v ?? ''}" is not a positive integer`);
  const n = Number(v);
  if (n <= 0 || n > MAX_LIFETIME) throw new RegistrationError('INVALID_LIFETIME', `lt ${n} not in 1..${MAX_LIFETIME}`);
  return n;
}

function parseBinding(v: string | undefined): BindingMode {
  if (v === undefined || !(BINDINGS as readonly string[]).includes(v)) {
    throw new RegistrationError('INVALID_BINDING', `b "${v ?? ''}" is not one of ${BINDINGS.join(', ')}`);
  }
  return v as BindingMode;
}

function parseVersion(v: string | undefined): Lwm2mVersion {
  if (v === undefined || !(SUPPORTED_LWM2M_VERSIONS as readonly string[]).includes(v)) {
    throw new RegistrationError('INVALID_VERSION', `lwm2m "${v ?? ''}" is not one of ${SUPPORTED_LWM2M_VERSIONS.join(', ')}`);
  }
  return v as Lwm2mVersion;
}

function parseEndpoint(v: string | undefined, name = 'ep'): string {
  if (v === undefined || v === '') throw new RegistrationError('MISSING_ENDPOINT', `${name} is required`);
  if (v.length > MAX_ENDPOINT_LENGTH) throw new RegistrationError('INVALID_ENDPOINT', `${name} longer than ${MAX_ENDPOINT_LENGTH}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new RegistrationError('INVALID_ENDPOINT', `${name} contains control characters`);
  return v;
}

function parseSms(v: string | undefined): string {
  if (v === undefined || !/^\+?[0-9]{1,20}$/.test(v)) throw new RegistrationError('INVALID_QUERY', `sms "${v ?? ''}" is not an MSISDN`);
  return v;
}

function flag(q: Map<string, string | undefined>, name: string): boolean {
  if (!q.has(name)) return false;
  const v = q.get(name);
  if (v !== undefined && v !== '') throw new RegistrationError('INVALID_QUERY', `${name} takes no value`);
  return true;
}

export interface RegisterParams {
  endpoint: string;
  /** Seconds; default 86400. */
  lifetime: number;
  lwm2mVersion: Lwm2mVersion;
  binding: BindingMode;
  /** `Q` flag (LwM2M 1.1 queue mode) or a binding containing Q. */
  queueMode: boolean;
  sms: string | undefined;
  /** Parameters not interpreted here (e.g. vendor extensions). */
  extra: Record<string, string | undefined>;
}

const REGISTER_KNOWN = new Set(['ep', 'lt', 'lwm2m', 'b', 'sms', 'Q']);

/** Register `/rd?ep=&lt=&lwm2m=&b=` query (R-REG-1, defaults lt 86400, lwm2m 1.0, b U). */
export function parseRegisterQuery(query: QueryInput): RegisterParams {
  const q = parseQuery(query);
  const endpoint = parseEndpoint(q.get('ep'));
  const lifetime = q.has('lt') ? parseLifetime(q.get('lt')) : DEFAULT_LIFETIME;
  const lwm2mVersion = q.has('lwm2m') ? parseVersion(q.get('lwm2m')) : DEFAULT_LWM2M_VERSION;
  const binding = q.has('b') ? parseBinding(q.get('b')) : DEFAULT_BINDING;
  const sms = q.has('sms') ? parseSms(q.get('sms')) : undefined;
  const queueMode = flag(q, 'Q') || binding.includes('Q');
  const extra: Record<string, string | undefined> = Object.create(null) as Record<string, string | undefined>;
  for (const [k, v] of q) if (!REGISTER_KNOWN.has(k)) extra[k] = v;
  return { endpoint, lifetime, lwm2mVersion, binding, queueMode, sms, extra };
}

export interface UpdateParams {
  lifetime?: number;
  binding?: BindingMode;
  sms?: string;
  /** True when the `Q` flag is present. */
  queueMode?: boolean;
  /** Spec table 8-9 lists `lwm2m` as optional in Update too. */
  lwm2mVersion?: Lwm2mVersion;
  /**
   * China Mobile DM `epi=` query: the device's "update name", built like its Register
   * endpoint name (epn-formats.md, Form A). Not the spec's EPI despite the name: the
   * caller derives the EPI from it and compares it with the registration's.
   */
  updateName?: string;
}

const UPDATE_KNOWN = new Set(['lt', 'b', 'sms', 'Q', 'lwm2m', 'epi']);

/** Update `/rd/{location}?lt=&b=&sms=&Q&epi=` query (all optional, R-UPD-1; `epi` is China Mobile DM's update name). */
export function parseUpdateQuery(query: QueryInput): UpdateParams {
  const q = parseQuery(query);
  const out: UpdateParams = {};
  for (const k of q.keys()) {
    if (!UPDATE_KNOWN.has(k)) throw new RegistrationError('INVALID_QUERY', `unexpected Update parameter "${k}"`);
  }
  if (q.has('epi')) out.updateName = parseEndpoint(q.get('epi'), 'epi');
  if (q.has('lt')) out.lifetime = parseLifetime(q.get('lt'));
  if (q.has('b')) out.binding = parseBinding(q.get('b'));
  if (q.has('sms')) out.sms = parseSms(q.get('sms'));
  if (q.has('lwm2m')) out.lwm2mVersion = parseVersion(q.get('lwm2m'));
  if (flag(q, 'Q')) out.queueMode = true;
  return out;
}

export interface BootstrapRequestParams {
  endpoint: string;
  /** Preferred content format (LwM2M 1.1 `pct`). */
  preferredContentFormat: number | undefined;
}

/** Bootstrap-Request `/bs?ep=` (+ `pct` for 1.1) query (R-BS-1). */
export function parseBootstrapQuery(query: QueryInput): BootstrapRequestParams {
  const q = parseQuery(query);
  for (const k of q.keys()) {
    if (k !== 'ep' && k !== 'pct') throw new RegistrationError('INVALID_QUERY', `unexpected Bootstrap-Request parameter "${k}"`);
  }
  const endpoint = parseEndpoint(q.get('ep'));
  let preferredContentFormat: number | undefined;
  if (q.has('pct')) {
    const v = q.get('pct');
    if (v === undefined || !/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new RegistrationError('INVALID_PCT', `pct "${v ?? ''}" is not a content format`);
    preferredContentFormat = Number(v);
  }
  return { endpoint, preferredContentFormat };
}

export interface SupportedObject {
  id: number;
  /** `ver` attribute, or undefined (= the object's default version, 1.0). */
  version: string | undefined;
  /** Instance ids announced (`</3/0>`), ascending. */
  instances: number[];
}

export interface ObjectLinks {
  /** Root path: "/" or the alternate path from `</path>;rt="oma.lwm2m"`. */
  rootPath: string;
  /** Content formats the client supports (`ct` on the root link, LwM2M 1.1). */
  contentFormats: number[] | undefined;
  objects: Map<number, SupportedObject>;
  /** All links, as parsed. */
  links: Link[];
}

/**
 * Parse the Register / Update payload: `</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>,</5>;ver=1.1`.
 * Links under the root path must be `/{object}` or `/{object}/{instance}` with ids in
 * 0..65535; other links (outside the root) are kept in `links` only.
 */
export function parseObjectLinks(payload: string | Uint8Array): ObjectLinks {
  let links: Link[];
  try {
    links = parseLinkFormat(payload);
  } catch (e) {
    if (e instanceof LinkFormatError) throw new RegistrationError('INVALID_LINKS', e.message);
    throw e;
  }
  let rootPath = '/';
  let contentFormats: number[] | undefined;
  for (const l of links) {
    if (l.attributes['rt'] === 'oma.lwm2m') {
      const u = l.uri.length > 1 && l.uri.endsWith('/') ? l.uri.slice(0, -1) : l.uri;
      if (!u.startsWith('/')) throw new RegistrationError('INVALID_LINKS', `alternate path "${l.uri}" must start with "/"`);
      rootPath = u;
      const ct = l.attributes['ct'];
      if (typeof ct === 'string') {
        const cts = ct.replace(/^"|"$/g, '').split(/\s+/);
        if (!cts.every((c) => /^[0-9]{1,5}$/.test(c) && Number(c) <= 65535)) throw new RegistrationError('INVALID_LINKS', `bad ct "${ct}"`);
        contentFormats = cts.map(Number);
      }
      break;
    }
  }
  const prefix = rootPath === '/' ? '' : rootPath;
  const objects = new Map<number, SupportedObject>();
  for (const l of links) {
    if (l.attributes['rt'] === 'oma.lwm2m') continue;
    if (prefix !== '' && !(l.uri === prefix || l.uri.startsWith(prefix + '/'))) continue;
    const rel = l.uri.slice(prefix.length);
    if (rel === '' || rel === '/') continue;
    const m = OBJECT_LINK_RE.exec(rel);
    if (!m) {
      throw new RegistrationError('INVALID_LINKS', `"${l.uri}" is not an LwM2M object or object instance path`);
    }
    const oid = Number(m[1]);
    const iid = m[2] === undefined ? undefined : Number(m[2]);
    if (oid > MAX_ID || (iid !== undefined && iid > MAX_ID)) throw new RegistrationError('INVALID_LINKS', `"${l.uri}": id out of 0..${MAX_ID}`);
    let o = objects.get(oid);
    if (!o) {
      o = { id: oid, version: undefined, instances: [] };
      objects.set(oid, o);
    }
    const ver = l.attributes['ver'];
    if (typeof ver === 'string') {
      if (!/^[0-9]{1,3}\.[0-9]{1,3}$/.test(ver)) throw new RegistrationError('INVALID_LINKS', `bad ver "${ver}" on ${l.uri}`);
      o.version = ver;
    }
    if (iid !== undefined && !o.instances.includes(iid)) o.instances.push(iid);
  }
  for (const o of objects.values()) {
    const is = o.instances;
    for (let k = 1; k < is.length; k++) {
      if ((is[k - 1] as number) > (is[k] as number)) {
        is.sort((a, b) => a - b);
        break;
      }
    }
  }
  return { rootPath, contentFormats, objects, links };
}
