// Abnormal values are stored flagged with their reason (R-OPS-3); identities and payloads
// are encrypted at rest (R-SEC-6); poison messages go to the dead-letter topic and are counted;
// the EPN version (R-EPI-2) and the source (here the first value of an Observe) are stored.
import { randomUUID } from 'node:crypto';
import { type DeadLetter, decodeMessage, Topics } from '@dmp/contracts';
import { waitUntil } from '@dmp/testing';
import { busClient, cassandra, dataEvent, dropKeyspace, epiRange, produceEvents, startStorage, type StorageProcess, storageEnv, warmUp } from './harness';

describe('storage: abnormal data, encryption at rest, poison messages (real Kafka + Cassandra)', () => {
  const env = storageEnv('storage_abn', { STORAGE_ENCRYPT_PAYLOADS: 'true' });
  const db = cassandra();
  const bus = busClient();
  const epi = epiRange();
  let svc: StorageProcess;

  beforeAll(async () => {
    await Promise.all([db.connect(), bus.connect()]);
    svc = await startStorage(env.env);
    await warmUp(bus, db, env, svc);
  }, 110000);
  afterAll(async () => {
    await svc?.kill('SIGTERM');
    await dropKeyspace(db, env.keyspace);
    await Promise.allSettled([bus.close(), db.shutdown()]);
  });

  it('stores abnormal values with a flag and the reason, never drops them', async () => {
    const device = epi(1);
    const now = Date.now();
    const ev = dataEvent(
      device,
      [
        { path: '/3/0/1', type: 'string', value: 'model-x' }, // normal
        { path: '/3303/0/5700', type: 'string', value: 'hot' }, // type mismatch (FLOAT)
        { path: '/3/0/9', type: 'integer', value: 150 }, // battery 0..100
        { path: '/3/0/999', type: 'integer', value: 7 }, // unknown resource
        { path: '/3/0/20', type: 'integer', value: 1, ts: now + 10 * 86_400_000 }, // far future
        { path: '/4/0/4/0', type: 'string', value: '10.20.30.40' }, // identity: encrypted
      ],
      { ts: now, raw: Buffer.from('payload as received').toString('base64') },
    );
    await produceEvents(bus, [ev]);
    const h = env.cipher.hash('epi', device);
    const rows = await waitUntil('the rows', async () => {
      const all = [];
      for (const bucket of [3, 3303, 4]) {
        for (const day of new Set([Math.floor(now / 86_400_000), Math.floor((now + 10 * 86_400_000) / 86_400_000)])) {
          const rs = await db.execute(`SELECT * FROM ${env.keyspace}.data_history WHERE epi_h = ? AND bucket = ? AND day = ?`, [h, bucket, day], { prepare: true });
          all.push(...rs.rows);
        }
      }
      return all.length === 6 ? all : undefined;
    }, 30000, 200);
    const byPath = new Map(rows.map((r) => [String(r['path']), r]));
    expect(byPath.get('/3/0/1')).toMatchObject({ abnormal: false, reason: null, value: 'model-x', type: 'string' });
    expect(byPath.get('/3303/0/5700')).toMatchObject({ abnormal: true, value: 'hot' });
    expect(byPath.get('/3303/0/5700')!['reason']).toBe('type-mismatch: resource is float, got string');
    expect(byPath.get('/3/0/9')).toMatchObject({ abnormal: true, reason: 'out-of-range: 150 not in 0..100', value: '150' });
    expect(byPath.get('/3/0/999')).toMatchObject({ abnormal: true, reason: 'unknown-resource: object 3 has no resource 999' });
    expect(byPath.get('/3/0/20')!['abnormal']).toBe(true);
    expect(String(byPath.get('/3/0/20')!['reason'])).toMatch(/^far-future-timestamp: .* is 864000 s after reception$/);

    // identity value: ciphertext + keyed hash, no clear text
    const ip = byPath.get('/4/0/4/0')!;
    expect(ip['value']).toBeNull();
    expect(env.cipher.decrypt(String(ip['key_id']), ip['value_enc'] as Buffer, 'value:/4/0/4/0').toString()).toBe('10.20.30.40');
    expect((ip['value_h'] as Buffer).equals(env.cipher.hash('value', '10.20.30.40'))).toBe(true);
    expect(env.cipher.decrypt(String(ip['key_id']), ip['epi_enc'] as Buffer, 'epi').toString()).toBe(device);

    // latest: the far-future value does not become "latest"; the others do, flagged
    const latest = await db.execute(`SELECT path, abnormal FROM ${env.keyspace}.data_latest WHERE epi_h = ? AND bucket = 3`, [h], { prepare: true });
    expect(latest.rows.map((r) => String(r['path'])).sort()).toEqual(['/3/0/1', '/3/0/9', '/3/0/999']);

    // raw payload, encrypted
    const raw = await db.execute(`SELECT raw, raw_encrypted, key_id FROM ${env.keyspace}.data_raw WHERE epi_h = ? AND day = ?`, [h, Math.floor(now / 86_400_000)], { prepare: true });
    expect(raw.rowLength).toBe(1);
    expect(raw.first()!['raw_encrypted']).toBe(true);
    expect(env.cipher.decrypt(String(raw.first()!['key_id']), raw.first()!['raw'] as Buffer, `raw:${ev.eventId}`).toString()).toBe('payload as received');

    const metric = (r: string) => svc.metric('dmp_storage_abnormal_values_total', `reason="${r}"`);
    await waitUntil('abnormal metrics', async () => {
      const got = await Promise.all(['type-mismatch', 'out-of-range', 'unknown-resource', 'far-future-timestamp'].map(metric));
      return got.every((n) => n >= 1);
    }, 10000);
  });

  it('stores the EPN version and the source of the first Observe value in data_raw, data_history and data_latest', async () => {
    const device = epi(3);
    const now = Date.now();
    const day = Math.floor(now / 86_400_000);
    const ev = dataEvent(device, [{ path: '/3/0/9', type: 'integer', value: 77 }], {
      ts: now,
      source: 'observe',
      version: 'v2.0',
      observeSeq: 0,
      raw: Buffer.from('first observe value').toString('base64'),
    });
    await produceEvents(bus, [ev]);
    const h = env.cipher.hash('epi', device);
    const raw = await waitUntil('the raw row', async () => {
      const rs = await db.execute(`SELECT event_id, source, version, observe_seq FROM ${env.keyspace}.data_raw WHERE epi_h = ? AND day = ?`, [h, day], { prepare: true });
      return rs.rowLength === 1 ? rs.first()! : undefined;
    }, 30000, 200);
    expect(raw).toMatchObject({ event_id: ev.eventId, source: 'observe', version: 'v2.0' });
    expect(Number(raw['observe_seq'])).toBe(0);
    const hist = await db.execute(`SELECT path, source, version, value FROM ${env.keyspace}.data_history WHERE epi_h = ? AND bucket = 3 AND day = ?`, [h, day], { prepare: true });
    expect(hist.rows.map((r) => ({ ...r }))).toEqual([{ path: '/3/0/9', source: 'observe', version: 'v2.0', value: '77' }]);
    const latest = await db.execute(`SELECT source, version FROM ${env.keyspace}.data_latest WHERE epi_h = ? AND bucket = 3 AND path = '/3/0/9'`, [h], { prepare: true });
    expect(latest.first()).toMatchObject({ source: 'observe', version: 'v2.0' });
  });

  it('sends a poison message to dmp.dead-letter.v1 with the reason and counts it', async () => {
    const device = epi(2);
    const dead: DeadLetter[] = [];
    const dltBus = busClient();
    await dltBus.connect();
    try {
      await dltBus.runConsumer({
        groupId: `storage-dlt-${randomUUID()}`,
        topics: [Topics.deadLetter.name],
        fromBeginning: true,
        sessionTimeoutMs: 6000,
        handler: async (m) => {
          if (m.key?.toString() === device) dead.push(decodeMessage(Topics.deadLetter, m.key, m.value).value);
        },
      });
      const before = await svc.metric('dmp_storage_dead_letters_total');
      const beforeKit = await svc.metric('dmp_kafka_dead_letters_total');
      // valid JSON, not a DataEvent (no values, no source); and one that is not JSON at all
      await bus.producer().send(Topics.data.name, [
        { key: device, value: JSON.stringify({ v: 1, epi: device, ts: Date.now(), eventId: randomUUID(), path: '/3/0' }) },
        { key: device, value: '{not json' },
      ]);
      const got = await waitUntil('two dead letters', async () => (dead.length >= 2 ? dead : undefined), 45000, 200);
      expect(got.map((d) => d.error).sort()).toEqual([expect.stringMatching(/^ContractError: dmp\.data\.v1: VALUE_INVALID: /), expect.stringMatching(/^ContractError: dmp\.data\.v1: VALUE_NOT_JSON: /)]);
      expect(got[0]).toMatchObject({ sourceTopic: 'dmp.data.v1', groupId: env.groupId, key: device });
      expect(await svc.metric('dmp_storage_dead_letters_total')).toBe(before + 2);
      expect(await svc.metric('dmp_storage_dead_letters_total', 'reason="VALUE_INVALID"')).toBeGreaterThanOrEqual(1);
      expect(await svc.metric('dmp_kafka_dead_letters_total')).toBe(beforeKit + 2);
      // nothing of it reached the tables, and the consumer went on
      await produceEvents(bus, [dataEvent(device, [{ path: '/3/0/9', type: 'integer', value: 42 }])]);
      await waitUntil('the next event stored', async () => {
        const rs = await db.execute(`SELECT value FROM ${env.keyspace}.data_latest WHERE epi_h = ? AND bucket = 3`, [env.cipher.hash('epi', device)], { prepare: true });
        return rs.rowLength === 1 && rs.first()!['value'] === '42';
      }, 30000, 200);
    } finally {
      await dltBus.close();
    }
  });
});
