/**
 * @dmp/lwm2m — LwM2M domain library: paths, node model, object models (DDF), payload
 * codecs, link-format, registration parsing and operation builders. Pure TypeScript.
 */
import { ContentFormatRegistry } from './content-format';
import { opaqueCodec } from './formats/opaque';
import { textCodec } from './formats/text';
import { tlvCodec } from './formats/tlv';
import { senmlCborCodec, senmlJsonCodec } from './formats/senml';
import { lwm2mJsonCodec } from './formats/lwm2m-json';
import { lwm2mCborCodec } from './formats/lwm2m-cbor';

export * from './errors';
export * from './path';
export * from './node';
export * from './model';
export * from './content-format';
export * from './formats/tlv';
export * from './formats/text';
export * from './formats/opaque';
export * from './link-format';
export * from './registration';
export * from './operations';
export * from './responses';

export * from './formats/senml';
export { decodeLwm2mJsonEntries, lwm2mJsonCodec } from './formats/lwm2m-json';
export { decodeLwm2mCborEntries, lwm2mCborCodec } from './formats/lwm2m-cbor';

/**
 * A new registry with every codec this library ships: text/plain (0), opaque (42),
 * TLV (11542 and legacy 1542), SenML JSON (110), SenML CBOR (112), LwM2M JSON (11543,
 * 1543) and LwM2M CBOR (11544). Add more with `.register(codec)`.
 */
export function createDefaultContentFormatRegistry(): ContentFormatRegistry {
  return new ContentFormatRegistry([
    textCodec,
    opaqueCodec,
    tlvCodec,
    senmlJsonCodec,
    senmlCborCodec,
    lwm2mJsonCodec,
    lwm2mCborCodec,
  ]);
}
