import { ContractError, type DataEvent, type DeadLetter, decodeMessage, encodeMessage, Topics, type TopicSpec } from '@dmp/contracts';
import type { EventProducer, IncomingMessage } from '@dmp/kafka';
import type { StorageMetrics } from './metrics';
import type { RawRow, RowBuilder, ValueRow } from './rows';
import type { StorageWriter } from './writer';

export interface ProcessorOptions {
  /** Topic consumed (its name decorates contract errors). */
  topic: string;
  groupId: string;
  deadLetterTopic: string;
}

/**
 * One consumed batch (one Kafka partition) → Cassandra. Messages that are not valid
 * DataEvents (poison) go to the dead-letter topic with the reason; everything else is
 * written; the method resolves only when both are acknowledged, and the caller (the
 * consumer) commits the offsets after that. A Cassandra failure rejects: nothing is
 * committed, the batch is retried and, if the store stays down, the partition stops
 * (it is never dead-lettered: valid data waits for the store instead of being dropped).
 */
export class StorageProcessor {
  private readonly spec: TopicSpec;

  constructor(
    private readonly builder: RowBuilder,
    private readonly writer: StorageWriter,
    private readonly producer: EventProducer,
    private readonly metrics: StorageMetrics,
    private readonly opts: ProcessorOptions,
  ) {
    this.spec = { ...Topics.data, name: opts.topic };
  }

  async process(msgs: readonly IncomingMessage[]): Promise<void> {
    const started = Date.now();
    const values: ValueRow[] = [];
    const raws: RawRow[] = [];
    const events: DataEvent[] = [];
    const dead: Array<{ msg: IncomingMessage; error: ContractError }> = [];
    for (const msg of msgs) {
      let ev: DataEvent;
      try {
        const decoded = decodeMessage(this.spec, msg.key, msg.value);
        ev = decoded.value as DataEvent;
        if (decoded.key !== ev.epi) throw new ContractError(this.spec.name, 'KEY_INVALID', `key ${String(decoded.key)} differs from the event's epi`);
      } catch (e) {
        if (e instanceof ContractError) {
          dead.push({ msg, error: e });
          continue;
        }
        throw e;
      }
      const rows = this.builder.build(ev);
      values.push(...rows.values);
      if (rows.raw) raws.push(rows.raw);
      events.push(ev);
    }
    if (values.length || raws.length) await this.writer.write(values, raws);
    if (dead.length) {
      await this.producer.send(
        this.opts.deadLetterTopic,
        dead.map(({ msg, error }) => {
          const dl: DeadLetter = {
            v: 1,
            sourceTopic: msg.topic,
            partition: msg.partition,
            offset: msg.offset,
            key: msg.key?.toString() ?? null,
            value: msg.value?.toString('base64') ?? null,
            error: `${error.name}: ${error.message}`.slice(0, 4000),
            attempts: 1,
            groupId: this.opts.groupId,
            ts: Date.now(),
          };
          const m = encodeMessage(Topics.deadLetter, dl.key, dl);
          return { key: m.key === 'null' ? null : m.key, value: m.value, headers: { 'dmp-dlt-reason': error.reason } };
        }),
      );
      for (const { msg, error } of dead) this.metrics.deadLettered(msg.topic, error.reason);
    }
    const now = Date.now();
    this.metrics.batchSeconds.observe((now - started) / 1000);
    this.metrics.events.inc(events.length);
    this.metrics.values.inc(values.length);
    for (const ev of events) this.metrics.lagSeconds.observe(Math.max(0, now - ev.ts) / 1000);
    for (const r of values) for (const c of r.codes) this.metrics.abnormal.inc({ reason: c });
  }
}
