/**
 * SenML CBOR (application/senml+cbor, content format 112; RFC 8428 §6, LwM2M 1.1 TS
 * §7.4.5): integer labels (bver -1, bn -2, bt -3, bu -4, bv -5, bs -6, n 0, u 1, v 2,
 * vs 3, vb 4, s 5, t 6, ut 7, vd 8) plus the text label "vlo" for object links.
 * Decoding: size cap → CBOR pre-scan (depth, item count, no tags) → cbor-x → shape
 * check → RFC 8428 resolution → type-aware values. Encoding is canonical: ids ascending,
 * bn on the first record, keys bn, bt, n, value; integers in the shortest form.
 */
import { Decoder, Encoder } from 'cbor-x';
import { ContentFormat } from '../../content-format';
import { Lwm2mCodecError } from '../../errors';
import { scanCbor } from './cbor-scan';
import { checkPayload, guard, maxDepth, maxRecords, type RecordCodecOptions, type SenmlCodec } from './common';
import { senmlCodec } from './senml-codec-core';
import type { SenmlRecord } from './senml-record';

/** RFC 8428 Table 4 labels. */
export const SENML_CBOR_LABELS = {
  bver: -1,
  bn: -2,
  bt: -3,
  bu: -4,
  bv: -5,
  bs: -6,
  n: 0,
  u: 1,
  v: 2,
  vs: 3,
  vb: 4,
  s: 5,
  t: 6,
  ut: 7,
  vd: 8,
} as const;
type Label = keyof typeof SENML_CBOR_LABELS;

/** cbor-x instances: plain CBOR maps ⇄ Map, no records / tag 259 / tag 64. */
export const cborDecoder = new Decoder({ useRecords: false, mapsAsObjects: false });
const ENCODER_OPTIONS = { useRecords: false, mapsAsObjects: false, useTag259ForMaps: false, tagUint8Array: false };
export const cborEncoder = new Encoder(ENCODER_OPTIONS);

/** Number from a CBOR int / float (bigint only when exactly representable). */
function num(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new Lwm2mCodecError('INVALID_STRUCTURE', `${where} must be a number`);
}

/** Parse SenML CBOR bytes into raw records (no resolution). Throws Lwm2mCodecError. */
export function parseSenmlCbor(payload: Uint8Array, options?: RecordCodecOptions): SenmlRecord[] {
  return guard(() => {
    checkPayload(payload, options);
    const max = maxRecords(options);
    // items: 1 array + per record (1 map + ≤ 16 labels × 2)
    scanCbor(payload, { maxDepth: Math.max(2, maxDepth(options)), maxItems: 1 + max * 33 });
    const doc: unknown = cborDecoder.decode(payload);
    if (!Array.isArray(doc)) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'a SenML pack is a CBOR array');
    if (doc.length > max) throw new Lwm2mCodecError('PAYLOAD_TOO_LARGE', `${doc.length} records > ${max}`);
    const out = new Array<SenmlRecord>(doc.length);
    for (let i = 0; i < doc.length; i++) out[i] = cborRecord(doc[i], i);
    return out;
  });
}

function str(v: unknown, i: number, label: string): string {
  if (typeof v !== 'string') throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: "${label}" must be a text string`);
  return v;
}

function cborRecord(m: unknown, i: number): SenmlRecord {
  if (!(m instanceof Map)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i} is not a CBOR map`);
  const r: SenmlRecord = {};
  for (const [k, v] of m as Map<unknown, unknown>) {
    switch (k) {
      case -2:
        r.bn = str(v, i, 'bn');
        break;
      case 0:
        r.n = str(v, i, 'n');
        break;
      case 2:
        if (typeof v !== 'number' && typeof v !== 'bigint') throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: "v" must be a number`);
        r.v = v;
        break;
      case 3:
        r.vs = str(v, i, 'vs');
        break;
      case 4:
        if (typeof v !== 'boolean') throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: "vb" must be a boolean`);
        r.vb = v;
        break;
      case 8:
        if (!(v instanceof Uint8Array)) throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: "vd" must be a byte string`);
        r.vd = new Uint8Array(v); // copy: do not keep the input buffer alive
        break;
      case 'vlo':
        r.vlo = str(v, i, 'vlo');
        break;
      case -3:
        r.bt = num(v, `record ${i}: "bt"`);
        break;
      case 6:
        r.t = num(v, `record ${i}: "t"`);
        break;
      case -1:
        r.bver = num(v, `record ${i}: "bver"`);
        break;
      case -5:
        r.bv = num(v, `record ${i}: "bv"`);
        break;
      case -6:
        r.bs = num(v, `record ${i}: "bs"`);
        break;
      case 5:
        r.s = num(v, `record ${i}: "s"`);
        break;
      case 7:
        r.ut = num(v, `record ${i}: "ut"`);
        break;
      case -4:
        r.bu = str(v, i, 'bu');
        break;
      case 1:
        r.u = str(v, i, 'u');
        break;
      default:
        if (typeof k === 'string' && k.endsWith('_')) throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: unknown must-understand label "${k.slice(0, 40)}"`);
        if (typeof k !== 'string' && typeof k !== 'number') throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: label is neither int nor text`);
      // other unknown labels are ignored (RFC 8428 §4.4)
    }
  }
  return r;
}

const KEY_ORDER: readonly (Label | 'vlo')[] = ['bn', 'bt', 'n', 'v', 'vs', 'vb', 'vd', 'vlo', 't'];

/** Serialize raw records (key order bn, bt, n, value). */
export function serializeSenmlCbor(records: readonly SenmlRecord[]): Uint8Array {
  return guard(() => {
    const doc = records.map((r) => {
      const m = new Map<number | string, unknown>();
      for (const k of KEY_ORDER) {
        const v = r[k];
        if (v !== undefined) m.set(k === 'vlo' ? 'vlo' : SENML_CBOR_LABELS[k], v);
      }
      return m;
    });
    return new Uint8Array(cborEncoder.encode(doc));
  });
}

/** SenML CBOR codec (112): single node, timestamped and multi-path (composite) operations. */
export const senmlCborCodec: SenmlCodec = senmlCodec('senml-cbor', ContentFormat.SENML_CBOR, parseSenmlCbor, serializeSenmlCbor);
