import { Counter, Histogram, type Registry } from 'prom-client';

/** Storage metrics (no device ids in labels). */
export class StorageMetrics {
  readonly events: Counter;
  readonly values: Counter;
  readonly abnormal: Counter<'reason'>;
  readonly deadLetters: Counter<'reason'>;
  readonly batchSeconds: Histogram;
  readonly lagSeconds: Histogram;
  /** The kit's dmp_kafka_dead_letters_total, so that one series counts every DLT write of the service. */
  private readonly kitDeadLetters: Counter<'topic' | 'reason'> | undefined;

  constructor(registry: Registry) {
    this.events = new Counter({ name: 'dmp_storage_events_total', help: 'DataEvents stored (replays after a crash count again)', registers: [registry] });
    this.values = new Counter({ name: 'dmp_storage_values_total', help: 'Values written to data_history (replays count again)', registers: [registry] });
    this.abnormal = new Counter({
      name: 'dmp_storage_abnormal_values_total',
      help: 'Values stored with the abnormal flag, by reason (type-mismatch, out-of-range, unknown-resource, far-future-timestamp, ...)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.deadLetters = new Counter({
      name: 'dmp_storage_dead_letters_total',
      help: 'Poison messages (not a valid DataEvent) sent to the dead-letter topic, by contract error',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.batchSeconds = new Histogram({
      name: 'dmp_storage_batch_seconds',
      help: 'Time to write one consumed batch to Cassandra',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.lagSeconds = new Histogram({
      name: 'dmp_storage_lag_seconds',
      help: 'Event time (gateway reception) to rows acknowledged by Cassandra',
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.kitDeadLetters = registry.getSingleMetric('dmp_kafka_dead_letters_total') as Counter<'topic' | 'reason'> | undefined;
  }

  deadLettered(topic: string, reason: string): void {
    this.deadLetters.inc({ reason });
    this.kitDeadLetters?.inc({ topic, reason: 'ContractError' });
  }
}
