/**
 * Duplicate detection (RFC 7252 §4.5): remembers (peer, MID) of received CON/NON messages for
 * EXCHANGE_LIFETIME / NON_LIFETIME and the response sent for a CON, so a duplicate CON gets
 * the same response again and a duplicate NON is dropped.
 *
 * Bounded: a Map for lookup plus a ring buffer of entries in arrival order (= expiry order per
 * message type). Every operation is O(1) amortised. When full, the oldest entry is evicted even
 * if not yet expired (counted in `evictions`): bounded memory is preferred under floods.
 */
import { EXCHANGE_LIFETIME_MS, NON_LIFETIME_MS } from './constants';

export interface DedupOptions {
  /** Maximum number of remembered exchanges (default 100 000). */
  maxEntries?: number;
  /** Lifetime of a CON entry (default EXCHANGE_LIFETIME, 247 s). */
  exchangeLifetimeMs?: number;
  /** Lifetime of a NON entry (default NON_LIFETIME, 145 s). */
  nonLifetimeMs?: number;
  /** Milliseconds clock (default Date.now). */
  clock?: () => number;
}

interface Entry<R> {
  key: string;
  expiresAt: number;
  response: R | undefined;
}

export type DedupResult<R> =
  /** First time seen: process it (and call `setResponse` for a CON). */
  | { duplicate: false }
  /** Duplicate: replay `response` if defined (CON), otherwise drop (NON, or still being processed). */
  | { duplicate: true; response: R | undefined };

const NEW: { duplicate: false } = Object.freeze({ duplicate: false as const });

export class DedupCache<R = Uint8Array> {
  private readonly map = new Map<string, Entry<R>>();
  /** Ring buffer of entries in arrival order; slots may hold stale entries (forgotten/replaced). */
  private readonly ring: (Entry<R> | undefined)[];
  private head = 0;
  private count = 0;
  private readonly max: number;
  private readonly conLifetime: number;
  private readonly nonLifetime: number;
  private readonly clock: () => number;
  /** Entries dropped before expiry because the cache was full. */
  evictions = 0;

  constructor(opts: DedupOptions = {}) {
    this.max = Math.max(1, opts.maxEntries ?? 100_000);
    this.ring = new Array<Entry<R> | undefined>(this.max).fill(undefined);
    this.conLifetime = opts.exchangeLifetimeMs ?? EXCHANGE_LIFETIME_MS;
    this.nonLifetime = opts.nonLifetimeMs ?? NON_LIFETIME_MS;
    this.clock = opts.clock ?? Date.now;
  }

  private static key(peer: string, mid: number): string {
    return `${peer}#${mid}`;
  }

  /**
   * Registers a received CON (`confirmable` true) or NON message. Returns whether it is a
   * duplicate and, for a duplicate CON, the stored response.
   */
  check(peer: string, mid: number, confirmable: boolean): DedupResult<R> {
    const now = this.clock();
    const key = DedupCache.key(peer, mid);
    const e = this.map.get(key);
    if (e !== undefined) {
      if (e.expiresAt > now) return { duplicate: true, response: e.response };
      this.map.delete(key);
    }
    this.purge(now);
    if (this.count === this.max) this.popHead(true);
    const entry: Entry<R> = { key, expiresAt: now + (confirmable ? this.conLifetime : this.nonLifetime), response: undefined };
    this.map.set(key, entry);
    this.ring[(this.head + this.count) % this.max] = entry;
    this.count++;
    return NEW;
  }

  /** Stores the response sent for (peer, MID), replayed for duplicates. No-op when unknown/expired. */
  setResponse(peer: string, mid: number, response: R): void {
    const e = this.map.get(DedupCache.key(peer, mid));
    if (e !== undefined && e.expiresAt > this.clock()) e.response = response;
  }

  /** Forgets (peer, MID) (e.g. processing failed and a retransmission should be processed again). */
  forget(peer: string, mid: number): void {
    this.map.delete(DedupCache.key(peer, mid));
  }

  /** Number of live entries. */
  get size(): number {
    return this.map.size;
  }

  /**
   * Drops expired entries from the head (oldest first), at most `limit` per call. Because CON
   * entries live longer than NON ones, an expired NON entry may wait behind a live CON entry;
   * lookups check expiry, and the size bound holds regardless.
   */
  purge(now: number = this.clock(), limit = 64): void {
    for (let n = 0; n < limit && this.count > 0; n++) {
      const e = this.ring[this.head]!;
      if (e.expiresAt > now && this.map.get(e.key) === e) break;
      this.popHead(false);
    }
  }

  private popHead(evicting: boolean): void {
    const e = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.max;
    this.count--;
    if (this.map.get(e.key) === e) {
      this.map.delete(e.key);
      if (evicting && e.expiresAt > this.clock()) this.evictions++;
    }
  }
}
