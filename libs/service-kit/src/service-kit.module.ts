import { type DynamicModule, Global, Module, type Provider, RequestMethod } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { ClientsLifecycle, makeCassandra, makeEventBus, makeRedis } from './clients';
import { HealthController } from './health';
import { MetricsController, MetricsService } from './metrics';
import type { ServiceKitOptions } from './options';
import { CASSANDRA, EVENT_BUS, KIT_OPTIONS, REDIS } from './tokens';

const quietPaths = /^\/(health\/|metrics)/;

/**
 * Everything a DMP service shares: pino logging, /metrics, /health/live and
 * /health/ready, and the Kafka / Redis / Cassandra clients it asked for, connected
 * before the app listens and closed after it stopped.
 */
@Global()
@Module({})
export class ServiceKitModule {
  static forRoot(opts: ServiceKitOptions): DynamicModule {
    const providers: Provider[] = [{ provide: KIT_OPTIONS, useValue: opts }, MetricsService, ClientsLifecycle];
    const exported: Array<symbol | typeof MetricsService | typeof ClientsLifecycle> = [KIT_OPTIONS, MetricsService, ClientsLifecycle];
    if (opts.kafka) {
      providers.push({ provide: EVENT_BUS, useFactory: makeEventBus, inject: [KIT_OPTIONS, PinoLogger, MetricsService] });
      exported.push(EVENT_BUS);
    }
    if (opts.redis) {
      providers.push({ provide: REDIS, useFactory: makeRedis, inject: [KIT_OPTIONS] });
      exported.push(REDIS);
    }
    if (opts.cassandra) {
      providers.push({ provide: CASSANDRA, useFactory: makeCassandra, inject: [KIT_OPTIONS] });
      exported.push(CASSANDRA);
    }
    return {
      module: ServiceKitModule,
      imports: [
        LoggerModule.forRoot({
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          pinoHttp: {
            level: opts.config.LOG_LEVEL,
            base: { service: opts.service },
            autoLogging: { ignore: (req) => quietPaths.test(req.url ?? '') },
            redact: ['req.headers.authorization', 'req.headers.cookie'],
          },
        }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HealthController, MetricsController],
      providers,
      exports: exported,
    };
  }
}
