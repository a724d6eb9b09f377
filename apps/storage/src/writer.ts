import { type CassandraClient, cassandraTypes } from '@dmp/cassandra';
import type { RawRow, ValueRow } from './rows';

export interface WriterOptions {
  keyspace: string;
  historyTtlS: number;
  latestTtlS: number;
  rawTtlS: number;
  /** Rows per single-partition unlogged batch. */
  batchRows: number;
  /** Cassandra requests in flight at once (shared by every caller of this writer). */
  concurrency: number;
}

interface Query {
  query: string;
  params: unknown[];
}

/** Counting semaphore: bounds the requests in flight over every Kafka partition being processed. */
export class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

const unset = cassandraTypes.unset;
const opt = <T>(v: T | undefined) => (v === undefined ? unset : v);
const orNull = <T>(v: T | undefined) => (v === undefined ? null : v);

/**
 * Writes rows with prepared statements, grouped by Cassandra partition into unlogged
 * single-partition batches (one mutation per partition for the node), with bounded
 * concurrency. Resolves only when every row is acknowledged (LOCAL_QUORUM), so the
 * caller may then commit the Kafka offsets.
 *
 * History and raw rows are insert-only with deterministic keys; absent columns are left
 * `unset` (no tombstones). Latest rows are upserts with the value time as write
 * timestamp (last write wins = newest value wins, whatever the arrival order), and they
 * write absent columns as null so that no cell of an older value survives.
 */
export class StorageWriter {
  private readonly sem: Semaphore;
  private readonly history: string;
  private readonly latest: string;
  private readonly raw: string;

  constructor(
    private readonly client: CassandraClient,
    private readonly opts: WriterOptions,
  ) {
    if (!/^[a-z][a-z0-9_]{0,47}$/.test(opts.keyspace)) throw new Error(`bad keyspace ${opts.keyspace}`);
    this.sem = new Semaphore(opts.concurrency);
    const ks = opts.keyspace;
    this.history =
      `INSERT INTO ${ks}.data_history (epi_h, bucket, day, ts, path, event_id, idx, source, version, type, value, num, value_enc, value_h, key_id, epi_enc, abnormal, reason, received_at) ` +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?';
    this.latest =
      `INSERT INTO ${ks}.data_latest (epi_h, bucket, path, ts, event_id, source, version, type, value, num, value_enc, value_h, key_id, epi_enc, abnormal, reason, received_at) ` +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?';
    this.raw =
      `INSERT INTO ${ks}.data_raw (epi_h, day, ts, event_id, source, version, path, content_format, observe_seq, raw, raw_encrypted, key_id, epi_enc) ` +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?';
  }

  /** Fails fast when the schema (migrations 0003 and 0004) is missing. */
  async check(): Promise<void> {
    for (const t of ['data_history', 'data_latest', 'data_raw']) {
      await this.client.execute(`SELECT epi_h, version FROM ${this.opts.keyspace}.${t} LIMIT 1`, [], { prepare: true });
    }
  }

  async write(values: readonly ValueRow[], raws: readonly RawRow[]): Promise<void> {
    const groups = new Map<string, Query[]>();
    const add = (key: string, q: Query) => {
      const g = groups.get(key);
      if (g) g.push(q);
      else groups.set(key, [q]);
    };
    const { historyTtlS, latestTtlS, rawTtlS } = this.opts;

    // newest value per resource in this batch (equal write times are all written: Cassandra decides)
    const newest = new Map<string, ValueRow[]>();
    for (const r of values) {
      const hk = `h${r.epiH.toString('hex')}:${r.bucket}:${r.day}`;
      add(hk, {
        query: this.history,
        params: [r.epiH, r.bucket, r.day, r.ts, r.path, r.eventId, r.idx, r.source, opt(r.version), r.type, opt(r.value), opt(r.num), opt(r.valueEnc), opt(r.valueH), r.keyId, r.epiEnc, r.abnormal, opt(r.reason), r.receivedAt, historyTtlS],
      });
      if (!r.latest) continue;
      const lk = `${r.epiH.toString('hex')}:${r.bucket}:${r.path}`;
      const cur = newest.get(lk);
      if (!cur || writeTime(r) > writeTime(cur[0]!)) newest.set(lk, [r]);
      else if (writeTime(r) === writeTime(cur[0]!)) cur.push(r);
    }
    for (const rows of newest.values()) {
      for (const r of rows) {
        add(`l${r.epiH.toString('hex')}:${r.bucket}`, {
          query: this.latest,
          params: [r.epiH, r.bucket, r.path, r.ts, r.eventId, r.source, orNull(r.version), r.type, orNull(r.value), orNull(r.num), orNull(r.valueEnc), orNull(r.valueH), r.keyId, r.epiEnc, r.abnormal, orNull(r.reason), r.receivedAt, latestTtlS, cassandraTypes.Long.fromNumber(writeTime(r))],
        });
      }
    }
    for (const r of raws) {
      add(`r${r.epiH.toString('hex')}:${r.day}`, {
        query: this.raw,
        params: [r.epiH, r.day, r.ts, r.eventId, r.source, opt(r.version), r.path, r.contentFormat, opt(r.observeSeq === undefined ? undefined : cassandraTypes.Long.fromNumber(r.observeSeq)), r.raw, r.rawEncrypted, r.keyId, r.epiEnc, rawTtlS],
      });
    }

    const tasks: Promise<unknown>[] = [];
    const size = this.opts.batchRows;
    for (const qs of groups.values()) {
      for (let i = 0; i < qs.length; i += size) {
        const chunk = qs.slice(i, i + size);
        tasks.push(
          this.sem.use(() =>
            chunk.length === 1
              ? this.client.execute(chunk[0]!.query, chunk[0]!.params, { prepare: true })
              : this.client.batch(chunk, { prepare: true, logged: false }),
          ),
        );
      }
    }
    const results = await Promise.allSettled(tasks);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** Write timestamp (µs) of a latest row: the value time, the value's index breaking ties within an event. */
export function writeTime(r: Pick<ValueRow, 'ts' | 'idx'>): number {
  return r.ts * 1000 + Math.min(r.idx, 999);
}
