import type { DataEvent, DataSource } from '@dmp/contracts';
import type { ModelProvider } from '@dmp/lwm2m';
import type { FieldCipher } from './crypto';
import { type AbnormalCode, checkValue, formatReason, type TimeLimits } from './validate';

const DAY_MS = 86_400_000;

/** One row of data_history (and, unless its time is abnormal, of data_latest). */
export interface ValueRow {
  epiH: Buffer;
  bucket: number;
  day: number;
  ts: number;
  path: string;
  eventId: string;
  idx: number;
  source: DataSource;
  /** EPN version of the device's registration (R-EPI-2), when the event carried one. */
  version: string | undefined;
  type: string;
  value: string | undefined;
  num: number | undefined;
  valueEnc: Buffer | undefined;
  valueH: Buffer | undefined;
  keyId: string;
  epiEnc: Buffer;
  abnormal: boolean;
  reason: string | undefined;
  codes: readonly AbnormalCode[];
  receivedAt: number;
  /** False for far-future / far-past times: such a value must not become "latest". */
  latest: boolean;
}

export interface RawRow {
  epiH: Buffer;
  day: number;
  ts: number;
  eventId: string;
  source: DataSource;
  /** EPN version of the device's registration (R-EPI-2), when the event carried one. */
  version: string | undefined;
  path: string;
  contentFormat: number;
  observeSeq: number | undefined;
  raw: Buffer;
  rawEncrypted: boolean;
  keyId: string;
  epiEnc: Buffer;
}

export interface RowOptions extends TimeLimits {
  sensitivePaths: readonly string[];
  storeRaw: boolean;
  encryptPayloads: boolean;
  /** Bound of the EPI → (hash, ciphertext) cache. */
  epiCacheSize?: number;
}

/** Compiles `/4/*\/4`-style patterns: 3 segments also match the resource's instances. */
export function sensitiveMatcher(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const parts = patterns.map((p) => {
    const seg = p.split('/').slice(1).map((s) => (s === '*' ? '\\d+' : s));
    return `^/${seg.join('/')}${seg.length === 3 ? '(?:/\\d+)?' : ''}$`;
  });
  const re = new RegExp(parts.join('|'));
  return (path) => re.test(path);
}

export const dayOf = (ts: number) => Math.floor(ts / DAY_MS);

/** Largest |time| a JS Date (and the driver) can carry; rows with wilder times are clamped (and flagged). */
const MAX_TIME = 8.64e15;
const clampTime = (ts: number) => Math.max(-MAX_TIME, Math.min(MAX_TIME, ts));

function valueText(v: DataEvent['values'][number]['value']): string | undefined {
  if (v === null) return undefined;
  return typeof v === 'string' ? v : String(v);
}

/**
 * DataEvent → rows. Pure apart from the random IVs of the ciphertexts: keys, flags and
 * plaintext columns are a function of the event, so a replayed event lands on the same
 * primary keys with the same content.
 */
export class RowBuilder {
  private readonly isSensitive: (path: string) => boolean;
  private readonly epis = new Map<string, { h: Buffer; enc: Buffer; keyId: string }>();
  private readonly epiCacheSize: number;

  constructor(
    private readonly cipher: FieldCipher,
    private readonly models: ModelProvider,
    private readonly opts: RowOptions,
  ) {
    this.isSensitive = sensitiveMatcher(opts.sensitivePaths);
    this.epiCacheSize = opts.epiCacheSize ?? 100_000;
  }

  /** Keyed hash of an EPI: the partition key of every storage table. */
  epiHash(epi: string): Buffer {
    return this.epi(epi).h;
  }

  private epi(epi: string): { h: Buffer; enc: Buffer; keyId: string } {
    let e = this.epis.get(epi);
    if (e === undefined || e.keyId !== this.cipher.activeKeyId) {
      const sealed = this.cipher.encrypt(epi, 'epi');
      e = { h: this.cipher.hash('epi', epi), enc: sealed.blob, keyId: sealed.keyId };
      if (this.epis.size >= this.epiCacheSize) this.epis.delete(this.epis.keys().next().value!);
      this.epis.set(epi, e);
    }
    return e;
  }

  build(ev: DataEvent): { values: ValueRow[]; raw: RawRow | undefined } {
    const id = this.epi(ev.epi);
    const values: ValueRow[] = [];
    for (let idx = 0; idx < ev.values.length; idx++) {
      const v = ev.values[idx]!;
      const findings = checkValue(this.models, v, ev.ts, this.opts);
      const codes = findings.map((f) => f.code);
      const ts = clampTime(v.ts ?? ev.ts);
      const text = valueText(v.value);
      const sensitive = text !== undefined && this.isSensitive(v.path);
      const bucket = Number(v.path.split('/')[1] ?? 0);
      values.push({
        epiH: id.h,
        bucket: Number.isFinite(bucket) ? bucket : 0,
        day: dayOf(ts),
        ts,
        path: v.path,
        eventId: ev.eventId,
        idx,
        source: ev.source,
        version: ev.version,
        type: v.type,
        value: sensitive ? undefined : text,
        num: !sensitive && typeof v.value === 'number' && Number.isFinite(v.value) ? v.value : undefined,
        valueEnc: sensitive ? this.cipher.encrypt(text, `value:${v.path}`).blob : undefined,
        valueH: sensitive ? this.cipher.hash('value', text) : undefined,
        keyId: id.keyId,
        epiEnc: id.enc,
        abnormal: findings.length > 0,
        reason: findings.length ? formatReason(findings) : undefined,
        codes,
        receivedAt: clampTime(ev.ts),
        latest: !codes.includes('far-future-timestamp') && !codes.includes('far-past-timestamp'),
      });
    }
    let raw: RawRow | undefined;
    if (this.opts.storeRaw && ev.raw !== undefined) {
      const bytes = Buffer.from(ev.raw, 'base64');
      raw = {
        epiH: id.h,
        day: dayOf(clampTime(ev.ts)),
        ts: clampTime(ev.ts),
        eventId: ev.eventId,
        source: ev.source,
        version: ev.version,
        path: ev.path,
        contentFormat: ev.contentFormat,
        observeSeq: ev.observeSeq,
        raw: this.opts.encryptPayloads ? this.cipher.encrypt(bytes, `raw:${ev.eventId}`).blob : bytes,
        rawEncrypted: this.opts.encryptPayloads,
        keyId: id.keyId,
        epiEnc: id.enc,
      };
    }
    return { values, raw };
  }
}
