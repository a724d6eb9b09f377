import { randomBytes, randomUUID } from 'node:crypto';
import type { DataEvent } from '@dmp/contracts';
import { ObjectModelRegistry } from '@dmp/lwm2m';
import { FieldCipher } from './crypto';
import { RowBuilder, sensitiveMatcher } from './rows';
import { writeTime } from './writer';

const cipher = new FieldCipher({ k1: randomBytes(32) }, 'k1', randomBytes(32));
const opts = { sensitivePaths: ['/4/*/4', '/3/*/2'], storeRaw: true, encryptPayloads: true, maxFutureMs: 3600_000, maxPastMs: 86400_000 };
const T = Date.UTC(2025, 0, 2, 23, 59, 59, 500);

function event(values: DataEvent['values'], extra: Partial<DataEvent> = {}): DataEvent {
  return { v: 1, epi: '490154203237518', ts: T, eventId: randomUUID(), source: 'notify', path: '/3/0', contentFormat: 11542, values, ...extra };
}

describe('sensitiveMatcher', () => {
  it('matches resources and their instances', () => {
    const m = sensitiveMatcher(['/4/*/4', '/3/0/2']);
    expect(m('/4/0/4')).toBe(true);
    expect(m('/4/1/4/0')).toBe(true);
    expect(m('/4/0/40')).toBe(false);
    expect(m('/3/0/2')).toBe(true);
    expect(m('/3/1/2')).toBe(false);
    expect(sensitiveMatcher([])('/4/0/4')).toBe(false);
  });
});

describe('RowBuilder', () => {
  const b = new RowBuilder(cipher, ObjectModelRegistry.default(), opts);

  it('keys rows by keyed EPI hash, object bucket and UTC day of the value time', () => {
    const ev = event([
      { path: '/3/0/9', type: 'integer', value: 80 },
      { path: '/3303/0/5700', type: 'float', value: 20.5, ts: T + 1000 },
    ]);
    const { values } = b.build(ev);
    expect(values).toHaveLength(2);
    expect(values[0]).toMatchObject({ bucket: 3, day: 20090, ts: T, path: '/3/0/9', idx: 0, value: '80', num: 80, abnormal: false, latest: true });
    expect(values[1]).toMatchObject({ bucket: 3303, day: 20091, idx: 1, value: '20.5', num: 20.5 });
    expect(values[0]!.epiH.equals(cipher.hash('epi', ev.epi))).toBe(true);
    expect(cipher.decrypt(values[0]!.keyId, values[0]!.epiEnc, 'epi').toString()).toBe(ev.epi);
    expect(JSON.stringify(values)).not.toContain(ev.epi);
  });

  it('encrypts sensitive values and keeps a keyed hash for lookups', () => {
    const { values } = b.build(event([{ path: '/4/0/4/0', type: 'string', value: '10.20.30.40' }]));
    const r = values[0]!;
    expect(r.value).toBeUndefined();
    expect(r.num).toBeUndefined();
    expect(cipher.decrypt(r.keyId, r.valueEnc!, 'value:/4/0/4/0').toString()).toBe('10.20.30.40');
    expect(r.valueH!.equals(cipher.hash('value', '10.20.30.40'))).toBe(true);
  });

  it('flags abnormal values with their reasons; abnormal times never become latest', () => {
    const { values } = b.build(
      event([
        { path: '/3/0/9', type: 'integer', value: 150 },
        { path: '/3/0/9', type: 'integer', value: 50, ts: T + 86400_000 },
      ]),
    );
    expect(values[0]).toMatchObject({ abnormal: true, reason: 'out-of-range: 150 not in 0..100', latest: true });
    expect(values[1]).toMatchObject({ abnormal: true, codes: ['far-future-timestamp'], latest: false });
  });

  it('stores the raw payload encrypted or in clear as configured', () => {
    const raw = Buffer.from('hello').toString('base64');
    const enc = b.build(event([], { raw })).raw!;
    expect(enc.rawEncrypted).toBe(true);
    expect(cipher.decrypt(enc.keyId, enc.raw, `raw:${enc.eventId}`).toString()).toBe('hello');
    const clear = new RowBuilder(cipher, ObjectModelRegistry.default(), { ...opts, encryptPayloads: false }).build(event([], { raw })).raw!;
    expect(clear).toMatchObject({ rawEncrypted: false, raw: Buffer.from('hello') });
    expect(new RowBuilder(cipher, ObjectModelRegistry.default(), { ...opts, storeRaw: false }).build(event([], { raw })).raw).toBeUndefined();
  });

  it('is deterministic in its keys (replay lands on the same rows) and clamps wild times', () => {
    const ev = event([{ path: '/3/0/9', type: 'integer', value: 1, ts: 9e18 }]);
    const a = b.build(ev).values[0]!;
    const c = b.build(ev).values[0]!;
    expect([a.epiH, a.bucket, a.day, a.ts, a.path, a.eventId, a.idx]).toEqual([c.epiH, c.bucket, c.day, c.ts, c.path, c.eventId, c.idx]);
    expect(a.ts).toBe(8.64e15);
    expect(a.latest).toBe(false);
  });

  it('carries the EPN version (R-EPI-2) to every value row and the raw row; absent stays undefined', () => {
    const raw = Buffer.from('p').toString('base64');
    const values = [
      { path: '/3/0/9', type: 'integer' as const, value: 80 },
      { path: '/4/0/4/0', type: 'string' as const, value: '10.20.30.40' }, // sensitive: still carries the version
    ];
    const withV = b.build(event(values, { version: 'v2.0', raw }));
    expect(withV.values.map((r) => r.version)).toEqual(['v2.0', 'v2.0']);
    expect(withV.raw!.version).toBe('v2.0');
    const without = b.build(event(values, { raw }));
    expect(without.values.map((r) => r.version)).toEqual([undefined, undefined]);
    expect(without.raw!.version).toBeUndefined();
    // the version is not part of any key: the same event with or without it lands on the same rows
    const ev = event(values, { raw });
    const a = b.build({ ...ev, version: 'v2.0' });
    const c = b.build(ev);
    const key = (r: { epiH: Buffer; bucket: number; day: number; ts: number; path: string; eventId: string; idx: number }) => [r.epiH, r.bucket, r.day, r.ts, r.path, r.eventId, r.idx];
    expect(a.values.map(key)).toEqual(c.values.map(key));
    expect([a.raw!.epiH, a.raw!.day, a.raw!.ts, a.raw!.eventId]).toEqual([c.raw!.epiH, c.raw!.day, c.raw!.ts, c.raw!.eventId]);
  });

  it.each(['notify', 'read', 'observe', 'send'] as const)('builds value and raw rows for source %s', (source) => {
    const raw = Buffer.from('p').toString('base64');
    const { values, raw: r } = b.build(event([{ path: '/3/0/9', type: 'integer', value: 80 }], { source, version: 'v2.0', raw, observeSeq: source === 'observe' ? 0 : undefined }));
    expect(values).toHaveLength(1);
    expect(values[0]).toMatchObject({ source, version: 'v2.0', path: '/3/0/9', value: '80', abnormal: false, latest: true });
    expect(r).toMatchObject({ source, version: 'v2.0', path: '/3/0', observeSeq: source === 'observe' ? 0 : undefined });
  });

  it('orders latest writes by value time, then by position in the event', () => {
    expect(writeTime({ ts: 2, idx: 0 })).toBeGreaterThan(writeTime({ ts: 1, idx: 5 }));
    expect(writeTime({ ts: 1, idx: 1 })).toBeGreaterThan(writeTime({ ts: 1, idx: 0 }));
  });
});
