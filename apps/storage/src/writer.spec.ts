import { randomBytes } from 'node:crypto';
import type { CassandraClient } from '@dmp/cassandra';
import { cassandraTypes } from '@dmp/cassandra';
import type { RawRow, ValueRow } from './rows';
import { StorageWriter } from './writer';

interface Call {
  query: string;
  params: unknown[];
}

/** A client that records every statement (single or batched) and acknowledges it. */
function fakeClient(): { client: CassandraClient; calls: Call[] } {
  const calls: Call[] = [];
  const client = {
    execute: async (query: string, params: unknown[]) => {
      calls.push({ query, params });
      return {};
    },
    batch: async (qs: Call[]) => {
      calls.push(...qs);
      return {};
    },
  } as unknown as CassandraClient;
  return { client, calls };
}

/** Column name → bound value of an INSERT (the TTL / TIMESTAMP parameters follow the columns). */
function byColumn(c: Call): Record<string, unknown> {
  const cols = /\(([^)]*)\) VALUES/.exec(c.query)![1]!.split(',').map((s) => s.trim());
  const marks = /VALUES \(([^)]*)\)/.exec(c.query)![1]!.split(',').length;
  expect(marks).toBe(cols.length);
  return Object.fromEntries(cols.map((col, i) => [col, c.params[i]]));
}

const epiH = randomBytes(32);
function valueRow(extra: Partial<ValueRow> = {}): ValueRow {
  return {
    epiH,
    bucket: 3,
    day: 20090,
    ts: 1_735_862_399_500,
    path: '/3/0/9',
    eventId: 'e0000001',
    idx: 0,
    source: 'observe',
    version: 'v2.0',
    type: 'integer',
    value: '80',
    num: 80,
    valueEnc: undefined,
    valueH: undefined,
    keyId: 'k1',
    epiEnc: randomBytes(40),
    abnormal: false,
    reason: undefined,
    codes: [],
    receivedAt: 1_735_862_399_500,
    latest: true,
    ...extra,
  };
}
function rawRow(extra: Partial<RawRow> = {}): RawRow {
  return {
    epiH,
    day: 20090,
    ts: 1_735_862_399_500,
    eventId: 'e0000001',
    source: 'observe',
    version: 'v2.0',
    path: '/3/0',
    contentFormat: 11542,
    observeSeq: 0,
    raw: Buffer.from('p'),
    rawEncrypted: false,
    keyId: 'k1',
    epiEnc: randomBytes(40),
    ...extra,
  };
}

const opts = { keyspace: 'ks', historyTtlS: 10, latestTtlS: 0, rawTtlS: 20, batchRows: 40, concurrency: 4 };
const table = (calls: Call[], t: string) => calls.filter((c) => c.query.includes(`ks.${t} `)).map(byColumn);

describe('StorageWriter', () => {
  it('writes source and version to data_history, data_latest and data_raw', async () => {
    const { client, calls } = fakeClient();
    await new StorageWriter(client, opts).write([valueRow()], [rawRow()]);
    for (const t of ['data_history', 'data_latest', 'data_raw']) {
      const rows = table(calls, t);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ source: 'observe', version: 'v2.0', event_id: 'e0000001' });
    }
    expect(table(calls, 'data_history')[0]).toMatchObject({ path: '/3/0/9', idx: 0, type: 'integer', value: '80', num: 80, key_id: 'k1', abnormal: false });
    expect(table(calls, 'data_raw')[0]).toMatchObject({ path: '/3/0', content_format: 11542, raw_encrypted: false, key_id: 'k1' });
  });

  it('leaves an absent version unset in history and raw (no tombstone) and null in latest (nothing of an older value survives)', async () => {
    const { client, calls } = fakeClient();
    await new StorageWriter(client, opts).write([valueRow({ version: undefined })], [rawRow({ version: undefined })]);
    expect(table(calls, 'data_history')[0]!['version']).toBe(cassandraTypes.unset);
    expect(table(calls, 'data_raw')[0]!['version']).toBe(cassandraTypes.unset);
    expect(table(calls, 'data_latest')[0]!['version']).toBeNull();
  });

  it('keeps the TTL and write-timestamp parameters after the columns', async () => {
    const { client, calls } = fakeClient();
    await new StorageWriter(client, opts).write([valueRow()], [rawRow()]);
    const last = (t: string) => calls.find((c) => c.query.includes(`ks.${t} `))!.params;
    const h = last('data_history');
    expect(h[h.length - 1]).toBe(10);
    const l = last('data_latest');
    expect(l[l.length - 2]).toBe(0);
    expect(String(l[l.length - 1])).toBe(String(1_735_862_399_500 * 1000));
    const r = last('data_raw');
    expect(r[r.length - 1]).toBe(20);
  });
});
