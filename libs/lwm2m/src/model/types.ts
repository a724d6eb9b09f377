import type { ResourceType } from '../node';

/** Allowed operations on a resource, as written in DDF `<Operations>` (`''` → NONE). */
export type ResourceOperations = 'R' | 'W' | 'RW' | 'E' | 'NONE';

export interface ResourceModel {
  readonly id: number;
  readonly name: string;
  readonly operations: ResourceOperations;
  /** `<MultipleInstances>Multiple` */
  readonly multiple: boolean;
  readonly mandatory: boolean;
  /** Data type; `NONE` when the DDF `<Type>` is empty (executable resources). */
  readonly type: ResourceType;
  readonly rangeEnumeration: string;
  readonly units: string;
  readonly description: string;
}

export interface ObjectModel {
  readonly id: number;
  readonly name: string;
  readonly description: string;
  /** `<ObjectVersion>`, default "1.0". */
  readonly version: string;
  /** `<LWM2MVersion>`, default "1.0". */
  readonly lwm2mVersion: string;
  /** `<ObjectURN>`, or "" when absent. */
  readonly urn: string;
  /** `<MultipleInstances>Multiple` */
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly resources: ReadonlyMap<number, ResourceModel>;
}

/** Anything that can look up object models by id (the registry, a per-device view, a test stub). */
export interface ModelProvider {
  getObjectModel(objectId: number): ObjectModel | undefined;
}

export function isReadable(r: ResourceModel): boolean {
  return r.operations === 'R' || r.operations === 'RW';
}
export function isWritable(r: ResourceModel): boolean {
  return r.operations === 'W' || r.operations === 'RW';
}
export function isExecutable(r: ResourceModel): boolean {
  return r.operations === 'E';
}

/** Resource model lookup helper. */
export function resourceModel(models: ModelProvider, objectId: number, resourceId: number): ResourceModel | undefined {
  return models.getObjectModel(objectId)?.resources.get(resourceId);
}

/** A provider that knows nothing (decoders then fall back to OPAQUE / STRING unless strict). */
export const EMPTY_MODELS: ModelProvider = { getObjectModel: () => undefined };

/** Provider over a fixed list of models. */
export function staticModels(models: Iterable<ObjectModel>): ModelProvider {
  const m = new Map<number, ObjectModel>();
  for (const o of models) m.set(o.id, o);
  return { getObjectModel: (id) => m.get(id) };
}
