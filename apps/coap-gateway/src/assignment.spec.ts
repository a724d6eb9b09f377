import { assignServer, unitHash, type WeightedServer } from './assignment';

const N = 100_000;
const epis = Array.from({ length: N }, (_, i) => `86${String(1_000_000_000_000 + i * 7919)}`);

function distribution(pool: readonly WeightedServer[]): Map<string, number> {
  const counts = new Map<string, number>(pool.map((s) => [s.uri, 0]));
  for (const e of epis) {
    const s = assignServer(e, pool)!;
    counts.set(s.uri, (counts.get(s.uri) ?? 0) + 1);
  }
  return counts;
}

describe('spec §7.1 bootstrap server load scheduling: weighted rendezvous hashing of the EPI', () => {
  it('unitHash is in (0, 1) and deterministic', () => {
    for (let i = 0; i < 1000; i++) {
      const u = unitHash(`epi${i}`, 'coap://a');
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1);
    }
    expect(unitHash('x', 'y')).toBe(unitHash('x', 'y'));
    expect(unitHash('x', 'y')).not.toBe(unitHash('x', 'z'));
  });

  it('empty pool, zero weights → undefined; one server → always it', () => {
    expect(assignServer('86123', [])).toBeUndefined();
    expect(assignServer('86123', [{ uri: 'coap://a', weight: 0 }])).toBeUndefined();
    expect(assignServer('86123', [{ uri: 'coap://a' }])?.uri).toBe('coap://a');
  });

  it('does not depend on the order of the pool', () => {
    const pool = [{ uri: 'coap://a:5683', weight: 1 }, { uri: 'coap://b:5683', weight: 2 }, { uri: 'coap://c:5683', weight: 3 }];
    const rev = [...pool].reverse();
    const differ = epis.slice(0, 2000).filter((e) => assignServer(e, rev)?.uri !== assignServer(e, pool)?.uri);
    expect(differ).toEqual([]);
  });

  it('respects weights within 2 % over 100k EPIs (1:2:3:4)', () => {
    const pool = [1, 2, 3, 4].map((w) => ({ uri: `coap://10.0.0.${w}:5683`, weight: w }));
    const counts = distribution(pool);
    for (const s of pool) {
      const share = counts.get(s.uri)! / N;
      expect(Math.abs(share - s.weight / 10)).toBeLessThan(0.02);
    }
  });

  it('equal weights split evenly within 2 %', () => {
    const pool = Array.from({ length: 5 }, (_, i) => ({ uri: `coap://node-${i}:5683` }));
    const counts = distribution(pool);
    for (const s of pool) expect(Math.abs(counts.get(s.uri)! / N - 0.2)).toBeLessThan(0.02);
  });

  it('adding a server moves only ~1/n of the EPIs, all of them to the new server', () => {
    const before = Array.from({ length: 4 }, (_, i) => ({ uri: `coap://srv-${i}:5683`, weight: 1 }));
    const after = [...before, { uri: 'coap://srv-new:5683', weight: 1 }];
    let moved = 0;
    const movedElsewhere: string[] = [];
    for (const e of epis) {
      const a = assignServer(e, before)!.uri;
      const b = assignServer(e, after)!.uri;
      if (a !== b) {
        moved++;
        if (b !== 'coap://srv-new:5683') movedElsewhere.push(e);
      }
    }
    expect(movedElsewhere).toEqual([]);
    // expected 1/5 of the keys
    expect(Math.abs(moved / N - 0.2)).toBeLessThan(0.02);
  });

  it('removing a server moves only the EPIs it held', () => {
    const pool = Array.from({ length: 4 }, (_, i) => ({ uri: `coap://srv-${i}:5683`, weight: i + 1 }));
    const without = pool.filter((s) => s.uri !== 'coap://srv-2:5683');
    const changed: string[] = [];
    let held = 0;
    for (const e of epis.slice(0, 20_000)) {
      const a = assignServer(e, pool)!.uri;
      if (a === 'coap://srv-2:5683') held++;
      else if (assignServer(e, without)!.uri !== a) changed.push(e);
    }
    expect(changed).toEqual([]);
    expect(held).toBeGreaterThan(4000); // weight 3 of 10
  });
});
