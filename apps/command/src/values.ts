// JSON values of the HTTP API ↔ LwM2M nodes, typed by the object model.
import {
  type CommandResult,
} from '@dmp/contracts';
import {
  type LwM2mNode,
  type LwM2mPath,
  type LwM2mResource,
  type ModelProvider,
  newMultipleResource,
  newObjectInstance,
  newResourceInstance,
  newSingleResource,
  type ResourceModel,
  type ValueType,
  type ValueTypeMap,
} from '@dmp/lwm2m';

/** A value the API refuses (400), with the reason. */
export class ValueError extends Error {}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** One JSON value → the model type's run-time value (throws ValueError). */
export function jsonToValue(type: ValueType, v: unknown, where: string): ValueTypeMap[ValueType] {
  const bad = (want: string): never => {
    throw new ValueError(`${where}: expected ${want} for ${type}, got ${JSON.stringify(v)}`);
  };
  switch (type) {
    case 'STRING':
    case 'CORELNK':
      return typeof v === 'string' ? v : bad('a string');
    case 'INTEGER':
    case 'UNSIGNED_INTEGER': {
      if (typeof v === 'number' && Number.isSafeInteger(v)) {
        if (type === 'UNSIGNED_INTEGER' && v < 0) bad('a non-negative integer');
        return v;
      }
      if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) {
        const b = BigInt(v);
        if (type === 'INTEGER' ? b < -(2n ** 63n) || b >= 2n ** 63n : b < 0n || b >= 2n ** 64n) bad('an integer in range');
        return b;
      }
      return bad('an integer');
    }
    case 'FLOAT':
      return typeof v === 'number' && Number.isFinite(v) ? v : bad('a number');
    case 'BOOLEAN':
      return typeof v === 'boolean' ? v : bad('true or false');
    case 'OPAQUE':
      return typeof v === 'string' && BASE64.test(v) ? new Uint8Array(Buffer.from(v, 'base64')) : bad('base64');
    case 'TIME': {
      if (typeof v === 'number' && Number.isFinite(v)) return new Date(Math.floor(v) * 1000);
      if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(Date.parse(v));
      return bad('epoch seconds or an ISO date');
    }
    case 'OBJLNK': {
      const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;
      if (typeof v === 'object' && v !== null) {
        const o = v as { objectId?: unknown; instanceId?: unknown };
        if (ok(o.objectId) && ok(o.instanceId)) return { objectId: o.objectId as number, instanceId: o.instanceId as number };
      }
      if (typeof v === 'string' && /^\d{1,5}:\d{1,5}$/.test(v)) {
        const [a, b] = v.split(':').map(Number) as [number, number];
        if (ok(a) && ok(b)) return { objectId: a, instanceId: b };
      }
      return bad('{objectId, instanceId}');
    }
  }
}

function modelOf(models: ModelProvider, objectId: number, resourceId: number): ResourceModel {
  const om = models.getObjectModel(objectId);
  if (!om) throw new ValueError(`object ${objectId} has no model: values cannot be typed`);
  const rm = om.resources.get(resourceId);
  if (!rm) throw new ValueError(`resource ${resourceId} is not in the model of object ${objectId} (${om.name})`);
  return rm;
}

function valueType(rm: ResourceModel, where: string): ValueType {
  if (rm.type === 'NONE') throw new ValueError(`${where}: ${rm.name} carries no value`);
  return rm.type;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function idOf(k: string, where: string): number {
  if (!/^\d{1,5}$/.test(k) || Number(k) > 65535) throw new ValueError(`${where}: "${k}" is not an id`);
  return Number(k);
}

/** A resource (single, or multiple from `{instanceId: value}`) from JSON. */
export function resourceFromJson(models: ModelProvider, objectId: number, resourceId: number, v: unknown): LwM2mResource {
  const rm = modelOf(models, objectId, resourceId);
  const where = `/${objectId}/x/${resourceId} (${rm.name})`;
  const type = valueType(rm, where);
  try {
    if (rm.multiple) {
      if (!isMap(v)) throw new ValueError(`${where}: a multiple resource takes {instanceId: value}`);
      return newMultipleResource(
        resourceId,
        type,
        Object.entries(v).map(([k, x]) => [idOf(k, where), jsonToValue(type, x, `${where}/${k}`)] as const),
      );
    }
    return newSingleResource(resourceId, type, jsonToValue(type, v, where));
  } catch (e) {
    if (e instanceof ValueError) throw e;
    throw new ValueError(`${where}: ${(e as Error).message}`);
  }
}

/** Resources of an object instance from `{resourceId: value}`. */
export function resourcesFromJson(models: ModelProvider, objectId: number, v: unknown): LwM2mResource[] {
  if (!isMap(v)) throw new ValueError(`/${objectId}: expected {resourceId: value}`);
  return Object.entries(v).map(([k, x]) => resourceFromJson(models, objectId, idOf(k, `/${objectId}`), x));
}

/** The node a Write carries at `path` (/o/i → instance, /o/i/r → resource, /o/i/r/ri → instance of it). */
export function nodeFromJson(models: ModelProvider, path: LwM2mPath, v: unknown): LwM2mNode {
  const o = path.objectId as number;
  if (path.depth === 2) return newObjectInstance(path.objectInstanceId as number, resourcesFromJson(models, o, v));
  if (path.depth === 3) return resourceFromJson(models, o, path.resourceId as number, v);
  if (path.depth === 4) {
    const rm = modelOf(models, o, path.resourceId as number);
    const where = `${path.toString()} (${rm.name})`;
    return newResourceInstance(path.resourceInstanceId as number, valueType(rm, where), jsonToValue(valueType(rm, where), v, where));
  }
  throw new ValueError(`a value cannot be written at ${path.toString()}`);
}

type Json = string | number | boolean | null | { [k: string]: Json };

/** A CommandResult value (contracts' JSON form) → the API form (objlnk as an object). */
function apiValue(v: NonNullable<CommandResult['values']>[number]): Json {
  if (v.type === 'objlnk' && typeof v.value === 'string') {
    const [a, b] = v.value.split(':').map(Number);
    return { objectId: a ?? 0, instanceId: b ?? 0 };
  }
  return v.value;
}

/**
 * `content` of a successful result: the value at a resource(-instance) path, else nested maps
 * by id below the target (instance → {resourceId: value | {riid: value}}, object → {iid: …}).
 * Payloads without decoded values: link-format / text as text, anything else base64.
 */
export function contentOf(target: LwM2mPath, r: Pick<CommandResult, 'values' | 'payload' | 'contentFormat'>): Json | undefined {
  if (r.values && r.values.length > 0) {
    const depth = target.depth;
    const single = r.values.length === 1 && r.values[0]!.path === target.toString();
    if (single) return apiValue(r.values[0]!);
    const root: { [k: string]: Json } = {};
    for (const v of r.values) {
      const segs = v.path.split('/').filter(Boolean).slice(depth);
      if (segs.length === 0) return apiValue(v);
      let node = root;
      for (const s of segs.slice(0, -1)) {
        const next = node[s];
        node = (isMap(next) ? next : (node[s] = {})) as { [k: string]: Json };
      }
      node[segs[segs.length - 1]!] = apiValue(v);
    }
    return root;
  }
  if (r.payload === undefined) return undefined;
  if (r.contentFormat === 40 || r.contentFormat === 0) return Buffer.from(r.payload, 'base64').toString('utf8');
  return r.payload;
}
