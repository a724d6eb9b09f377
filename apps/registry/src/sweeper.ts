import { type DeviceEvent, encodeMessage, Topics } from '@dmp/contracts';
import type { EventProducer } from '@dmp/kafka';
import type { Redis, ScriptRunner } from '@dmp/redis';
import { EXPIRE, type ExpiredRecord, parseRecord, RECLAIM, regKeys, stableEventId } from './redis-layout';

/** Events per Kafka produce request (≈ 300 B each: well under the 1 MB default batch limit per partition). */
const PUBLISH_CHUNK = 1000;

export interface SweeperOptions {
  shards: number;
  graceMinMs: number;
  gracePercent: number;
  intervalMs: number;
  batch: number;
  pendingRetryMs: number;
  /** Where sweep errors go (the loop never stops on an error). */
  onError?: (e: unknown, where: string) => void;
  /** Called for every published `offline`, with the delay from deadline + grace (ms). */
  onOffline?: (rec: ExpiredRecord, delayMs: number) => void;
  /** Called after every sweep with its duration (ms) and the number of expiries. */
  onSweep?: (durationMs: number, expired: number) => void;
  now?: () => number;
}

const graceOf = (lt: number, o: SweeperOptions) => Math.max(o.graceMinMs, Math.floor(lt * o.gracePercent * 10));

/**
 * Lifetime tracking (spec §7.5, R-OFF-1). Every replica sweeps every shard of the
 * deadline index; a Lua script per shard claims the due entries atomically (the hash's
 * `dl` decides, so a registration refreshed after the candidate was read is kept), removes
 * the registration and parks a record in `dmp:offline:pending`. Two replicas can never
 * claim the same registration. The `offline` events are then published (acks=all), and
 * the records dropped from `pending`; a record left there by a replica that died between
 * the two steps is published again after REGISTRY_PENDING_RETRY_MS by any replica (same
 * event id, so consumers de-duplicate it). Replicas start at different shards so that they
 * rarely contend for the same shard in the same instant. No lock, no leader.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private offset: number;
  private lastReclaim = 0;
  private readonly now: () => number;

  constructor(
    private readonly scripts: ScriptRunner,
    private readonly redis: Redis,
    private readonly producer: EventProducer,
    private readonly o: SweeperOptions,
  ) {
    this.offset = Math.floor(Math.random() * o.shards);
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweepOnce()
        .then(() => undefined)
        .catch((e: unknown) => this.o.onError?.(e, 'sweep'))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.o.intervalMs);
        });
    }, ms);
  }

  /** Stops the loop and waits for the sweep in flight (its claimed records are published or left in pending). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await Promise.all(this.publishing);
  }

  private readonly publishing = new Set<Promise<number>>();

  /** One pass over every shard (and, now and then, over stale pending records). Returns the number of registrations timed out (their events are published in the background). */
  async sweepOnce(): Promise<number> {
    const t0 = this.now();
    const shards = Array.from({ length: this.o.shards }, (_, i) => (i + this.offset) % this.o.shards);
    this.offset = (this.offset + 1) % this.o.shards;
    // every shard's claim script in one pipelined round (auto-pipelining), then one Kafka
    // send for the whole pass: the idempotent producer sends one request at a time, so
    // one send per shard would queue 16 acknowledgements behind each other
    const claimed = (await Promise.all(shards.map((s) => this.claimShard(s, t0)))).flat();
    // publish in the background: a slow Kafka acknowledgement must not delay the next
    // claim (claimed records stay in the pending set until acknowledged, and `reclaim`
    // republishes what a failed or crashed publish left behind)
    const pub = this.publish(claimed).catch((e: unknown) => {
      this.o.onError?.(e, 'publish');
      return 0;
    });
    this.publishing.add(pub);
    void pub.finally(() => this.publishing.delete(pub));
    let total = claimed.length;
    if (t0 - this.lastReclaim >= this.o.pendingRetryMs / 2) {
      this.lastReclaim = t0;
      total += await this.reclaim(t0);
    }
    this.o.onSweep?.(this.now() - t0, total);
    return total;
  }

  private async claimShard(shard: number, now: number): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const res = (await this.scripts.run(EXPIRE, [regKeys.deadlines(shard), regKeys.pending], [now, this.o.graceMinMs, this.o.gracePercent, this.o.batch])) as [number, string[]];
      for (const r of res[1] ?? []) out.push(String(r));
      if (Number(res[0]) < this.o.batch || this.stopped) return out;
    }
  }

  private async reclaim(now: number): Promise<number> {
    let n = 0;
    for (;;) {
      const recs = ((await this.scripts.run(RECLAIM, [regKeys.pending], [now, this.o.pendingRetryMs, this.o.batch])) as string[]).map(String);
      if (recs.length) n += await this.publish(recs);
      if (recs.length < this.o.batch) return n;
    }
  }

  /**
   * Publishes the claimed records in chunks (one produce request and one ZREM per chunk: a
   * mass expiry of 100k records in one request would exceed the broker's batch limit, and a
   * ZREM with 100k arguments overflows the client's stack). A chunk leaves the pending set
   * only after Kafka acknowledged it.
   */
  private async publish(raws: string[]): Promise<number> {
    let published = 0;
    for (let i = 0; i < raws.length; i += PUBLISH_CHUNK) {
      const chunk = raws.slice(i, i + PUBLISH_CHUNK);
      const recs = chunk.map(parseRecord).filter((r): r is ExpiredRecord => r !== undefined);
      const ts = this.now();
      const messages = recs.map((r) => {
        const ev: DeviceEvent = {
          v: 1,
          type: 'offline',
          epi: r.epi,
          ts,
          eventId: stableEventId('offline', r.epi, r.deadline),
          reason: 'lifetime-timeout',
          deadline: r.deadline,
          lifetime: Number.isFinite(r.lifetime) && r.lifetime > 0 ? Math.floor(r.lifetime) : undefined,
          gatewayId: r.gatewayId || undefined,
          address: r.address,
        };
        return encodeMessage(Topics.deviceEvents, r.epi, ev);
      });
      if (messages.length) await this.producer.send(Topics.deviceEvents.name, messages);
      await this.redis.zrem(regKeys.pending, ...chunk);
      const done = this.now();
      if (this.o.onOffline) for (const r of recs) this.o.onOffline(r, done - (r.deadline + graceOf(r.lifetime, this.o)));
      published += recs.length;
    }
    return published;
  }
}
