// kill -9 in the middle of a 50,000-value burst, restart: every value is in Cassandra
// exactly once (history rows per partition), latest has one row per (device, resource)
// holding the newest value.
import type { DataEvent } from '@dmp/contracts';
import { waitUntil } from '@dmp/testing';
import { busClient, cassandra, dataEvent, dropKeyspace, epiRange, produceEvents, startStorage, type StorageProcess, storageEnv, warmUp } from './harness';

const DEVICES = 200;
const EVENTS_PER_DEVICE = 63; // x 4 values → 50,400 ≥ 50,000; trimmed to exactly 50,000 below
const TOTAL_VALUES = 50_000;
const PATHS = ['/3/0/9', '/3/0/7/0', '/3303/0/5700', '/3304/0/5700'];

describe('storage: crash in the middle of a burst (real Kafka + Cassandra)', () => {
  const env = storageEnv('storage_crash');
  const db = cassandra();
  const bus = busClient();
  let svc: StorageProcess | undefined;

  beforeAll(async () => {
    await Promise.all([db.connect(), bus.connect()]);
  });
  afterAll(async () => {
    await svc?.kill('SIGKILL');
    await dropKeyspace(db, env.keyspace);
    await Promise.allSettled([bus.close(), db.shutdown()]);
  });

  it('stores every value exactly once after kill -9 and restart', async () => {
    svc = await startStorage(env.env);
    await warmUp(bus, db, env, svc);

    // the burst: 200 devices, events of 4 values with distinct times, 50,000 values in all
    const epi = epiRange();
    const base = Date.now() - 60_000;
    const events: DataEvent[] = [];
    let values = 0;
    for (let j = 0; j < EVENTS_PER_DEVICE && values < TOTAL_VALUES; j++) {
      for (let d = 0; d < DEVICES && values < TOTAL_VALUES; d++) {
        const n = Math.min(4, TOTAL_VALUES - values);
        const ts = base + j * 100 + d;
        events.push(
          dataEvent(epi(d), PATHS.slice(0, n).map((p, k) => ({ path: p, type: k < 2 ? 'integer' : 'float', value: k === 0 ? j % 101 : j + k + 0.5, ts })), { ts: ts + 5 }),
        );
        values += n;
      }
    }
    expect(values).toBe(TOTAL_VALUES);

    const before = await svc.metric('dmp_storage_values_total');
    const producing = produceEvents(bus, events, 250);
    const atKill = await waitUntil('storage to be in the middle of the burst', async () => {
      const done = (await svc!.metric('dmp_storage_values_total')) - before;
      return done >= 8_000 ? done : undefined;
    }, 60000, 20);
    const exit = await svc.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    expect(atKill).toBeLessThan(TOTAL_VALUES);
    await producing;

    const restarted = Date.now();
    svc = await startStorage(env.env);

    // expected partitions and rows
    const byPartition = new Map<string, { epi: string; bucket: number; day: number; n: number }>();
    const newest = new Map<string, { ts: number; value: string }>();
    for (const e of events) {
      for (const v of e.values) {
        const bucket = Number(v.path.split('/')[1]);
        const day = Math.floor(v.ts! / 86_400_000);
        const k = `${e.epi}|${bucket}|${day}`;
        const p = byPartition.get(k) ?? { epi: e.epi, bucket, day, n: 0 };
        p.n++;
        byPartition.set(k, p);
        const lk = `${e.epi}|${v.path}`;
        if ((newest.get(lk)?.ts ?? -1) < v.ts!) newest.set(lk, { ts: v.ts!, value: String(v.value) });
      }
    }
    const countHistory = async () => {
      let total = 0;
      const parts = [...byPartition.values()];
      for (let i = 0; i < parts.length; i += 100) {
        const counts = await Promise.all(
          parts.slice(i, i + 100).map(async (p) => {
            const rs = await db.execute(`SELECT COUNT(*) AS n FROM ${env.keyspace}.data_history WHERE epi_h = ? AND bucket = ? AND day = ?`, [env.cipher.hash('epi', p.epi), p.bucket, p.day], { prepare: true });
            return { p, n: Number(rs.first()!['n']) };
          }),
        );
        for (const c of counts) {
          expect(c.n).toBeLessThanOrEqual(c.p.n); // never a duplicate, at any time
          total += c.n;
        }
      }
      return total;
    };
    await waitUntil('all 50,000 values in Cassandra', async () => (await countHistory()) === TOTAL_VALUES, 90000, 1000);
    const second = await svc.metric('dmp_storage_values_total');
    process.stdout.write(`crash test: killed after >= ${atKill} values written, restarted instance wrote ${second} (warm-up excluded: none), complete ${Date.now() - restarted} ms after restart\n`);
    // a deterministic replay as well (the kill above may fall between two batches): the
    // same 2,000 events delivered again change nothing
    const beforeReplay = await svc.metric('dmp_storage_values_total');
    await produceEvents(bus, events.slice(0, 2000), 250);
    await waitUntil('the replay consumed', async () => (await svc!.metric('dmp_storage_values_total')) >= beforeReplay + 8000, 60000, 200);
    expect(await countHistory()).toBe(TOTAL_VALUES);
    // and each partition holds exactly its own values
    for (const p of byPartition.values()) {
      const rs = await db.execute(`SELECT COUNT(*) AS n FROM ${env.keyspace}.data_history WHERE epi_h = ? AND bucket = ? AND day = ?`, [env.cipher.hash('epi', p.epi), p.bucket, p.day], { prepare: true });
      expect(Number(rs.first()!['n'])).toBe(p.n);
    }

    // latest: one row per (device, path) with the newest value
    let latestRows = 0;
    const devices = [...new Set(events.map((e) => e.epi))];
    for (const d of devices) {
      for (const bucket of [3, 3303, 3304]) {
        const rs = await db.execute(`SELECT path, ts, value, epi_enc, key_id FROM ${env.keyspace}.data_latest WHERE epi_h = ? AND bucket = ?`, [env.cipher.hash('epi', d), bucket], { prepare: true });
        latestRows += rs.rowLength;
        for (const r of rs.rows) {
          const want = newest.get(`${d}|${String(r['path'])}`)!;
          expect({ ts: (r['ts'] as Date).getTime(), value: r['value'] as string }).toEqual(want);
          expect(env.cipher.decrypt(r['key_id'] as string, r['epi_enc'] as Buffer, 'epi').toString()).toBe(d);
        }
      }
    }
    expect(latestRows).toBe(newest.size);
    expect(newest.size).toBe(DEVICES * PATHS.length);
  });
});
