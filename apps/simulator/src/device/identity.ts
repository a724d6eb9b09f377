/**
 * UE identities for the simulator: (seed, index) → EPN + the EPI the platform must derive
 * from it. Nothing is stored per UE; an identity is recomputed on every call.
 *
 * Realism (docs/spec/epn-formats.md): Luhn-valid IMEIs on 86xxxxxx TACs, China Mobile
 * IMSIs (MCC 460, MNC 00/02/04/07/08), CMEIs in China Mobile's `11…` scheme, vendor slot
 * layouts (ZTE: CMEI-or-****, IMEI; Unisoc/RDA/Fibocom: IMEI, ****), Form A 5-part and
 * 3-part, Form D with brand/model of the module.
 */
import { DEFAULT_DEVICE_PASSWORD, DerivedKeyCache, encodeEpn, isValidAppKey, isValidVersion, type EpnSpec } from '@dmp/identity';
import { cmeiOf, imeiOf, imsiOf, moduleOf, tablesFor, ueHash, type FleetTables } from './profile';
import type { EpnForm, IdentityFactory, IdentityOptions, UeIdentity } from './types';

const FORMS: readonly EpnForm[] = ['A', 'B', 'C', 'D', 'URN_IMEI', 'IMEI'];
/** DM version of Form A/B when the options give none (the most common one in the field). */
export const DEFAULT_DM_VERSION = 'v2.0';
/** Form D is DM v4.x by definition: its sdkVer field carries this, whatever `version` says. */
export const FORM_D_VERSION = 'V4.0';
const TERMINAL_TYPES = ['I', 'L', 'A'] as const;

// Salts of the per-UE random draws (distinct from profile.ts salts 11..14).
const SALT_FORM = 21;
const SALT_STYLE = 22;
const SALT_PARTS = 23;
const SALT_TERMINAL = 24;
const SALT_TEMPLATE = 25;

interface Mix {
  forms: EpnForm[];
  /** Cumulative weights, scaled to 2^32. */
  bounds: number[];
}

function buildMix(weights: IdentityOptions['forms']): Mix {
  const forms: EpnForm[] = [];
  const raw: number[] = [];
  for (const f of FORMS) {
    const w = weights[f];
    if (w === undefined || w === 0) continue;
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`form ${f}: weight must be a finite number >= 0, got ${String(w)}`);
    forms.push(f);
    raw.push(w);
  }
  const total = raw.reduce((a, b) => a + b, 0);
  if (forms.length === 0 || total <= 0) throw new RangeError('forms: at least one EPN form needs a positive weight');
  let acc = 0;
  const bounds = raw.map((w) => {
    acc += w;
    return (acc / total) * 4294967296;
  });
  bounds[bounds.length - 1] = 4294967296;
  return { forms, bounds };
}

function pickForm(mix: Mix, h: number): EpnForm {
  for (let i = 0; i < mix.bounds.length; i++) if (h < (mix.bounds[i] as number)) return mix.forms[i] as EpnForm;
  return mix.forms[mix.forms.length - 1] as EpnForm;
}

interface Config {
  tables: FleetTables;
  mix: Mix;
  version: string;
  appKey?: string;
  password: string;
  keyCache: DerivedKeyCache;
}

/**
 * Slot layout of Form A/B for one UE: 40 % ZTE-style with a CMEI, 10 % ZTE-style without
 * (`****`, IMEI), 50 % Unisoc-style (IMEI, `****`).
 */
function slots(c: Config, index: number, imei: string): { id1?: string; id2?: string; cmei?: string } {
  const r = ueHash(c.tables.seed, index, SALT_STYLE) % 10;
  if (r < 4) {
    const cmei = cmeiOf(c.tables, index);
    return { id1: cmei, id2: imei, cmei };
  }
  if (r < 5) return { id2: imei };
  return { id1: imei };
}

function build(c: Config, index: number): UeIdentity {
  const seed = c.tables.seed;
  const form = pickForm(c.mix, ueHash(seed, index, SALT_FORM));
  const imei = imeiOf(c.tables, index);
  const imsi = imsiOf(c.tables, index);
  let spec: EpnSpec;
  let cmei: string | undefined;
  let version: string | undefined;
  switch (form) {
    case 'A': {
      const s = slots(c, index, imei);
      cmei = s.cmei;
      version = c.version;
      spec = {
        form: 'A',
        terminalType: TERMINAL_TYPES[ueHash(seed, index, SALT_TERMINAL) % TERMINAL_TYPES.length] as string,
        appKey: c.appKey as string,
        password: c.password,
        keyCache: c.keyCache,
        // Older clients (~15 %) send the 3-part form: no clear ID1/DMv.
        parts: ueHash(seed, index, SALT_PARTS) % 100 < 15 ? 3 : 5,
        imsi,
        version,
        ...(s.id1 !== undefined ? { id1: s.id1 } : {}),
        ...(s.id2 !== undefined ? { id2: s.id2 } : {}),
      };
      break;
    }
    case 'B': {
      const s = slots(c, index, imei);
      cmei = s.cmei;
      version = c.version;
      spec = { form: 'B', imsi, version, ...(s.id1 !== undefined ? { id1: s.id1 } : {}), ...(s.id2 !== undefined ? { id2: s.id2 } : {}) };
      break;
    }
    case 'C':
      spec = { form: 'C', imei, imsi };
      break;
    case 'D': {
      const m = moduleOf(index);
      version = FORM_D_VERSION;
      spec = {
        form: 'D',
        // Brand / model must be free text without spaces (isValidText).
        brand: m.manufacturer.replace(/\s+/g, ''),
        model: m.model,
        sdkVersion: version,
        apiVersion: 'V1.0',
        terminalType: ueHash(seed, index, SALT_TERMINAL) % 2 === 0 ? 'A' : 'I',
        templateId: String(100000 + (ueHash(seed, index, SALT_TEMPLATE) % 900000)),
        imei1: imei,
        ...(c.appKey !== undefined ? { appKey: c.appKey } : {}),
      };
      break;
    }
    case 'URN_IMEI':
      spec = { form: 'URN_IMEI', imei };
      break;
    case 'IMEI':
      spec = { form: 'IMEI', imei };
      break;
  }
  const id: UeIdentity = { index, form, epn: encodeEpn(spec), imei, imsi, expectedEpi: cmei !== undefined ? cmei + imei : imei };
  if (cmei !== undefined) id.cmei = cmei;
  if (version !== undefined) id.version = version;
  return id;
}

/**
 * Identity factory for a fleet. Throws RangeError on bad options (no positive form
 * weight, Form A without a valid AppKey, an invalid version); the factory itself never
 * throws for a non-negative safe-integer index.
 *
 * Form A uses `password` (default: the device default password, 32 × `0`); the platform
 * must know it (PUT /api/v1/appkeys/{appKey}) to derive the EPI from a 3-part EPN.
 */
export function createIdentityFactory(opts: IdentityOptions): IdentityFactory {
  const mix = buildMix(opts.forms);
  const version = opts.version ?? DEFAULT_DM_VERSION;
  if (!isValidVersion(version) || version.includes('-')) throw new RangeError(`version "${version}" is not a DM version`);
  if (opts.appKey !== undefined && !isValidAppKey(opts.appKey)) throw new RangeError(`appKey "${opts.appKey}" is not [A-Za-z0-9]{1,64}`);
  if (mix.forms.includes('A') && opts.appKey === undefined) throw new RangeError('Form A needs an appKey');
  const config: Config = {
    tables: tablesFor(opts.seed),
    mix,
    version,
    password: opts.password ?? DEFAULT_DEVICE_PASSWORD,
    // One AppKey per fleet: the key is derived once, not per identity.
    keyCache: new DerivedKeyCache(4),
    ...(opts.appKey !== undefined ? { appKey: opts.appKey } : {}),
  };
  return (index: number): UeIdentity => {
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`UE index must be a non-negative safe integer, got ${String(index)}`);
    return build(config, index);
  };
}
