export * from './types';
export { backoffMs, DEFAULT_RETRY } from './backoff';
export { BackpressureError, BatchingProducer, type BatchingOptions } from './batching-producer';
export { KafkaJsEventBus, type BusLogger, type KafkaJsBusOptions } from './kafkajs-bus';
export { KafkaEventTransport, type KafkaTransportOptions, KafkaEventContext } from './nest/kafka-event-transport';
