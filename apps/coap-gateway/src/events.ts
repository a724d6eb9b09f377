import { randomUUID } from 'node:crypto';
import { type CommandResult, type DataEvent, type DeviceEvent, encodeMessage, Topics } from '@dmp/contracts';
import { BatchingProducer, type EventProducer } from '@dmp/kafka';
import type { GatewayMetrics } from './metrics';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Publishes the gateway's events through one bounded, batching, retrying producer.
 * `canAccept()` is checked before a registration is written, so that when Kafka is
 * down long enough to fill the queue the device gets 5.03 + Max-Age instead of a
 * registration whose event would be lost.
 */
export class GatewayEvents {
  private readonly batcher: BatchingProducer;

  constructor(
    producer: EventProducer,
    private readonly metrics: GatewayMetrics,
    private readonly maxQueued: number,
    onSendError: (e: unknown, n: number) => void,
  ) {
    this.batcher = new BatchingProducer(producer, { maxQueued, lingerMs: 2, maxBatch: 500, retryForever: true, onSendError });
  }

  canAccept(): boolean {
    return this.batcher.outstanding < this.maxQueued;
  }

  get outstanding(): number {
    return this.batcher.outstanding;
  }

  device(event: DistributiveOmit<DeviceEvent, 'v' | 'eventId'>): Promise<void> {
    const value = { ...event, v: 1 as const, eventId: randomUUID() } as DeviceEvent;
    return this.publish(Topics.deviceEvents.name, encodeMessage(Topics.deviceEvents, event.epi, value));
  }

  data(event: Omit<DataEvent, 'v' | 'eventId'>): Promise<void> {
    const value: DataEvent = { ...event, v: 1, eventId: randomUUID() };
    return this.publish(Topics.data.name, encodeMessage(Topics.data, event.epi, value));
  }

  commandResult(result: Omit<CommandResult, 'v'>): Promise<void> {
    return this.publish(Topics.commandResults.name, encodeMessage(Topics.commandResults, result.epi, { ...result, v: 1 }));
  }

  private publish(topic: string, m: { key: string; value: Buffer }): Promise<void> {
    const t0 = process.hrtime.bigint();
    const p = this.batcher.publish(topic, m);
    this.metrics.eventQueue.set(this.batcher.outstanding);
    return p.then(() => {
      this.metrics.kafkaPublishLatency.observe(Number(process.hrtime.bigint() - t0) / 1e9);
      this.metrics.eventQueue.set(this.batcher.outstanding);
    });
  }

  async flush(timeoutMs: number): Promise<void> {
    await Promise.race([this.batcher.flush(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.batcher.dispose();
  }
}
