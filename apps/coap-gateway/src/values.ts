import type { DataEvent } from '@dmp/contracts';
import { LwM2mPath, type LwM2mNode, type TypedValue, valueToJson } from '@dmp/lwm2m';

type Value = DataEvent['values'][number];

const TYPE: Record<TypedValue['type'], Value['type']> = {
  STRING: 'string',
  INTEGER: 'integer',
  UNSIGNED_INTEGER: 'unsigned',
  FLOAT: 'float',
  BOOLEAN: 'boolean',
  OPAQUE: 'opaque',
  TIME: 'time',
  OBJLNK: 'objlnk',
  CORELNK: 'corelnk',
};

function toJson(v: TypedValue): Value['value'] {
  const j = valueToJson(v);
  return typeof j === 'object' ? `${j.objectId}:${j.instanceId}` : j;
}

/** Flattens a decoded node at `path` into one value per resource (instance), as the data topic carries them. */
export function flattenNode(path: LwM2mPath, node: LwM2mNode, ts?: number): Value[] {
  const out: Value[] = [];
  const push = (p: string, v: TypedValue) => out.push({ path: p, type: TYPE[v.type], value: toJson(v), ...(ts !== undefined ? { ts } : {}) });
  const walk = (segments: number[], n: LwM2mNode) => {
    switch (n.kind) {
      case 'object':
        for (const inst of n.instances.values()) walk([...segments, inst.id], inst);
        return;
      case 'objectInstance':
        for (const r of n.resources.values()) walk([...segments, r.id], r);
        return;
      case 'multipleResource':
        for (const ri of n.instances.values()) walk([...segments, ri.id], ri);
        return;
      case 'singleResource':
      case 'resourceInstance':
        push(`/${segments.join('/')}`, n);
        return;
    }
  };
  // `path` is the node's own path; children append their ids
  walk(path.toSegments().map(Number), node);
  return out;
}

export { LwM2mPath };
