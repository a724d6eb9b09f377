import fc from 'fast-check';
import {
  BlockAssembler,
  CoapCode,
  CoapParseError,
  CoapType,
  DedupCache,
  MidGenerator,
  ObserveOrdering,
  RetransmissionState,
  TokenGenerator,
  decode,
  derivedTimes,
  isObserveFresh,
  nextObserveSeq,
  retransmissionSchedule,
  sliceBlock,
  sliceBlocks,
  tokenKey,
  transmissionParams,
} from './index';

describe('MidGenerator (RFC 7252 §4.4)', () => {
  it('starts at a random value and increments, wrapping at 16 bits', () => {
    const g = new MidGenerator(() => 0.99999);
    expect(g.next()).toBe(65535);
    expect(g.next()).toBe(0);
    expect(g.next()).toBe(1);
    expect(new MidGenerator(() => 0).next()).toBe(0);
    expect(new MidGenerator(() => 0.5).next()).toBe(32768);
  });
  it('default start is random', () => {
    const starts = new Set(Array.from({ length: 20 }, () => new MidGenerator().next()));
    expect(starts.size).toBeGreaterThan(1);
  });
});

describe('TokenGenerator (RFC 7252 §5.3.1)', () => {
  it('produces tokens of the configured length from the pool', () => {
    let fills = 0;
    const g = new TokenGenerator({ length: 4, poolSize: 8, fill: (b) => (fills++, b.fill(fills)) });
    const a = g.next();
    const b = g.next();
    const c = g.next(); // refill
    expect([a.length, b.length, c.length]).toEqual([4, 4, 4]);
    expect(fills).toBe(2);
    expect([...a]).toEqual([1, 1, 1, 1]); // not overwritten by the refill
    expect([...c]).toEqual([2, 2, 2, 2]);
  });
  it('crypto tokens are distinct; length 0 allowed; >8 rejected', () => {
    const g = new TokenGenerator();
    const keys = new Set(Array.from({ length: 5000 }, () => tokenKey(g.next())));
    expect(keys.size).toBe(5000);
    expect(new TokenGenerator({ length: 0 }).next().length).toBe(0);
    expect(() => new TokenGenerator({ length: 9 })).toThrow(RangeError);
  });
  it('tokenKey is the hex of the bytes', () => {
    expect(tokenKey(new Uint8Array([0, 0xab]))).toBe('00ab');
  });
});

describe('DedupCache (RFC 7252 §4.5)', () => {
  function setup(opts: { max?: number } = {}) {
    let now = 1_000_000;
    const clock = { advance: (ms: number) => (now += ms) };
    const cache = new DedupCache<string>({ clock: () => now, maxEntries: opts.max });
    return { cache, clock };
  }

  it('replays the stored response for a duplicate CON within EXCHANGE_LIFETIME (247 s)', () => {
    const { cache, clock } = setup();
    expect(cache.check('1.2.3.4:5683', 7, true)).toEqual({ duplicate: false });
    expect(cache.check('1.2.3.4:5683', 7, true)).toEqual({ duplicate: true, response: undefined }); // still processing
    cache.setResponse('1.2.3.4:5683', 7, 'ACK 2.01');
    clock.advance(246_999);
    expect(cache.check('1.2.3.4:5683', 7, true)).toEqual({ duplicate: true, response: 'ACK 2.01' });
    clock.advance(1);
    expect(cache.check('1.2.3.4:5683', 7, true)).toEqual({ duplicate: false });
  });

  it('NON entries live NON_LIFETIME (145 s)', () => {
    const { cache, clock } = setup();
    cache.check('p', 1, false);
    clock.advance(144_999);
    expect(cache.check('p', 1, false).duplicate).toBe(true);
    clock.advance(1);
    expect(cache.check('p', 1, false).duplicate).toBe(false);
  });

  it('keys by (peer, MID)', () => {
    const { cache } = setup();
    cache.check('a', 1, true);
    expect(cache.check('b', 1, true).duplicate).toBe(false);
    expect(cache.check('a', 2, true).duplicate).toBe(false);
  });

  it('is bounded: evicts the oldest entry when full', () => {
    const { cache } = setup({ max: 3 });
    for (let i = 0; i < 5; i++) cache.check('p', i, true);
    expect(cache.size).toBe(3);
    expect(cache.evictions).toBe(2);
    expect(cache.check('p', 4, true).duplicate).toBe(true);
    expect(cache.check('p', 0, true).duplicate).toBe(false);
  });

  it('purges expired entries as time passes (size stays small)', () => {
    const { cache, clock } = setup();
    for (let i = 0; i < 1000; i++) {
      cache.check('p', i, true);
      clock.advance(1000);
    }
    expect(cache.size).toBeLessThanOrEqual(248);
  });

  it('forget() allows reprocessing; setResponse on unknown is a no-op', () => {
    const { cache } = setup();
    cache.setResponse('p', 9, 'x');
    expect(cache.check('p', 9, true).duplicate).toBe(false);
    cache.forget('p', 9);
    expect(cache.check('p', 9, true).duplicate).toBe(false);
  });

  it('handles 200k operations quickly (O(1) per op)', () => {
    const { cache, clock } = setup({ max: 10_000 });
    const t0 = Date.now();
    for (let i = 0; i < 200_000; i++) {
      cache.check(`10.0.${i & 255}.1:5683`, i & 0xffff, (i & 1) === 0);
      if ((i & 1023) === 0) clock.advance(1000);
    }
    expect(cache.size).toBeLessThanOrEqual(10_000);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('retransmission (RFC 7252 §4.2, §4.8)', () => {
  it('derived times with defaults: 45 s, 93 s, 202 s, 247 s, 145 s', () => {
    expect(derivedTimes()).toEqual({
      maxTransmitSpanMs: 45_000,
      maxTransmitWaitMs: 93_000,
      processingDelayMs: 2000,
      maxRttMs: 202_000,
      exchangeLifetimeMs: 247_000,
      nonLifetimeMs: 145_000,
    });
  });

  it('schedule: initial timeout in [2 s, 3 s], doubling, MAX_RETRANSMIT+1 waits', () => {
    expect(retransmissionSchedule({}, () => 0)).toEqual([2000, 4000, 8000, 16000, 32000]);
    expect(retransmissionSchedule({}, () => 0.5)).toEqual([2500, 5000, 10000, 20000, 40000]);
    const max = retransmissionSchedule({}, () => 1);
    expect(max[0]).toBe(3000);
    // last retransmission at most MAX_TRANSMIT_SPAN after the first transmission
    expect(max.slice(0, 4).reduce((a, b) => a + b, 0)).toBe(45_000);
    expect(max.reduce((a, b) => a + b, 0)).toBe(93_000);
  });

  it('schedule honours configured parameters', () => {
    expect(retransmissionSchedule({ ackTimeoutMs: 1000, ackRandomFactor: 1, maxRetransmit: 2 }, () => 0.7)).toEqual([1000, 2000, 4000]);
    expect(() => transmissionParams({ ackRandomFactor: 0.5 })).toThrow(RangeError);
    expect(() => transmissionParams({ maxRetransmit: -1 })).toThrow(RangeError);
  });

  it('state object: retransmits MAX_RETRANSMIT times, then gives up', () => {
    const s = new RetransmissionState({}, () => 0);
    expect(s.initialTimeout).toBe(2000);
    expect(s.currentTimeout).toBe(2000);
    expect([s.onTimeout(), s.onTimeout(), s.onTimeout(), s.onTimeout()]).toEqual([4000, 8000, 16000, 32000]);
    expect(s.exhausted).toBe(true);
    expect(s.retransmissions).toBe(4);
    expect(s.onTimeout()).toBeUndefined();
  });

  it('property: every schedule stays within MAX_TRANSMIT_WAIT', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
        const s = retransmissionSchedule({}, () => r);
        expect(s[0]!).toBeGreaterThanOrEqual(2000);
        expect(s[0]!).toBeLessThanOrEqual(3000);
        expect(s.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(93_000);
      }),
    );
  });
});

describe('Observe ordering (RFC 7641 §3.4)', () => {
  const T = 1_000_000;
  it.each([
    ['V1 < V2 and V2 - V1 < 2^23', 5, 6, T, true],
    ['V1 < V2 and V2 - V1 = 2^23 is not fresh', 0, 2 ** 23, T, false],
    ['V1 > V2 and V1 - V2 > 2^23 (wrap-around)', 0xffffff, 1, T, true],
    ['V1 > V2 and V1 - V2 <= 2^23 is stale', 10, 9, T, false],
    ['equal values are stale', 7, 7, T, false],
    ['anything after 128 s is fresh', 10, 9, T + 128_001, true],
    ['exactly 128 s is not enough', 10, 9, T + 128_000, false],
  ])('%s', (_n, v1, v2, t2, fresh) => {
    expect(isObserveFresh(v1, T, v2, t2)).toBe(fresh);
  });

  it('ObserveOrdering keeps the newest notification', () => {
    let now = 0;
    const o = new ObserveOrdering(() => now);
    expect(o.last).toBeUndefined();
    expect(o.accept(100)).toBe(true);
    expect(o.accept(99)).toBe(false);
    expect(o.accept(101)).toBe(true);
    now += 200_000;
    expect(o.accept(3)).toBe(true);
    expect(o.last).toBe(3);
    expect(nextObserveSeq(0xffffff)).toBe(0);
  });
});

describe('block-wise (RFC 7959)', () => {
  const payload = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

  it('§2.2 slicing into 32-byte blocks (SZX 1)', () => {
    const blocks = sliceBlocks(payload, 1);
    expect(blocks.map((b) => [b.block.num, b.block.more, b.data.length])).toEqual([
      [0, true, 32],
      [1, true, 32],
      [2, true, 32],
      [3, false, 4],
    ]);
    expect(sliceBlock(payload, 4, 1)).toBeUndefined();
    expect(sliceBlocks(new Uint8Array(0), 6)).toEqual([{ block: { num: 0, more: false, szx: 6 }, data: new Uint8Array(0) }]);
    expect(sliceBlocks(Buffer.alloc(64), 1).map((b) => b.block.more)).toEqual([true, false]);
    expect(() => sliceBlock(payload, 0, 7)).toThrow(RangeError);
  });

  it('§2.5 Block1 reassembly in order', () => {
    const a = new BlockAssembler();
    const blocks = sliceBlocks(payload, 1);
    const results = blocks.map((b) => a.add(b.block, b.data));
    expect(results.slice(0, 3)).toEqual([
      { status: 'continue', nextNum: 1, szx: 1 },
      { status: 'continue', nextNum: 2, szx: 1 },
      { status: 'continue', nextNum: 3, szx: 1 },
    ]);
    const last = results[3]!;
    expect(last.status).toBe('complete');
    if (last.status === 'complete') expect(last.payload.equals(payload)).toBe(true);
  });

  it('§2.3 block size may shrink during the transfer', () => {
    const a = new BlockAssembler();
    expect(a.add({ num: 0, more: true, szx: 2 }, payload.subarray(0, 64)).status).toBe('continue');
    // continue with 16-byte blocks: offset 64 = num 4 * 16
    expect(a.add({ num: 4, more: true, szx: 0 }, payload.subarray(64, 80)).status).toBe('continue');
    const r = a.add({ num: 5, more: false, szx: 0 }, payload.subarray(80, 90));
    expect(r.status).toBe('complete');
    if (r.status === 'complete') expect(r.payload.equals(payload.subarray(0, 90))).toBe(true);
  });

  it('§2.9.2 gap or out-of-order → 4.08 Request Entity Incomplete', () => {
    const a = new BlockAssembler();
    a.add({ num: 0, more: true, szx: 1 }, payload.subarray(0, 32));
    expect(a.add({ num: 2, more: true, szx: 1 }, payload.subarray(64, 96))).toEqual({ status: 'incomplete', code: CoapCode.REQUEST_ENTITY_INCOMPLETE });
    expect(a.size).toBe(0); // reset
    expect(new BlockAssembler().add({ num: 1, more: false, szx: 1 }, payload.subarray(0, 4)).status).toBe('incomplete');
    // a non-final block shorter than the block size
    expect(new BlockAssembler().add({ num: 0, more: true, szx: 1 }, payload.subarray(0, 31)).status).toBe('incomplete');
  });

  it('retransmitted block is a duplicate, a different one is incomplete', () => {
    const a = new BlockAssembler();
    a.add({ num: 0, more: true, szx: 1 }, payload.subarray(0, 32));
    a.add({ num: 1, more: true, szx: 1 }, payload.subarray(32, 64));
    expect(a.add({ num: 1, more: true, szx: 1 }, payload.subarray(32, 64))).toEqual({ status: 'duplicate' });
    expect(a.add({ num: 0, more: true, szx: 1 }, payload.subarray(0, 32))).toEqual({ status: 'duplicate' });
    expect(a.add({ num: 1, more: true, szx: 1 }, payload.subarray(40, 72)).status).toBe('incomplete');
  });

  it('§2.9.3 too large → 4.13 with Size1 = maximum', () => {
    const a = new BlockAssembler({ maxSize: 64 });
    expect(a.add({ num: 0, more: true, szx: 1 }, payload.subarray(0, 32), 100)).toEqual({
      status: 'too-large',
      code: CoapCode.REQUEST_ENTITY_TOO_LARGE,
      size1: 64,
    });
    const b = new BlockAssembler({ maxSize: 64 });
    b.add({ num: 0, more: true, szx: 1 }, payload.subarray(0, 32));
    b.add({ num: 1, more: true, szx: 1 }, payload.subarray(32, 64));
    expect(b.add({ num: 2, more: false, szx: 1 }, payload.subarray(64, 70)).status).toBe('too-large');
  });

  it('property: slicing then reassembling returns the payload for every SZX', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 6 }), (p, szx) => {
        const a = new BlockAssembler({ maxSize: 4096 });
        let last: ReturnType<BlockAssembler['add']> | undefined;
        for (const b of sliceBlocks(p, szx)) last = a.add(b.block, b.data);
        expect(last?.status).toBe('complete');
        if (last?.status === 'complete') expect(Buffer.from(p).equals(last.payload)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('copies block data (datagram buffers may be reused)', () => {
    const a = new BlockAssembler();
    const buf = Buffer.from(payload.subarray(0, 32));
    a.add({ num: 0, more: true, szx: 1 }, buf);
    buf.fill(0);
    const r = a.add({ num: 1, more: false, szx: 1 }, payload.subarray(32, 40));
    if (r.status !== 'complete') throw new Error('expected complete');
    expect(r.payload.subarray(0, 32).equals(payload.subarray(0, 32))).toBe(true);
  });
});

describe('CoapParseError reaches decode callers only as a typed error', () => {
  it('is a CoapParseError with CON type info', () => {
    try {
      decode(Buffer.from('41010005', 'hex'));
      throw new Error('no throw');
    } catch (e) {
      expect(e).toBeInstanceOf(CoapParseError);
      expect((e as CoapParseError).reason).toBe('TRUNCATED_TOKEN');
      expect((e as CoapParseError).type).toBe(CoapType.CON);
    }
  });
});
