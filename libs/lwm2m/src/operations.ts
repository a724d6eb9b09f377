/**
 * Transport-neutral LwM2M request builders (spec §8.2, §8.4, §8.5; R-DM-1, R-OBS-1,
 * R-BS-2/3). Each builder validates against the object model first and throws
 * {@link OperationError} before building anything invalid (write to a read-only
 * resource, execute on a non-executable one, ...). The CoAP layer turns the returned
 * {@link Lwm2mRequest} into a message.
 *
 * Content-format negotiation ({@link preferredContentFormat}): LwM2M 1.0 → TLV 11542;
 * 1.1+ → SenML CBOR 112 when a codec for it is registered, else TLV. Callers may pass
 * `format` explicitly (e.g. the device's `pct` / `ct`).
 */
import { ContentFormat, type ContentFormatRegistry } from './content-format';
import { Lwm2mCodecError, OperationError } from './errors';
import { isExecutable, isReadable, isWritable, type ModelProvider, type ResourceModel } from './model/types';
import type { LwM2mNode, LwM2mObjectInstance, LwM2mResource } from './node';
import { LwM2mPath } from './path';

export type CoapMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export type OperationKind =
  | 'read'
  | 'discover'
  | 'write-replace'
  | 'write-update'
  | 'write-attributes'
  | 'execute'
  | 'create'
  | 'delete'
  | 'observe'
  | 'cancel-observe'
  | 'bootstrap-write'
  | 'bootstrap-delete'
  | 'bootstrap-discover'
  | 'bootstrap-finish';

export interface Lwm2mRequest {
  readonly operation: OperationKind;
  readonly method: CoapMethod;
  /** Uri-Path option values (alternate root path segments included). */
  readonly uriPath: string[];
  readonly uriQuery: string[];
  readonly contentFormat?: number;
  readonly accept?: number;
  /** Observe option: 0 register, 1 deregister. */
  readonly observe?: 0 | 1;
  readonly payload?: Uint8Array;
  /** The LwM2M path targeted (root for bootstrap finish). */
  readonly path: LwM2mPath;
}

export interface OperationContext {
  models: ModelProvider;
  formats: ContentFormatRegistry;
  /** Device's LwM2M version (from Register). Default '1.0'. */
  lwm2mVersion?: string;
  /** Alternate root path segments from `</path>;rt="oma.lwm2m"` (default none). */
  rootPath?: readonly string[];
  /** Reject objects / resources unknown to the model (default false: allow, unchecked). */
  strict?: boolean;
}

/** Preferred payload format for a device version (see module doc). */
export function preferredContentFormat(ctx: Pick<OperationContext, 'formats' | 'lwm2mVersion'>): number {
  const v = ctx.lwm2mVersion ?? '1.0';
  if (v !== '1.0' && ctx.formats.has(ContentFormat.SENML_CBOR)) return ContentFormat.SENML_CBOR;
  return ContentFormat.TLV;
}

function toPath(p: LwM2mPath | string): LwM2mPath {
  if (p instanceof LwM2mPath) return p;
  try {
    return LwM2mPath.parse(p);
  } catch (e) {
    throw new OperationError('INVALID_PATH', (e as Error).message);
  }
}

function uri(ctx: OperationContext, path: LwM2mPath): string[] {
  return [...(ctx.rootPath ?? []).filter((s) => s !== ''), ...path.toSegments()];
}

function requireDepth(path: LwM2mPath, min: number, max: number, op: string): void {
  if (path.depth < min || path.depth > max) throw new OperationError('INVALID_PATH', `${op} not allowed on ${path.toString()}`);
}

/** Resource model at a resource(-instance) path; undefined when unknown and not strict. */
function resourceAt(ctx: OperationContext, objectId: number, resourceId: number): ResourceModel | undefined {
  const om = ctx.models.getObjectModel(objectId);
  if (om === undefined) {
    if (ctx.strict) throw new OperationError('UNKNOWN_OBJECT', `object ${objectId} not in model`);
    return undefined;
  }
  const rm = om.resources.get(resourceId);
  if (rm === undefined) {
    // the object is known, so an unknown resource is always an error
    throw new OperationError('UNKNOWN_RESOURCE', `resource /${objectId}/x/${resourceId} not in model of object ${objectId}`);
  }
  return rm;
}

function checkObjectKnown(ctx: OperationContext, path: LwM2mPath): void {
  if (path.depth >= 1 && ctx.strict && ctx.models.getObjectModel(path.objectId as number) === undefined) {
    throw new OperationError('UNKNOWN_OBJECT', `object ${path.objectId} not in model`);
  }
}

function checkFormat(ctx: OperationContext, format: number): void {
  if (!ctx.formats.has(format)) throw new OperationError('UNSUPPORTED_FORMAT', `no codec registered for content format ${format}`);
}

function encode(ctx: OperationContext, format: number, node: LwM2mNode, path: LwM2mPath, wrap = false): Uint8Array {
  checkFormat(ctx, format);
  try {
    return ctx.formats.encode(format, node, path, ctx.models, { strict: ctx.strict, wrapObjectInstance: wrap });
  } catch (e) {
    if (e instanceof Lwm2mCodecError) throw new OperationError('INVALID_NODE', e.message);
    throw e;
  }
}

export interface ReadOptions {
  /** Accept option; default {@link preferredContentFormat}. Pass `null` to send no Accept option. */
  format?: number | null;
}

function acceptFor(ctx: OperationContext, opts: ReadOptions | undefined): number | undefined {
  if (opts?.format === null) return undefined;
  const f = opts?.format ?? preferredContentFormat(ctx);
  checkFormat(ctx, f);
  return f;
}

function checkReadable(ctx: OperationContext, path: LwM2mPath, op: string): void {
  checkObjectKnown(ctx, path);
  if (path.depth >= 3) {
    const rm = resourceAt(ctx, path.objectId as number, path.resourceId as number);
    if (rm && !isReadable(rm)) throw new OperationError('NOT_READABLE', `${op}: ${path.toString()} (${rm.name}) is ${rm.operations}, not readable`);
    if (rm && path.depth === 4 && !rm.multiple) throw new OperationError('INVALID_PATH', `${path.toString()}: ${rm.name} is a single resource`);
  }
}

/** Read: GET /o[/i[/r[/ri]]] with Accept (spec table 8-16). */
export function readRequest(ctx: OperationContext, target: LwM2mPath | string, opts?: ReadOptions): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 1, 4, 'Read');
  checkReadable(ctx, path, 'Read');
  const accept = acceptFor(ctx, opts);
  return { operation: 'read', method: 'GET', uriPath: uri(ctx, path), uriQuery: [], path, ...(accept !== undefined ? { accept } : {}) };
}

/** Observe: GET with Observe 0 and Accept (spec table 8-12). */
export function observeRequest(ctx: OperationContext, target: LwM2mPath | string, opts?: ReadOptions): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 1, 4, 'Observe');
  checkReadable(ctx, path, 'Observe');
  const accept = acceptFor(ctx, opts);
  return { operation: 'observe', method: 'GET', uriPath: uri(ctx, path), uriQuery: [], observe: 0, path, ...(accept !== undefined ? { accept } : {}) };
}

/** Cancel observe: GET with Observe 1 (spec table 8-14). */
export function cancelObserveRequest(ctx: OperationContext, target: LwM2mPath | string, opts?: ReadOptions): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 1, 4, 'Cancel observe');
  const accept = acceptFor(ctx, opts);
  return { operation: 'cancel-observe', method: 'GET', uriPath: uri(ctx, path), uriQuery: [], observe: 1, path, ...(accept !== undefined ? { accept } : {}) };
}

/** Discover: GET with Accept 40 (link-format). */
export function discoverRequest(ctx: OperationContext, target: LwM2mPath | string): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 1, 3, 'Discover');
  checkObjectKnown(ctx, path);
  if (path.depth === 3) resourceAt(ctx, path.objectId as number, path.resourceId as number);
  return { operation: 'discover', method: 'GET', uriPath: uri(ctx, path), uriQuery: [], accept: ContentFormat.LINK_FORMAT, path };
}

export interface WriteOptions {
  /** 'replace' → PUT (default), 'update' → POST partial update. */
  mode?: 'replace' | 'update';
  /** Content format; default {@link preferredContentFormat} (text/plain is never chosen implicitly). */
  format?: number;
}

function resourcesOf(node: LwM2mNode): LwM2mResource[] {
  switch (node.kind) {
    case 'objectInstance':
      return [...node.resources.values()];
    case 'singleResource':
    case 'multipleResource':
      return [node];
    default:
      return [];
  }
}

function checkWritable(ctx: OperationContext, objectId: number, resources: Iterable<LwM2mResource>, op: string): void {
  for (const r of resources) {
    const rm = resourceAt(ctx, objectId, r.id);
    if (!rm) continue;
    if (!isWritable(rm)) throw new OperationError('NOT_WRITABLE', `${op}: resource ${objectId}/x/${r.id} (${rm.name}) is ${rm.operations}, not writable`);
    if (rm.type !== 'NONE' && rm.type !== r.type) throw new OperationError('INVALID_NODE', `${op}: resource ${objectId}/x/${r.id} is ${rm.type}, node has ${r.type}`);
    if (r.kind === 'multipleResource' && !rm.multiple) throw new OperationError('INVALID_NODE', `${op}: resource ${objectId}/x/${r.id} is single`);
    if (r.kind === 'singleResource' && rm.multiple) throw new OperationError('INVALID_NODE', `${op}: resource ${objectId}/x/${r.id} is multiple`);
  }
}

/**
 * Write: PUT (replace) or POST (partial update) /o/i[/r[/ri]] with Content-Format (spec
 * table 8-17). Node kind must match the path (object instance at /o/i, resource at
 * /o/i/r, resource instance at /o/i/r/ri); every resource must be writable.
 */
export function writeRequest(ctx: OperationContext, target: LwM2mPath | string, node: LwM2mNode, opts?: WriteOptions): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 2, 4, 'Write');
  checkObjectKnown(ctx, path);
  const expected = path.depth === 2 ? ['objectInstance'] : path.depth === 3 ? ['singleResource', 'multipleResource'] : ['resourceInstance'];
  if (!expected.includes(node.kind)) throw new OperationError('INVALID_NODE', `Write ${path.toString()} needs a ${expected.join(' or ')}, got ${node.kind}`);
  const objectId = path.objectId as number;
  if (path.depth === 4) {
    const rm = resourceAt(ctx, objectId, path.resourceId as number);
    if (rm && !isWritable(rm)) throw new OperationError('NOT_WRITABLE', `Write: ${path.toString()} (${rm.name}) is ${rm.operations}, not writable`);
    if (rm && !rm.multiple) throw new OperationError('INVALID_PATH', `${path.toString()}: ${rm.name} is a single resource`);
  } else {
    checkWritable(ctx, objectId, resourcesOf(node), 'Write');
  }
  const format = opts?.format ?? preferredContentFormat(ctx);
  const payload = encode(ctx, format, node, path);
  const mode = opts?.mode ?? 'replace';
  return {
    operation: mode === 'replace' ? 'write-replace' : 'write-update',
    method: mode === 'replace' ? 'PUT' : 'POST',
    uriPath: uri(ctx, path),
    uriQuery: [],
    contentFormat: format,
    payload,
    path,
  };
}

export interface ExecuteArgument {
  /** Argument id 0..9. */
  id: number;
  /** Optional value (printable ASCII except `'`). */
  value?: string;
}

/** Execute: POST /o/i/r with optional arguments (`0='v',1`). Resource must be E. */
export function executeRequest(ctx: OperationContext, target: LwM2mPath | string, args?: string | readonly ExecuteArgument[]): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 3, 3, 'Execute');
  checkObjectKnown(ctx, path);
  const rm = resourceAt(ctx, path.objectId as number, path.resourceId as number);
  if (rm && !isExecutable(rm)) throw new OperationError('NOT_EXECUTABLE', `Execute: ${path.toString()} (${rm.name}) is ${rm.operations}, not executable`);
  let text: string | undefined;
  if (typeof args === 'string') text = args === '' ? undefined : args;
  else if (args && args.length > 0) {
    text = args
      .map((a) => {
        if (!Number.isInteger(a.id) || a.id < 0 || a.id > 9) throw new OperationError('INVALID_ARGUMENTS', `argument id ${a.id} not in 0..9`);
        if (a.value === undefined) return String(a.id);
        if (!/^[\x20-\x26\x28-\x7e]*$/.test(a.value)) throw new OperationError('INVALID_ARGUMENTS', `argument ${a.id} value has invalid characters`);
        return `${a.id}='${a.value}'`;
      })
      .join(',');
  }
  if (text !== undefined && text.length > 4096) throw new OperationError('INVALID_ARGUMENTS', 'arguments longer than 4096 characters');
  const v11 = (ctx.lwm2mVersion ?? '1.0') !== '1.0';
  return {
    operation: 'execute',
    method: 'POST',
    uriPath: uri(ctx, path),
    uriQuery: [],
    path,
    ...(text !== undefined ? { payload: new TextEncoder().encode(text), ...(v11 ? { contentFormat: ContentFormat.TEXT } : {}) } : {}),
  };
}

export interface CreateOptions {
  /** Instance id to create; omitted → the client chooses (bare resources in TLV). */
  instanceId?: number;
  format?: number;
}

/** Create: POST /o with the new instance's resources (spec §8.5.5). */
export function createRequest(ctx: OperationContext, objectId: number, resources: readonly LwM2mResource[], opts?: CreateOptions): Lwm2mRequest {
  const path = toPath(LwM2mPath.of(objectId));
  checkObjectKnown(ctx, path);
  for (const r of resources) {
    const rm = resourceAt(ctx, objectId, r.id);
    if (rm && rm.type !== 'NONE' && rm.type !== r.type) throw new OperationError('INVALID_NODE', `Create: resource ${objectId}/x/${r.id} is ${rm.type}, node has ${r.type}`);
    if (rm && isExecutable(rm)) throw new OperationError('NOT_WRITABLE', `Create: resource ${objectId}/x/${r.id} is executable`);
  }
  const format = opts?.format ?? preferredContentFormat(ctx);
  const inst: LwM2mObjectInstance = { kind: 'objectInstance', id: opts?.instanceId ?? 0, resources: new Map(resources.map((r) => [r.id, r])) };
  if (opts?.instanceId !== undefined && (!Number.isInteger(opts.instanceId) || opts.instanceId < 0 || opts.instanceId > 65535)) {
    throw new OperationError('INVALID_PATH', `instance id ${opts.instanceId} not in 0..65535`);
  }
  let payload: Uint8Array;
  if (format === ContentFormat.TLV || format === ContentFormat.TLV_LEGACY) {
    // With an instance id: the instance at the object path (wrapped in an Object Instance TLV).
    // Without: the bare resources (encoded as at /o/0; TLV does not transmit the id then).
    payload = opts?.instanceId !== undefined ? encode(ctx, format, inst, path) : encode(ctx, format, inst, path.append(0));
  } else {
    // Record formats (SenML, LwM2M JSON/CBOR) name every value by its full path, so the
    // instance id must be known: encode the instance at /o/i.
    if (opts?.instanceId === undefined) {
      throw new OperationError('UNSUPPORTED_FORMAT', `Create without an instance id needs TLV; give an instance id to use format ${format}`);
    }
    payload = encode(ctx, format, inst, path.append(opts.instanceId));
  }
  return { operation: 'create', method: 'POST', uriPath: uri(ctx, path), uriQuery: [], contentFormat: format, payload, path };
}

/** Delete: DELETE /o/i (spec §8.5.6). */
export function deleteRequest(ctx: OperationContext, target: LwM2mPath | string): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 2, 2, 'Delete');
  checkObjectKnown(ctx, path);
  return { operation: 'delete', method: 'DELETE', uriPath: uri(ctx, path), uriQuery: [], path };
}

/** Notification attributes (spec table 8-11). `null` unsets an attribute (sent as a bare name). */
export interface NotificationAttributes {
  pmin?: number | null;
  pmax?: number | null;
  gt?: number | null;
  lt?: number | null;
  st?: number | null;
}

export interface WriteAttributesOptions {
  /** Query name for the step attribute: 'st' (LwM2M 1.0/1.1, default) or 'stp' (spec table 8-11 spelling). */
  stepName?: 'st' | 'stp';
}

const NUMERIC_TYPES = new Set(['INTEGER', 'UNSIGNED_INTEGER', 'FLOAT']);

function fmtNum(n: number): string {
  return Object.is(n, -0) ? '0' : String(n);
}

/** Write-Attributes: PUT /o[/i[/r]]?pmin=&pmax=&gt=&lt=&st= (spec table 8-11). */
export function writeAttributesRequest(
  ctx: OperationContext,
  target: LwM2mPath | string,
  attrs: NotificationAttributes,
  opts?: WriteAttributesOptions,
): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 1, 4, 'Write-Attributes');
  checkObjectKnown(ctx, path);
  const names = Object.keys(attrs).filter((k) => (attrs as Record<string, unknown>)[k] !== undefined);
  if (names.length === 0) throw new OperationError('INVALID_ATTRIBUTES', 'no attribute given');
  for (const k of names) if (!['pmin', 'pmax', 'gt', 'lt', 'st'].includes(k)) throw new OperationError('INVALID_ATTRIBUTES', `unknown attribute "${k}"`);
  for (const k of ['pmin', 'pmax'] as const) {
    const v = attrs[k];
    if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 0 || v > 0xffffffff)) throw new OperationError('INVALID_ATTRIBUTES', `${k} must be a non-negative integer`);
  }
  for (const k of ['gt', 'lt', 'st'] as const) {
    const v = attrs[k];
    if (v !== undefined && v !== null && !Number.isFinite(v)) throw new OperationError('INVALID_ATTRIBUTES', `${k} must be a finite number`);
  }
  if (typeof attrs.st === 'number' && attrs.st < 0) throw new OperationError('INVALID_ATTRIBUTES', 'st must be >= 0');
  if (typeof attrs.pmin === 'number' && typeof attrs.pmax === 'number' && attrs.pmax < attrs.pmin) {
    throw new OperationError('INVALID_ATTRIBUTES', 'pmax must be >= pmin');
  }
  if (typeof attrs.gt === 'number' && typeof attrs.lt === 'number') {
    const step = typeof attrs.st === 'number' ? attrs.st : 0;
    if (!(attrs.lt + 2 * step < attrs.gt)) throw new OperationError('INVALID_ATTRIBUTES', 'need lt + 2*st < gt');
  }
  const numeric = names.some((k) => k === 'gt' || k === 'lt' || k === 'st');
  if (numeric) {
    if (path.depth < 3) throw new OperationError('INVALID_ATTRIBUTES', 'gt / lt / st only apply to resources');
    const rm = resourceAt(ctx, path.objectId as number, path.resourceId as number);
    if (rm && !NUMERIC_TYPES.has(rm.type)) throw new OperationError('INVALID_ATTRIBUTES', `gt / lt / st need a numeric resource, ${rm.name} is ${rm.type}`);
  } else if (path.depth >= 3) {
    resourceAt(ctx, path.objectId as number, path.resourceId as number);
  }
  const uriQuery: string[] = [];
  for (const k of ['pmin', 'pmax', 'gt', 'lt', 'st'] as const) {
    const v = attrs[k];
    if (v === undefined) continue;
    const name = k === 'st' ? (opts?.stepName ?? 'st') : k;
    uriQuery.push(v === null ? name : `${name}=${fmtNum(v)}`);
  }
  return { operation: 'write-attributes', method: 'PUT', uriPath: uri(ctx, path), uriQuery, path };
}

// ---------------------------------------------------------------------------------------
// bootstrap (server → client), spec §8.2.2 / §8.2.3

/** Bootstrap-Write: PUT /o[/i[/r]] (no writability check: bootstrap may write anything). */
export function bootstrapWriteRequest(ctx: OperationContext, target: LwM2mPath | string, node: LwM2mNode, opts?: { format?: number }): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 1, 3, 'Bootstrap-Write');
  const ok =
    (path.depth === 1 && (node.kind === 'object' || node.kind === 'objectInstance')) ||
    (path.depth === 2 && node.kind === 'objectInstance') ||
    (path.depth === 3 && (node.kind === 'singleResource' || node.kind === 'multipleResource'));
  if (!ok) throw new OperationError('INVALID_NODE', `Bootstrap-Write ${path.toString()} cannot carry a ${node.kind}`);
  const format = opts?.format ?? ContentFormat.TLV;
  const payload = encode(ctx, format, node, path);
  return { operation: 'bootstrap-write', method: 'PUT', uriPath: path.toSegments(), uriQuery: [], contentFormat: format, payload, path };
}

/** Bootstrap-Delete: DELETE / or /o or /o/i. */
export function bootstrapDeleteRequest(target: LwM2mPath | string = LwM2mPath.ROOT): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 0, 2, 'Bootstrap-Delete');
  return { operation: 'bootstrap-delete', method: 'DELETE', uriPath: path.toSegments(), uriQuery: [], path };
}

/** Bootstrap-Discover: GET / or /o with Accept 40 (LwM2M 1.0 §5.2.7.1). */
export function bootstrapDiscoverRequest(target: LwM2mPath | string = LwM2mPath.ROOT): Lwm2mRequest {
  const path = toPath(target);
  requireDepth(path, 0, 1, 'Bootstrap-Discover');
  return { operation: 'bootstrap-discover', method: 'GET', uriPath: path.toSegments(), uriQuery: [], accept: ContentFormat.LINK_FORMAT, path };
}

/** Bootstrap-Finish: POST /bs (spec table 8-7). */
export function bootstrapFinishRequest(): Lwm2mRequest {
  return { operation: 'bootstrap-finish', method: 'POST', uriPath: ['bs'], uriQuery: [], path: LwM2mPath.ROOT };
}
