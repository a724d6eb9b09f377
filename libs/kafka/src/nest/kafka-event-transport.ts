import { type CustomTransportStrategy, BaseRpcContext, Server } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { ConsumerOptions, EventBus, IncomingMessage, RunningConsumer } from '../types';

/** Second argument of every `@EventPattern(topic)` handler: the raw Kafka message. */
export class KafkaEventContext extends BaseRpcContext<[IncomingMessage]> {
  constructor(msg: IncomingMessage) {
    super([msg]);
  }
  getMessage(): IncomingMessage {
    return this.args[0];
  }
}

export interface KafkaTransportOptions extends Omit<ConsumerOptions, 'topics' | 'handler' | 'batchHandler'> {
  /**
   * Turns a raw message into the handler's payload, e.g. `decodeMessage(spec, key, value)`
   * from @dmp/contracts (validated on consume). A throw counts as a failed attempt; a
   * ContractError / NonRetryableError goes straight to the dead-letter topic.
   */
  decode?: (msg: IncomingMessage) => unknown;
}

/**
 * Nest microservice transport over our EventBus: `@EventPattern('<topic>')` handlers
 * are consumed by one consumer group, offsets are committed only after the handler
 * (and its returned promise/observable) succeeded, failures are retried with backoff
 * and then dead-lettered. `close()` drains the in-flight batch before disconnecting.
 * Request/reply (`@MessagePattern`) is deliberately not supported.
 */
export class KafkaEventTransport extends Server implements CustomTransportStrategy {
  private running: RunningConsumer | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly options: KafkaTransportOptions,
  ) {
    super();
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      const handlers = this.getHandlers();
      for (const [pattern, h] of handlers) {
        if (!h.isEventHandler) throw new Error(`@MessagePattern('${pattern}') is not supported over Kafka: use @EventPattern`);
      }
      const topics = [...handlers.keys()];
      if (topics.length) {
        this.running = await this.bus.runConsumer({
          ...this.options,
          topics,
          handler: (msg) => this.dispatch(msg),
        });
      }
      callback();
    } catch (e) {
      callback(e);
    }
  }

  private async dispatch(msg: IncomingMessage): Promise<void> {
    const handler = this.getHandlerByPattern(msg.topic);
    if (!handler) throw new Error(`no handler for topic ${msg.topic}`);
    const payload = this.options.decode ? this.options.decode(msg) : msg;
    const result = await handler(payload, new KafkaEventContext(msg));
    await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
  }

  async close(): Promise<void> {
    const r = this.running;
    this.running = undefined;
    await r?.stop();
  }

  on(): never {
    throw new Error('KafkaEventTransport does not emit transport events');
  }

  unwrap<T>(): T {
    return this.bus as T;
  }
}
