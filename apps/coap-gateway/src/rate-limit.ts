/**
 * Per-source token buckets with a bounded number of tracked sources (oldest forgotten
 * first: a Map keeps insertion order). O(1) per datagram, no timers.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly maxSources: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** True when `source` may send one more datagram now. */
  take(source: string): boolean {
    if (this.ratePerSec <= 0) return true;
    const now = this.clock();
    let b = this.buckets.get(source);
    if (!b) {
      if (this.buckets.size >= this.maxSources) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.burst, at: now };
      this.buckets.set(source, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.ratePerSec) / 1000);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}
