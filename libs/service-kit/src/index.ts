export { installShutdown, runService, serviceUrl, startService, type StartOptions } from './bootstrap';
export { ClientsLifecycle } from './clients';
export { HealthController } from './health';
export { MetricsController, MetricsService } from './metrics';
export type { KitConfig, ServiceKitOptions } from './options';
export { ServiceKitModule } from './service-kit.module';
export { CASSANDRA, EVENT_BUS, KIT_OPTIONS, REDIS } from './tokens';
