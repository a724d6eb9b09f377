/** One candidate LwM2M server of a bootstrap pool. */
export interface WeightedServer {
  uri: string;
  /** Relative share of devices (> 0; default 1). */
  weight?: number;
}

/**
 * 32-bit multiply modulo 2^32 (same result as Math.imul) in plain arithmetic: inside
 * jest's VM context Math.imul is a cross-realm builtin that V8 does not inline (~100×
 * slower), and the distribution specs hash millions of times.
 */
function mul32(a: number, b: number): number {
  const al = a & 0xffff;
  const bl = b & 0xffff;
  return ((((a >>> 16) * bl + al * (b >>> 16)) << 16) + al * bl) | 0;
}

/** Murmur3's 32-bit finaliser: full avalanche of a 32-bit state. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = mul32(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = mul32(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Uniform number in (0, 1) from a 53-bit non-cryptographic hash of `key \0 server`: two
 * 32-bit multiplicative lanes over the UTF-16 code units, cross-mixed and finalised.
 * Fast (the assignment runs per Bootstrap-Request, tests run it millions of times); the
 * inputs are not secret and a biased EPI only moves that one device.
 */
export function unitHash(key: string, server: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  const text = `${key}\0${server}`;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = mul32(a ^ c, 0x01000193);
    b = mul32(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  const h1 = fmix32((a ^ mul32(b, 0x27d4eb2d) ^ key.length) >>> 0);
  const h2 = fmix32((b + mul32(h1, 0x165667b1) + server.length) >>> 0);
  // 21 bits of h1 + 32 bits of h2 = 53 bits
  const n = (h1 >>> 11) * 2 ** 32 + h2;
  return (n + 0.5) / 2 ** 53;
}

/**
 * Weighted rendezvous (highest-random-weight) hashing: each server scores
 * `-weight / ln(h(key, server))` and the highest score wins. The probability that a
 * server wins is proportional to its weight; adding or removing a server only moves the
 * keys that the new server wins (or that the removed one held), about weight/total of
 * them, and never moves keys between the other servers. Deterministic: every gateway
 * instance assigns a given EPI to the same server without shared state.
 *
 * Returns undefined for an empty pool (or when every weight is 0).
 */
export function assignServer<S extends WeightedServer>(key: string, servers: readonly S[]): S | undefined {
  let best: S | undefined;
  let bestScore = -Infinity;
  for (const s of servers) {
    const w = s.weight ?? 1;
    if (!(w > 0)) continue;
    const score = -w / Math.log(unitHash(key, s.uri));
    // ties (practically impossible) resolved by URI so the result does not depend on order
    if (score > bestScore || (score === bestScore && best !== undefined && s.uri < best.uri)) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}
