import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EventBus } from '@dmp/kafka';
import { createDefaultContentFormatRegistry, ObjectModelRegistry } from '@dmp/lwm2m';
import type { Redis } from '@dmp/redis';
import { ClientsLifecycle, EVENT_BUS, KIT_OPTIONS, MetricsService, REDIS, type ServiceKitOptions } from '@dmp/service-kit';
import { PinoLogger } from 'nestjs-pino';
import { BootstrapService, RedisBootstrapStore } from './bootstrap';
import { CoapServer } from './coap-server';
import { type GatewayConfig, parseListen } from './config';
import { Downlink } from './downlink';
import { EpnResolver } from './epn-resolver';
import { GatewayEvents } from './events';
import { GatewayHeartbeat } from './heartbeat';
import { GatewayMetrics } from './metrics';
import { RegistrationStore } from './registration-store';
import { Requester } from './requester';

/**
 * Starts the CoAP sockets and the downlink consumer once the clients are connected,
 * and stops them first on shutdown: sockets close (no new work), the downlink consumer
 * drains, queued events get a bounded time to reach Kafka.
 */
@Injectable()
export class GatewayRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  server: CoapServer | undefined;
  downlink: Downlink | undefined;
  events: GatewayEvents | undefined;
  requester: Requester | undefined;
  bootstrap: BootstrapService | undefined;
  heartbeat: GatewayHeartbeat | undefined;

  constructor(
    @Inject(KIT_OPTIONS) private readonly kit: ServiceKitOptions & { config: GatewayConfig },
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly clients: ClientsLifecycle,
    private readonly metricsService: MetricsService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('CoapGateway');
  }

  async onApplicationBootstrap(): Promise<void> {
    const cfg = this.kit.config;
    const metrics = new GatewayMetrics(this.metricsService.registry);
    const log = {
      info: (o: object, m: string) => this.logger.info(o, m),
      warn: (o: object, m: string) => this.logger.warn(o, m),
      error: (o: object, m: string) => this.logger.error(o, m),
    };
    this.events = new GatewayEvents(this.bus.producer(), metrics, cfg.GATEWAY_MAX_QUEUED_EVENTS, (e, n) =>
      this.logger.warn({ err: String(e), messages: n }, 'kafka publish failed; retrying'),
    );
    const store = new RegistrationStore(this.redis, this.clients.scripts!, cfg.GATEWAY_DEADLINE_SHARDS);
    const identities = new EpnResolver(store, { clearFallbackDefault: cfg.GATEWAY_FORM_A_CLEAR_FALLBACK });
    this.server = new CoapServer(
      cfg,
      parseListen(cfg.COAP_LISTEN),
      store,
      this.events,
      metrics,
      createDefaultContentFormatRegistry(),
      ObjectModelRegistry.default(),
      log,
      identities,
    );
    this.downlink = new Downlink(cfg, this.server, store, this.events, metrics, log);
    const downlink = this.downlink;
    // ACK / RST / separate responses: the downlink's exchanges first, then the requester's
    const requester = new Requester(this.server, {
      ackTimeoutMs: cfg.COAP_ACK_TIMEOUT_MS,
      maxRetransmit: cfg.COAP_MAX_RETRANSMIT,
      onRetransmit: () => metrics.retransmissions.inc(),
    });
    this.requester = requester;
    this.server.downlink = { onMessage: (m, p) => downlink.onMessage(m, p) || requester.onMessage(m, p) };
    if (cfg.BOOTSTRAP_ENABLED) {
      this.bootstrap = new BootstrapService(
        {
          defaultServers: cfg.BOOTSTRAP_DEFAULT_SERVERS,
          lifetime: cfg.BOOTSTRAP_LIFETIME_S,
          binding: cfg.BOOTSTRAP_BINDING,
          shortServerId: cfg.BOOTSTRAP_SHORT_SERVER_ID,
          securityInstanceId: cfg.BOOTSTRAP_SECURITY_INSTANCE_ID,
          serverInstanceId: cfg.BOOTSTRAP_SERVER_INSTANCE_ID,
          deletePaths: cfg.BOOTSTRAP_DELETE_PATHS,
          resultTtlSeconds: cfg.BOOTSTRAP_RESULT_TTL_S,
          gatewayId: cfg.GATEWAY_ID,
          noEpiCode: cfg.GATEWAY_NO_EPI_CODE,
        },
        new RedisBootstrapStore(this.redis),
        identities,
        requester,
        { models: ObjectModelRegistry.default(), formats: createDefaultContentFormatRegistry() },
        this.metricsService.registry,
        log,
      );
      this.server.bootstrap = this.bootstrap;
    }
    await this.server.start();
    await this.downlink.start(this.bus);
    // routable only once the downlink consumer runs (commands are sent to its topic)
    this.heartbeat = new GatewayHeartbeat(this.redis, cfg.GATEWAY_ID, cfg.GATEWAY_HEARTBEAT_MS, metrics.heartbeats, (e) =>
      this.logger.warn({ err: String(e) }, 'heartbeat write failed'),
    );
    await this.heartbeat.start();
    const where = this.server.addresses().map((a) => `${a.family}://${a.family === 'udp6' ? `[${a.host}]` : a.host}:${a.port}`);
    this.logger.info({ gatewayId: cfg.GATEWAY_ID, listen: where, commandTopic: this.downlink.topic }, 'CoAP gateway listening');
    process.stdout.write(`COAP LISTENING ${where.join(' ')}\n`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    // first: new commands for our devices wait for their next uplink elsewhere
    await this.heartbeat?.stop();
    await this.server?.stop();
    this.requester?.close();
    await this.bootstrap?.drain(1000);
    await this.downlink?.stop();
    await this.events?.flush(Math.max(1000, this.kit.config.SHUTDOWN_TIMEOUT_MS - 3000));
  }
}
