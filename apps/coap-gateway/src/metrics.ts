import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** `dmp_gateway_*` metrics. Labels are bounded enums: never a device id or address. */
export class GatewayMetrics {
  readonly datagramsIn: Counter<'type'>;
  readonly datagramsOut: Counter<'type'>;
  readonly requests: Counter<'operation' | 'code'>;
  readonly rejects: Counter<'reason'>;
  readonly registrationLatency: Histogram<'operation'>;
  readonly kafkaPublishLatency: Histogram;
  readonly retransmissions: Counter;
  readonly downlink: Counter<'operation' | 'status'>;
  readonly observations: Gauge;
  readonly observationsEnded: Counter<'reason'>;
  readonly eventQueue: Gauge;
  readonly heartbeats: Counter<'outcome'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.datagramsIn = new Counter({ name: 'dmp_gateway_datagrams_in_total', help: 'Datagrams received, by CoAP message type', labelNames: ['type'], registers });
    this.datagramsOut = new Counter({ name: 'dmp_gateway_datagrams_out_total', help: 'Datagrams sent, by CoAP message type', labelNames: ['type'], registers });
    this.requests = new Counter({ name: 'dmp_gateway_requests_total', help: 'Uplink requests by LwM2M operation and response code', labelNames: ['operation', 'code'], registers });
    this.rejects = new Counter({ name: 'dmp_gateway_rejects_total', help: 'Datagrams or requests refused or dropped, by reason', labelNames: ['reason'], registers });
    this.registrationLatency = new Histogram({
      name: 'dmp_gateway_registration_seconds',
      help: 'Time from datagram to answer for register/update/deregister',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.kafkaPublishLatency = new Histogram({
      name: 'dmp_gateway_kafka_publish_seconds',
      help: 'Time from event accepted to acknowledged by Kafka',
      buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    });
    this.retransmissions = new Counter({ name: 'dmp_gateway_retransmissions_total', help: 'Downlink CON retransmissions', registers });
    this.downlink = new Counter({ name: 'dmp_gateway_downlink_total', help: 'Downlink commands by operation and outcome', labelNames: ['operation', 'status'], registers });
    this.observations = new Gauge({ name: 'dmp_gateway_active_observations', help: 'Observations registered through this gateway and not cancelled', registers });
    this.observationsEnded = new Counter({
      name: 'dmp_gateway_observations_ended_total',
      help: 'Observations removed because their registration ended (registered anew, deregistered) or was gone when a notification came',
      labelNames: ['reason'],
      registers,
    });
    this.eventQueue = new Gauge({ name: 'dmp_gateway_event_queue', help: 'Events accepted and not yet acknowledged by Kafka', registers });
    this.heartbeats = new Counter({ name: 'dmp_gateway_heartbeats_total', help: 'Heartbeat writes (dmp:gw:{id}) by outcome (ok / error)', labelNames: ['outcome'], registers });
  }
}
