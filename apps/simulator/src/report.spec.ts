import { validateConfig } from './options';
import { diffCounts, mergeReport, type ProcessResult } from './report';
import { encodeHistogram, newHistogram, Stats } from './stats';

function result(i: number, latenciesMs: number[], registerOk: number): ProcessResult {
  const s = new Stats();
  for (const l of latenciesMs) s.record('register', l);
  s.counts.registerOk = registerOk;
  s.counts.requestsReceived.read = i + 1;
  s.response('2.01');
  const storm = newHistogram();
  storm.recordValue(1000 * (i + 1));
  const snap = s.snapshot();
  return {
    processIndex: i,
    ues: 100,
    firstIndex: i * 100,
    startedAt: 1_000_000 + i,
    endedAt: 1_010_000 + i,
    stats: snap,
    phases: [
      { name: 'ramp-up', action: 'register', startedAt: 1_000_000, endedAt: 1_002_000 + i * 1000, counts: snap.counts },
      { name: 'storm', action: 'storm', startedAt: 1_005_000, endedAt: 1_006_000, counts: snap.counts, stormLatency: encodeHistogram(storm) },
    ],
    memory: { rssBytes: 1000, heapUsedBytes: 500, bytesPerUe: 100 * (i + 1), heapBytesPerUe: 10, measuredUes: 100 },
    stopped: false,
  };
}

describe('report merge', () => {
  const config = validateConfig({ target: 'coap://127.0.0.1:5683' });

  it('sums counts, adds histograms and aligns phases of several processes', () => {
    const r = mergeReport(config, [result(0, [1, 2, 3], 100), result(1, [100, 200], 100)]);
    expect(r.version).toBe(1);
    expect(r.processes).toBe(2);
    expect(r.ues).toBe(200);
    expect(r.counts.registerOk).toBe(200);
    expect(r.counts.requestsReceived.read).toBe(3);
    expect(r.responsesByCode).toEqual({ '2.01': 2 });
    expect(r.latencyMs.register.count).toBe(5);
    expect(r.latencyMs.register.max).toBeGreaterThanOrEqual(199);
    expect(r.latencyMs.register.p50).toBeGreaterThanOrEqual(2.9);
    expect(r.latencyMs.register.p50).toBeLessThanOrEqual(3.1);
    expect(r.phases).toHaveLength(2);
    expect(r.phases[0]).toMatchObject({ name: 'ramp-up', seconds: 3, registerOk: 200, opsPerSec: 66.7 });
    expect(r.phases[1]!.latencyMs).toMatchObject({ count: 2 });
    expect(r.throughput.registerPerSec).toBe(66.7);
    expect(r.memory).toMatchObject({ rssBytes: 2000, bytesPerUe: 150, measuredUes: 200 });
    expect(r.startedAt).toBe(new Date(1_000_000).toISOString());
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('diffs counters', () => {
    const a = new Stats().counts;
    const b = structuredClone(a);
    b.updateOk = 5;
    b.requestsReceived.observe = 2;
    const d = diffCounts(b, a);
    expect(d.updateOk).toBe(5);
    expect(d.requestsReceived.observe).toBe(2);
    expect(d.registerOk).toBe(0);
  });
});
