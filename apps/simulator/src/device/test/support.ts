/**
 * Spec helpers: send requests built by the platform's own @dmp/lwm2m operation builders
 * to the model and interpret the answers with the platform's `interpretResponse`, so the
 * specs check what the command service would see. Used by *.spec.ts only.
 */
import {
  createDefaultContentFormatRegistry,
  interpretResponse,
  LwM2mPath,
  ObjectModelRegistry,
  type Lwm2mOutcome,
  type Lwm2mRequest,
  type LwM2mNode,
  type OperationContext,
} from '@dmp/lwm2m';
import type { DeviceModel, DeviceRequest, DeviceResponse } from '../types';

export const models = ObjectModelRegistry.default();
export const formats = createDefaultContentFormatRegistry();
export const ctx10: OperationContext = { models, formats, lwm2mVersion: '1.0' };
export const ctx11: OperationContext = { models, formats, lwm2mVersion: '1.1' };

const METHODS = { GET: 1, POST: 2, PUT: 3, DELETE: 4 } as const;

export function toDeviceRequest(r: Lwm2mRequest): DeviceRequest {
  const out: DeviceRequest = {
    method: METHODS[r.method as keyof typeof METHODS],
    path: '/' + r.uriPath.join('/'),
    query: r.uriQuery,
    payload: r.payload ?? new Uint8Array(0),
  };
  if (r.accept !== undefined) out.accept = r.accept;
  if (r.contentFormat !== undefined) out.contentFormat = r.contentFormat;
  if (r.observe !== undefined) out.observe = r.observe;
  return out;
}

/** Hand-made request (for what the builders refuse to build). */
export function raw(method: 1 | 2 | 3 | 4, path: string, extra: Partial<DeviceRequest> = {}): DeviceRequest {
  return { method, path, query: [], payload: new Uint8Array(0), ...extra };
}

export function exchange(model: DeviceModel, index: number, r: Lwm2mRequest, now: number): { res: DeviceResponse; outcome: Lwm2mOutcome } {
  const res = model.handle(index, toDeviceRequest(r), now);
  const outcome = interpretResponse(
    r,
    {
      code: res.code,
      ...(res.contentFormat !== undefined ? { contentFormat: res.contentFormat } : {}),
      ...(res.payload !== undefined ? { payload: res.payload } : {}),
      ...(res.locationPath !== undefined ? { locationPath: [...res.locationPath] } : {}),
    },
    { models, formats },
  );
  return { res, outcome };
}

/** Decode a 2.05 payload at `path`. */
export function decodeAt(res: DeviceResponse, path: string): LwM2mNode {
  if (res.code !== 0x45 || res.payload === undefined || res.contentFormat === undefined) {
    throw new Error(`expected 2.05 with payload, got 0x${res.code.toString(16)}`);
  }
  return formats.decode(res.contentFormat, res.payload, LwM2mPath.parse(path), models, { strict: true });
}

/** Value of a single resource / resource instance node. */
export function valueOf(node: LwM2mNode): unknown {
  if (node.kind === 'singleResource' || node.kind === 'resourceInstance') return node.value;
  throw new Error(`not a value node: ${node.kind}`);
}

/** { resourceId: value | value[] } of an object instance node (for readable assertions). */
export function flatten(node: LwM2mNode): Record<number, unknown> {
  if (node.kind !== 'objectInstance') throw new Error(`not an instance: ${node.kind}`);
  const out: Record<number, unknown> = {};
  for (const r of node.resources.values()) {
    out[r.id] = r.kind === 'singleResource' ? r.value : [...r.instances.values()].map((i) => i.value);
  }
  return out;
}
