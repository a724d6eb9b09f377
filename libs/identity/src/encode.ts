/**
 * The encoder side of `parseEpn`: builds Form A/B/C/D EPNs from fields (simulator,
 * tests). Inputs are written verbatim; absent fields become `****` (A/B) or `***` (D).
 */
import { type DerivedKeyCache, deriveKey, encryptWithKey } from './crypto';
import { FORM_A_SEPARATOR, FORM_D_SEPARATOR } from './parse';

/** Identifier slots of an `ID1-ID2-IMSI[-DMv]` string. */
export interface InnerFields {
  id1?: string;
  id2?: string;
  imsi?: string;
  /** Omitted → 3 fields; `null` → a 4th field `****` (the update-name style). */
  version?: string | null;
}

export interface FormASpec extends InnerFields {
  form: 'A';
  /** One upper-case letter (`I`, `L`, `A` seen). */
  terminalType: string;
  appKey: string;
  password: string;
  /** 5-part (clear ID1 and DMv appended, the default) or 3-part. */
  parts?: 3 | 5;
  keyCache?: DerivedKeyCache;
}

export interface FormBSpec extends InnerFields {
  form: 'B';
}

export interface FormCSpec {
  form: 'C';
  imei: string;
  imsi: string;
}

export interface FormDSpec {
  form: 'D';
  brand?: string;
  model?: string;
  appKey?: string;
  sdkVersion?: string;
  apiVersion?: string;
  /** `A` or `I`. */
  terminalType?: string;
  templateId?: string;
  imei1?: string;
  imei2?: string;
}

export interface UrnImeiSpec {
  form: 'URN_IMEI';
  imei: string;
}

export interface BareImeiSpec {
  form: 'IMEI';
  imei: string;
}

export type EpnSpec = FormASpec | FormBSpec | FormCSpec | FormDSpec | UrnImeiSpec | BareImeiSpec;

const ABSENT_AB = '****';
const ABSENT_D = '***';

/** `ID1-ID2-IMSI[-DMv]` with `****` for absent fields. */
export function encodeInner(f: InnerFields): string {
  const base = `${f.id1 ?? ABSENT_AB}-${f.id2 ?? ABSENT_AB}-${f.imsi ?? ABSENT_AB}`;
  if (f.version === undefined) return base;
  return `${base}-${f.version ?? ABSENT_AB}`;
}

/** Build an EPN of the requested form. */
export function encodeEpn(spec: EpnSpec): string {
  switch (spec.form) {
    case 'A': {
      const key = spec.keyCache ? spec.keyCache.get(spec.appKey, spec.password) : deriveKey(spec.password);
      const b64 = encryptWithKey(encodeInner(spec), key);
      const head = [spec.terminalType, b64, spec.appKey];
      if (spec.parts === 3) return head.join(FORM_A_SEPARATOR);
      return [...head, spec.id1 ?? ABSENT_AB, spec.version ?? ABSENT_AB].join(FORM_A_SEPARATOR);
    }
    case 'B':
      return encodeInner(spec);
    case 'C':
      return `${spec.imei};${spec.imsi}`;
    case 'D':
      return [
        spec.brand,
        spec.model,
        spec.appKey,
        spec.sdkVersion,
        spec.apiVersion,
        spec.terminalType,
        spec.templateId,
        spec.imei1,
        spec.imei2,
        undefined,
        undefined,
        undefined,
      ]
        .map((v) => v ?? ABSENT_D)
        .join(FORM_D_SEPARATOR);
    case 'URN_IMEI':
      return `urn:imei:${spec.imei}`;
    case 'IMEI':
      return spec.imei;
  }
}

/** Identifiers of a device, independent of slot layout. */
export interface DeviceIds {
  cmei?: string;
  imei?: string;
  imei2?: string;
}

/**
 * Slot layout of the two vendor families (epn-formats.md, Form A): `zte` puts CMEI (or
 * `****`) in slot 1 and the IMEI in slot 2; `unisoc` (also RDA, Fibocom) puts the IMEI
 * in slot 1 and `****` or a second IMEI in slot 2.
 */
export function slotsFor(ids: DeviceIds, style: 'zte' | 'unisoc'): { id1?: string; id2?: string } {
  const out: { id1?: string; id2?: string } = {};
  if (style === 'zte') {
    if (ids.cmei !== undefined) out.id1 = ids.cmei;
    if (ids.imei !== undefined) out.id2 = ids.imei;
  } else {
    if (ids.imei !== undefined) out.id1 = ids.imei;
    if (ids.imei2 !== undefined) out.id2 = ids.imei2;
  }
  return out;
}
