import { ContentFormat, type CodecOptions, type NodeCodec } from '../../content-format';
import type { ModelProvider } from '../../model/types';
import type { LwM2mNode } from '../../node';
import type { LwM2mPath } from '../../path';
import { decodeTlv } from './tlv-decoder';
import { encodeTlv } from './tlv-encoder';

export * from './tlv-decoder';
export * from './tlv-encoder';

/** TLV codec for 11542 and the legacy 1542. */
export const tlvCodec: NodeCodec = {
  name: 'tlv',
  formats: [ContentFormat.TLV, ContentFormat.TLV_LEGACY],
  supportsPath: (path: LwM2mPath) => path.depth > 0,
  decode: (payload: Uint8Array, path: LwM2mPath, models: ModelProvider, options?: CodecOptions) => decodeTlv(payload, path, models, options),
  encode: (node: LwM2mNode, path: LwM2mPath, models: ModelProvider, options?: CodecOptions) => encodeTlv(node, path, models, options),
};
