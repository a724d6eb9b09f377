import { RateLimiter } from './rate-limit';

describe('RateLimiter', () => {
  it('allows a burst, then the sustained rate', () => {
    let now = 0;
    const rl = new RateLimiter(10, 5, 100, () => now);
    const first = Array.from({ length: 8 }, () => rl.take('a'));
    expect(first).toEqual([true, true, true, true, true, false, false, false]);
    now += 100; // one token at 10/s
    expect([rl.take('a'), rl.take('a')]).toEqual([true, false]);
    expect(rl.take('b')).toBe(true); // other sources are independent
  });

  it('tracks a bounded number of sources', () => {
    const rl = new RateLimiter(1, 1, 3, () => 0);
    for (const s of ['a', 'b', 'c', 'd', 'e']) rl.take(s);
    expect(rl.size).toBe(3);
  });

  it('is disabled with rate 0', () => {
    const rl = new RateLimiter(0, 1, 3);
    expect(Array.from({ length: 100 }, () => rl.take('a')).every(Boolean)).toBe(true);
  });
});
