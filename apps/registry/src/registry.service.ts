import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { type CassandraClient } from '@dmp/cassandra';
import { Topics } from '@dmp/contracts';
import { type EventBus, KafkaJsEventBus } from '@dmp/kafka';
import type { Redis } from '@dmp/redis';
import { CASSANDRA, ClientsLifecycle, EVENT_BUS, MetricsService, REDIS } from '@dmp/service-kit';
import { PinoLogger } from 'nestjs-pino';
import { Counter, Histogram } from 'prom-client';
import type { RegistryConfig } from './config';
import { Directory } from './directory';
import { GeoLocator } from './geo';
import { Lifecycle } from './lifecycle';
import { Sweeper } from './sweeper';
import { REGISTRY_CONFIG } from './tokens';

/** Wires the directory, the event processor and the sweeper to the kit's clients and metrics. */
@Injectable()
export class RegistryService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly geo = new GeoLocator();
  readonly directory: Directory;
  private lifecycleImpl: Lifecycle | undefined;
  private sweeper: Sweeper | undefined;
  /** The sweeper's own Kafka connection: its `offline` events never queue behind the consumers' publications (one request in flight per producer). */
  private sweeperBus: KafkaJsEventBus | undefined;
  private readonly offline: Counter;
  private readonly offlineDelay: Histogram;
  private readonly sweepDuration: Histogram;
  private readonly sweepErrors: Counter;
  private readonly transitions: Counter;
  private readonly activations: Counter;

  constructor(
    @Inject(REGISTRY_CONFIG) private readonly cfg: RegistryConfig,
    @Inject(CASSANDRA) cassandra: CassandraClient,
    @Inject(REDIS) readonly redis: Redis,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly clients: ClientsLifecycle,
    private readonly logger: PinoLogger,
    metrics: MetricsService,
  ) {
    this.logger.setContext('Registry');
    this.directory = new Directory(cassandra, cfg.CASSANDRA_KEYSPACE);
    const registers = [metrics.registry];
    this.offline = new Counter({ name: 'dmp_registry_offline_total', help: 'Registrations timed out (offline events published)', registers });
    this.offlineDelay = new Histogram({
      name: 'dmp_registry_offline_delay_seconds',
      help: 'From deadline + grace to the offline event acknowledged by Kafka',
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30],
      registers,
    });
    this.sweepDuration = new Histogram({ name: 'dmp_registry_sweep_duration_seconds', help: 'One pass over every deadline shard', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5], registers });
    this.sweepErrors = new Counter({ name: 'dmp_registry_sweep_errors_total', help: 'Failed sweeps (retried at the next interval)', registers });
    this.transitions = new Counter({ name: 'dmp_registry_state_transitions_total', help: 'Device state transitions applied', labelNames: ['to'], registers });
    this.activations = new Counter({ name: 'dmp_registry_activations_total', help: 'Activation records written (first registrations)', registers });
  }

  get lifecycle(): Lifecycle {
    if (!this.lifecycleImpl) {
      this.lifecycleImpl = new Lifecycle(this.directory, this.redis, this.geo, this.bus.producer(), {
        transition: (to) => this.transitions.inc({ to }),
        activation: () => this.activations.inc(),
      });
    }
    return this.lifecycleImpl;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.ensureTopics([Topics.deviceEvents, Topics.deviceState]);
    if (!this.cfg.REGISTRY_SWEEP_ENABLED) return;
    const scripts = this.clients.scripts;
    if (!scripts) throw new Error('registry scripts not loaded');
    this.sweeperBus = new KafkaJsEventBus({
      clientId: `${this.cfg.KAFKA_CLIENT_ID ?? 'dmp-registry'}-sweeper`,
      brokers: this.cfg.KAFKA_BROKERS,
      logger: (level, msg, extra) => this.logger[level](extra ?? {}, msg),
    });
    await this.sweeperBus.connect();
    this.sweeper = new Sweeper(scripts, this.redis, this.sweeperBus.producer(), {
      shards: this.cfg.REGISTRY_DEADLINE_SHARDS,
      graceMinMs: this.cfg.REGISTRY_GRACE_MIN_MS,
      gracePercent: this.cfg.REGISTRY_GRACE_PERCENT,
      intervalMs: this.cfg.REGISTRY_SWEEP_INTERVAL_MS,
      batch: this.cfg.REGISTRY_SWEEP_BATCH,
      pendingRetryMs: this.cfg.REGISTRY_PENDING_RETRY_MS,
      onError: (e, where) => {
        this.sweepErrors.inc();
        this.logger.error({ err: e, where }, 'sweep failed');
      },
      onOffline: (_rec, delayMs) => {
        this.offline.inc();
        this.offlineDelay.observe(Math.max(0, delayMs) / 1000);
      },
      onSweep: (ms) => this.sweepDuration.observe(ms / 1000),
    });
    this.sweeper.start();
    this.logger.info({ shards: this.cfg.REGISTRY_DEADLINE_SHARDS, graceMinMs: this.cfg.REGISTRY_GRACE_MIN_MS, gracePercent: this.cfg.REGISTRY_GRACE_PERCENT }, 'sweeper started');
  }

  async onModuleDestroy(): Promise<void> {
    await this.sweeper?.stop();
    await this.sweeperBus?.close();
  }
}
