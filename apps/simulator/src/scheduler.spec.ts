import { TimerWheel } from './scheduler';

describe('TimerWheel', () => {
  const collect = (w: TimerWheel, now: number): number[] => {
    const out: number[] = [];
    w.advance(now, (id) => out.push(id));
    return out;
  };

  it('never fires a timer before its due time and at most one tick late', () => {
    const w = new TimerWheel({ capacity: 10, tickMs: 10, buckets: 64 });
    collect(w, 1000);
    w.set(1, 1055);
    expect(collect(w, 1054)).toEqual([]);
    expect(collect(w, 1059)).toEqual([]); // same tick: not fully passed yet
    expect(collect(w, 1060)).toEqual([1]);
    expect(collect(w, 2000)).toEqual([]);
    expect(w.size).toBe(0);
  });

  it('re-arming moves a timer and cancelling removes it', () => {
    const w = new TimerWheel({ capacity: 10, tickMs: 10, buckets: 64 });
    collect(w, 0);
    w.set(2, 100);
    w.set(2, 300);
    w.set(3, 150);
    w.cancel(3);
    expect(w.size).toBe(1);
    expect(collect(w, 200)).toEqual([]);
    expect(collect(w, 320)).toEqual([2]);
  });

  it('keeps timers further away than one turn of the wheel', () => {
    const w = new TimerWheel({ capacity: 10, tickMs: 10, buckets: 16 }); // 160 ms span
    collect(w, 0);
    w.set(4, 1000);
    for (let t = 10; t < 1000; t += 10) expect(collect(w, t)).toEqual([]);
    expect(collect(w, 1020)).toEqual([4]);
  });

  it('fires timers in due order across a long gap, also ones armed while firing', () => {
    const w = new TimerWheel({ capacity: 10, tickMs: 10, buckets: 64 });
    collect(w, 0);
    w.set(5, 300);
    w.set(6, 100);
    w.set(7, 200);
    const order: number[] = [];
    w.advance(400, (id) => {
      order.push(id);
      if (id === 6) w.set(8, 0); // in the past: fires in this sweep
    });
    expect(order.slice(0, 1)).toEqual([6]);
    expect(order).toEqual(expect.arrayContaining([5, 6, 7, 8]));
    expect(order.indexOf(7)).toBeLessThan(order.indexOf(5));
  });

  it('handles many timers with few buckets', () => {
    const w = new TimerWheel({ capacity: 10_000, tickMs: 10, buckets: 32 });
    collect(w, 0);
    for (let i = 0; i < 10_000; i++) w.set(i, 10 + ((i * 7919) % 5000));
    let fired = 0;
    for (let t = 0; t <= 6000; t += 37) fired += w.advance(t, () => undefined);
    expect(fired).toBe(10_000);
    expect(w.size).toBe(0);
  });
});
