import {
  DEFAULT_DEVICE_PASSWORD,
  DerivedKeyCache,
  type EpnParseResult,
  type EpnRejectReason,
  type EpnRejection,
  inspectEpn,
  parseEpn,
} from '@dmp/identity';

/** Where the Form A settings of an AppKey live (Redis in production: RegistrationStore). */
export interface AppKeySettingsSource {
  appKeySettings(appKey: string): Promise<{ password?: string; clearFallback?: boolean }>;
}

export interface EpnResolverOptions {
  /** Gateway-wide default of the clear-field fallback (GATEWAY_FORM_A_CLEAR_FALLBACK); an AppKey's own setting wins. */
  clearFallbackDefault: boolean;
  /** How long an AppKey's settings are reused before Redis is asked again (ms). */
  cacheMs?: number;
  /** Bound of the settings cache. */
  maxEntries?: number;
  now?: () => number;
}

/**
 * Reasons for which a Form A name is taken as forged (or made with a password the platform
 * does not hold, which cannot be told apart): answered 4.03, never registered.
 */
const FORGED: ReadonlySet<EpnRejectReason> = new Set<EpnRejectReason>(['DECRYPT_FAILED', 'BAD_INNER_FORMAT', 'CLEAR_MISMATCH', 'UNKNOWN_APPKEY']);

/** True when a rejection means "does not authenticate with the AppKey's password". */
export function isForged(r: EpnRejection): boolean {
  return r.form === 'A' && FORGED.has(r.reason);
}

interface Settings {
  password: string;
  clearFallback: boolean;
  at: number;
}

/**
 * EPN → identity the way every gateway path needs it (Register, the Update `epi=` name,
 * Bootstrap-Request): a Form A name is decrypted with its AppKey's configured password or,
 * when none is configured, with the devices' default (32 × `0`, epn-formats.md). A name
 * that does not decrypt, or whose clear ID1/DMv disagree with the decrypted ones, is
 * rejected unless the clear-field fallback is on for its AppKey (per AppKey in Redis,
 * default GATEWAY_FORM_A_CLEAR_FALLBACK = off): then the 5-part form is read from its
 * clear fields, as for fleets whose passwords the platform does not hold.
 */
export class EpnResolver {
  private readonly cache = new Map<string, Settings>();
  private readonly keyCache = new DerivedKeyCache(10_000);
  private readonly cacheMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly source: AppKeySettingsSource,
    private readonly opts: EpnResolverOptions,
  ) {
    this.cacheMs = opts.cacheMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  async resolve(epn: string): Promise<EpnParseResult> {
    const envelope = inspectEpn(epn);
    if (!envelope.needsPassword || !envelope.appKey) return parseEpn(epn);
    const appKey = envelope.appKey;
    const s = await this.settings(appKey);
    return parseEpn(epn, {
      passwords: (k) => (k === appKey ? s.password : undefined),
      keyCache: this.keyCache,
      requireDecryption: !s.clearFallback,
    });
  }

  private async settings(appKey: string): Promise<Settings> {
    const now = this.now();
    const hit = this.cache.get(appKey);
    if (hit && now - hit.at < this.cacheMs) return hit;
    const got = await this.source.appKeySettings(appKey);
    const s: Settings = {
      password: got.password ?? DEFAULT_DEVICE_PASSWORD,
      clearFallback: got.clearFallback ?? this.opts.clearFallbackDefault,
      at: now,
    };
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.delete(appKey);
    this.cache.set(appKey, s);
    return s;
  }
}
