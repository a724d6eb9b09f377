/**
 * application/octet-stream (content format 42) codec: the raw bytes of one OPAQUE
 * resource or resource instance. The target resource must be OPAQUE in the model
 * (or unknown to it, unless strict).
 */
import { checkPayloadSize, ContentFormat, type CodecOptions, type NodeCodec } from '../content-format';
import { Lwm2mCodecError } from '../errors';
import type { ModelProvider } from '../model/types';
import type { LwM2mNode } from '../node';
import type { LwM2mPath } from '../path';
import { resolveResourceType } from './text';

function checkOpaque(path: LwM2mPath, models: ModelProvider, options?: CodecOptions): void {
  const t = resolveResourceType(path, models, options, 'OPAQUE');
  if (t !== 'OPAQUE') throw new Lwm2mCodecError('INVALID_VALUE', `${path.toString()} is ${t}, opaque format needs OPAQUE`);
}

export function decodeOpaque(payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): LwM2mNode {
  checkPayloadSize(payload, options);
  if (path.depth < 3) throw new Lwm2mCodecError('UNSUPPORTED_PATH', `opaque cannot carry ${path.toString()}`);
  checkOpaque(path, models, options);
  const kind = path.depth === 3 ? 'singleResource' : 'resourceInstance';
  const id = (path.depth === 3 ? path.resourceId : path.resourceInstanceId) as number;
  return { kind, id, type: 'OPAQUE', value: payload.slice() } as LwM2mNode;
}

export function encodeOpaque(node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: CodecOptions): Uint8Array {
  if (node.kind !== 'singleResource' && node.kind !== 'resourceInstance') {
    throw new Lwm2mCodecError('UNSUPPORTED_PATH', `opaque cannot carry a ${node.kind}`);
  }
  const expectedDepth = node.kind === 'singleResource' ? 3 : 4;
  const pathId = node.kind === 'singleResource' ? path.resourceId : path.resourceInstanceId;
  if (path.depth !== expectedDepth || pathId !== node.id) throw new Lwm2mCodecError('INVALID_STRUCTURE', `${node.kind} ${node.id} does not fit ${path.toString()}`);
  checkOpaque(path, models, options);
  if (node.type !== 'OPAQUE' || !(node.value instanceof Uint8Array)) throw new Lwm2mCodecError('INVALID_VALUE', `opaque format needs an OPAQUE value, got ${node.type}`);
  return node.value.slice();
}

export const opaqueCodec: NodeCodec = {
  name: 'opaque',
  formats: [ContentFormat.OPAQUE],
  supportsPath: (path) => path.depth >= 3,
  decode: decodeOpaque,
  encode: encodeOpaque,
};
