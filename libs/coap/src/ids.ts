/**
 * Message ID and token generators (RFC 7252 §4.4, §5.3.1).
 */
import { randomFillSync } from 'node:crypto';
import { MAX_TOKEN_LENGTH } from './constants';

/** A source of uniformly distributed numbers in [0, 1). */
export type RandomSource = () => number;

/**
 * Message ID generator: random start (RFC 7252 §4.4 "SHOULD be randomized"), +1 per call,
 * wraps at 16 bits.
 */
export class MidGenerator {
  private mid: number;

  constructor(random: RandomSource = Math.random) {
    this.mid = Math.floor(random() * 0x10000) & 0xffff;
  }

  next(): number {
    const m = this.mid;
    this.mid = (m + 1) & 0xffff;
    return m;
  }
}

export interface TokenGeneratorOptions {
  /** Token length in bytes, 0..8 (default 8; RFC 7252 §5.3.1 recommends ≥32 random bits when exposed). */
  length?: number;
  /** Bytes of randomness fetched per `crypto.randomFillSync` call (default 4096). */
  poolSize?: number;
  /** Injectable filler for tests (default crypto.randomFillSync). */
  fill?: (buf: Uint8Array) => void;
}

/**
 * Cryptographically random tokens from a pre-filled pool. Each refill allocates a new pool,
 * so tokens already handed out (views into the old pool) never change.
 */
export class TokenGenerator {
  readonly length: number;
  private readonly poolSize: number;
  private readonly fill: (buf: Uint8Array) => void;
  private pool: Buffer;
  private pos: number;

  constructor(opts: TokenGeneratorOptions = {}) {
    const length = opts.length ?? 8;
    if (!Number.isInteger(length) || length < 0 || length > MAX_TOKEN_LENGTH) {
      throw new RangeError(`token length must be 0..8, got ${length}`);
    }
    this.length = length;
    this.poolSize = Math.max(opts.poolSize ?? 4096, length);
    this.fill = opts.fill ?? ((b) => void randomFillSync(b));
    this.pool = Buffer.allocUnsafeSlow(0);
    this.pos = 0;
  }

  /** A new token (a view into the pool; do not write to it). */
  next(): Buffer {
    const n = this.length;
    if (this.pos + n > this.pool.length) {
      this.pool = Buffer.allocUnsafeSlow(this.poolSize);
      this.fill(this.pool);
      this.pos = 0;
    }
    const t = this.pool.subarray(this.pos, this.pos + n);
    this.pos += n;
    return t;
  }
}

/** Hex string of a token, for use as a map key. */
export function tokenKey(token: Uint8Array): string {
  return Buffer.from(token.buffer, token.byteOffset, token.byteLength).toString('hex');
}
