/**
 * SenML JSON (application/senml+json, content format 110; RFC 8428 §5, LwM2M 1.1 TS
 * §7.4.4). Decoding: size cap → strict UTF-8 → JSON.parse → shape check (array of flat
 * objects, record-count cap) → RFC 8428 resolution → type-aware values. Encoding is
 * canonical: ids ascending, `bn` on the first record, relative `n`, keys in the order
 * bn, bt, n, value; OPAQUE as unpadded base64url.
 *
 * JSON numbers are IEEE doubles: INTEGER values beyond ±2^53 cannot be carried exactly
 * and are rejected on decode (INVALID_VALUE); the encoder writes bigints with all digits.
 */
import { ContentFormat } from '../../content-format';
import { Lwm2mCodecError } from '../../errors';
import { checkPayload, decodeBase64Any, encodeBase64Url, guard, maxRecords, type RecordCodecOptions, type SenmlCodec } from './common';
import { senmlCodec } from './senml-codec-core';
import type { SenmlRecord } from './senml-record';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf8e = new TextEncoder();


/** Parse SenML JSON bytes into raw records (no resolution). Throws Lwm2mCodecError. */
export function parseSenmlJson(payload: Uint8Array, options?: RecordCodecOptions): SenmlRecord[] {
  return guard(() => {
    checkPayload(payload, options);
    let text: string;
    try {
      text = utf8.decode(payload);
    } catch {
      throw new Lwm2mCodecError('INVALID_VALUE', 'SenML JSON is not valid UTF-8');
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Lwm2mCodecError('INVALID_STRUCTURE', `not JSON: ${e instanceof Error ? e.message.slice(0, 80) : ''}`);
    }
    if (!Array.isArray(doc)) throw new Lwm2mCodecError('INVALID_STRUCTURE', 'a SenML pack is a JSON array');
    const max = maxRecords(options);
    if (doc.length > max) throw new Lwm2mCodecError('PAYLOAD_TOO_LARGE', `${doc.length} records > ${max}`);
    const out: SenmlRecord[] = new Array<SenmlRecord>(doc.length);
    for (let i = 0; i < doc.length; i++) out[i] = jsonRecord(doc[i], i);
    return out;
  });
}

function jsonRecord(o: unknown, i: number): SenmlRecord {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i} is not a JSON object`);
  }
  const r: SenmlRecord = {};
  const src = o as Record<string, unknown>;
  const str = (key: string): string => {
    const v = src[key];
    if (typeof v !== 'string') throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: "${key}" must be a string`);
    return v;
  };
  const num = (key: string): number => {
    const v = src[key];
    if (typeof v !== 'number') throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: "${key}" must be a number`);
    return v;
  };
  for (const key in src) {
    switch (key) {
      case 'bn':
        r.bn = str(key);
        break;
      case 'n':
        r.n = str(key);
        break;
      case 'v':
        r.v = num(key);
        break;
      case 'vs':
        r.vs = str(key);
        break;
      case 'vb': {
        const v = src.vb;
        if (typeof v !== 'boolean') throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: "vb" must be a boolean`);
        r.vb = v;
        break;
      }
      case 'vd':
        r.vd = decodeBase64Any(src.vd);
        break;
      case 'vlo':
        r.vlo = str(key);
        break;
      case 'bt':
        r.bt = num(key);
        break;
      case 't':
        r.t = num(key);
        break;
      case 'bver':
        r.bver = num(key);
        break;
      case 'bv':
        r.bv = num(key);
        break;
      case 'bs':
        r.bs = num(key);
        break;
      case 's':
        r.s = num(key);
        break;
      case 'ut':
        r.ut = num(key);
        break;
      case 'bu':
        r.bu = str(key);
        break;
      case 'u':
        r.u = str(key);
        break;
      default:
        if (key.endsWith('_')) throw new Lwm2mCodecError('INVALID_STRUCTURE', `record ${i}: unknown must-understand label "${key.slice(0, 40)}"`);
      // other unknown labels are ignored (RFC 8428 §4.4)
    }
  }
  return r;
}

function jsonNumber(v: number | bigint, where: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (!Number.isFinite(v)) throw new Lwm2mCodecError('INVALID_VALUE', `${where}: ${v} cannot be written in JSON`);
  return Object.is(v, -0) ? '-0.0' : JSON.stringify(v);
}

/** Serialize raw records canonically (key order bn, bt, n, value). */
export function serializeSenmlJson(records: readonly SenmlRecord[]): Uint8Array {
  return guard(() => {
    const parts: string[] = [];
    for (const r of records) {
      const f: string[] = [];
      if (r.bn !== undefined) f.push(`"bn":${JSON.stringify(r.bn)}`);
      if (r.bt !== undefined) f.push(`"bt":${jsonNumber(r.bt, 'bt')}`);
      if (r.n !== undefined) f.push(`"n":${JSON.stringify(r.n)}`);
      const where = `${r.bn ?? ''}${r.n ?? ''}`;
      if (r.v !== undefined) f.push(`"v":${jsonNumber(r.v, where)}`);
      if (r.vs !== undefined) f.push(`"vs":${JSON.stringify(r.vs)}`);
      if (r.vb !== undefined) f.push(`"vb":${r.vb ? 'true' : 'false'}`);
      if (r.vd !== undefined) f.push(`"vd":"${encodeBase64Url(r.vd)}"`);
      if (r.vlo !== undefined) f.push(`"vlo":${JSON.stringify(r.vlo)}`);
      if (r.t !== undefined) f.push(`"t":${jsonNumber(r.t, 't')}`);
      parts.push(`{${f.join(',')}}`);
    }
    return utf8e.encode(`[${parts.join(',')}]`);
  });
}

/** SenML JSON codec (110): single node, timestamped and multi-path (composite) operations. */
export const senmlJsonCodec: SenmlCodec = senmlCodec('senml-json', ContentFormat.SENML_JSON, parseSenmlJson, serializeSenmlJson);
