/**
 * Record-style payload formats: SenML JSON (110) and SenML CBOR (112). LwM2M JSON
 * (11543) and LwM2M CBOR (11544) live next to this folder and share its machinery.
 */
export {
  DEFAULT_MAX_RECORDS,
  RELATIVE_TIME_LIMIT,
  type RecordCodecOptions,
  type RecordMultiNodeCodec,
  type RecordNodeCodec,
  type RecordTimestampedCodec,
  type SenmlCodec,
} from './common';
export { scanCbor, type CborScanLimits } from './cbor-scan';
export { SENML_VERSION, resolveSenml, type ResolvedSenmlRecord, type SenmlRecord, type SenmlValueField } from './senml-record';
export { parseSenmlJson, serializeSenmlJson, senmlJsonCodec } from './senml-json';
export { SENML_CBOR_LABELS, parseSenmlCbor, serializeSenmlCbor, senmlCborCodec } from './senml-cbor';
