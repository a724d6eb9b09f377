import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type KafkaTransportOptions, KafkaEventTransport, type EventBus } from '@dmp/kafka';
import { Logger } from 'nestjs-pino';
import type { KitConfig } from './options';
import { EVENT_BUS } from './tokens';

export interface StartOptions {
  /** Root module (which imports ServiceKitModule.forRoot). */
  module: Type | DynamicModule;
  config: KitConfig;
  /** Consume `@EventPattern(topic)` handlers through the Kafka transport with these options. */
  consumers?: KafkaTransportOptions;
  /** Routes under /api/v1 (health and metrics stay at the root). */
  apiPrefix?: string;
  /** Install SIGTERM/SIGINT handlers that close the app and exit (default true). */
  handleSignals?: boolean;
}

/**
 * Creates, wires and starts a service: logger, Kafka consumers, HTTP listener, and
 * graceful shutdown: on SIGTERM/SIGINT the HTTP server stops accepting, consumers
 * finish their in-flight batch and commit, clients close, the process exits 0; a
 * watchdog exits 1 if that takes longer than SHUTDOWN_TIMEOUT_MS (default 10 s).
 */
export async function startService(opts: StartOptions): Promise<INestApplication> {
  const app = await NestFactory.create(opts.module, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  if (opts.apiPrefix !== undefined) {
    app.setGlobalPrefix(opts.apiPrefix, { exclude: ['health/live', 'health/ready', 'metrics'] });
  }
  if (opts.consumers) {
    const bus = app.get<EventBus>(EVENT_BUS);
    app.connectMicroservice({ strategy: new KafkaEventTransport(bus, opts.consumers) }, { inheritAppConfig: true });
  }
  await app.init();
  await app.startAllMicroservices();
  await app.listen(opts.config.HTTP_PORT, opts.config.HTTP_HOST);
  if (opts.handleSignals !== false) installShutdown(app, opts.config.SHUTDOWN_TIMEOUT_MS);
  return app;
}

export function installShutdown(app: INestApplication, timeoutMs: number): void {
  let closing = false;
  const logger = app.get(Logger);
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: draining and closing`, 'Shutdown');
    const watchdog = setTimeout(() => {
      logger.error(`shutdown took longer than ${timeoutMs} ms: exiting`, undefined, 'Shutdown');
      process.exit(1);
    }, timeoutMs);
    watchdog.unref();
    app
      .close()
      .then(() => {
        clearTimeout(watchdog);
        process.exit(0);
      })
      .catch((e: unknown) => {
        logger.error(`shutdown failed: ${String(e)}`, undefined, 'Shutdown');
        process.exit(1);
      });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/** Returns the actual HTTP URL (useful with HTTP_PORT=0). */
export async function serviceUrl(app: INestApplication): Promise<string> {
  const url = await app.getUrl();
  return url.replace('[::1]', '127.0.0.1');
}
