import { addressesOf, defaultSourceBlock, SlotFreeList } from './socket-pool';

describe('SlotFreeList', () => {
  it('hands out released slots first-in first-out, so an address is reused as late as possible', () => {
    const f = new SlotFreeList(3);
    expect([f.take(), f.take()]).toEqual([0, 1]);
    f.give(0);
    expect(f.take()).toBe(2);
    expect(f.take()).toBe(0);
    expect(f.take()).toBe(-1);
    f.give(1);
    f.give(2);
    f.give(0);
    expect([f.take(), f.take(), f.take()]).toEqual([1, 2, 0]);
  });

  it('reports exhaustion and refuses a double release', () => {
    const f = new SlotFreeList(1);
    expect(f.take()).toBe(0);
    expect(f.free).toBe(0);
    expect(f.take()).toBe(-1);
    f.give(0);
    expect(() => f.give(0)).toThrow('released twice');
  });
});

describe('source addresses', () => {
  it('gives each process its own /16 on loopback', () => {
    expect(defaultSourceBlock(0)).toBe('127.10.0.0/16');
    expect(defaultSourceBlock(3)).toBe('127.13.0.0/16');
  });

  it('skips .0 and .255 and continues into the next /24', () => {
    const a = addressesOf('127.10.0.0/16', 256);
    expect(a[0]).toBe('127.10.0.1');
    expect(a[253]).toBe('127.10.0.254');
    expect(a[254]).toBe('127.10.1.1');
    expect(new Set(a).size).toBe(256);
  });

  it('takes disjoint parts with an offset and cycles a block that is too small', () => {
    const a = addressesOf('127.20.0.0/24', 3, 0);
    const b = addressesOf('127.20.0.0/24', 3, 3);
    expect(a.some((x) => b.includes(x))).toBe(false);
    expect(addressesOf('127.0.0.1/32', 3)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
  });

  it('rejects what is not a CIDR block', () => {
    expect(() => addressesOf('127.0.0.1', 1)).toThrow(RangeError);
    expect(() => addressesOf('300.0.0.0/8', 1)).toThrow(RangeError);
  });
});
