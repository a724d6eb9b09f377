/**
 * Observe notification ordering (RFC 7641 §3.4, §4.4).
 */

/** Observe sequence numbers are 24-bit. */
export const OBSERVE_MAX = 0xffffff;
const HALF = 1 << 23;
/** Time after which any notification is considered fresher (RFC 7641 §3.4), 128 s. */
export const OBSERVE_FRESHNESS_MS = 128_000;

/**
 * True when notification (v2, t2) is newer than (v1, t1) (RFC 7641 §3.4):
 * (V1 < V2 and V2 - V1 < 2^23) or (V1 > V2 and V1 - V2 > 2^23) or (T2 > T1 + 128 s).
 * Times are in milliseconds from the same clock.
 */
export function isObserveFresh(v1: number, t1: number, v2: number, t2: number, windowMs = OBSERVE_FRESHNESS_MS): boolean {
  return (v1 < v2 && v2 - v1 < HALF) || (v1 > v2 && v1 - v2 > HALF) || t2 > t1 + windowMs;
}

/** Tracks the newest notification of one observation. */
export class ObserveOrdering {
  private v = -1;
  private t = 0;

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly windowMs = OBSERVE_FRESHNESS_MS,
  ) {}

  /**
   * Records a notification with sequence `value` received now; returns true when it is newer
   * than all previous ones (the caller should use it), false when it is stale (discard it).
   */
  accept(value: number, now: number = this.clock()): boolean {
    if (this.v < 0 || isObserveFresh(this.v, this.t, value, now, this.windowMs)) {
      this.v = value;
      this.t = now;
      return true;
    }
    return false;
  }

  get last(): number | undefined {
    return this.v < 0 ? undefined : this.v;
  }
}

/** Next 24-bit Observe sequence number for a server sending notifications. */
export function nextObserveSeq(v: number): number {
  return (v + 1) & OBSERVE_MAX;
}
