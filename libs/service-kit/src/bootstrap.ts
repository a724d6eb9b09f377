import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
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
  /**
   * Serve this service's OpenAPI document at `/api/docs-json` (what the api-gateway
   * merges) and Swagger UI at `/api/docs`. Mounted before init: routes added after
   * start-up would not be reachable.
   */
  openApi?: { title: string; description: string };
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
  if (opts.openApi) {
    const doc = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle(opts.openApi.title).setDescription(opts.openApi.description).setVersion('v1').addBearerAuth().build(),
    );
    SwaggerModule.setup('api/docs', app, doc, { useGlobalPrefix: false, jsonDocumentUrl: 'api/docs-json' });
  }
  await app.init();
  await app.startAllMicroservices();
  await app.listen(opts.config.HTTP_PORT, opts.config.HTTP_HOST);
  if (opts.handleSignals !== false) installShutdown(app, opts.config.SHUTDOWN_TIMEOUT_MS);
  // machine-readable line for tests and scripts (HTTP_PORT may be 0)
  process.stdout.write(`HTTP LISTENING ${await serviceUrl(app)}\n`);
  return app;
}

/** `startService` for a `main.ts`: on a startup failure, prints it and exits 1. */
export function runService(name: string, opts: StartOptions): void {
  startService(opts).catch((e: unknown) => {
    process.stderr.write(`${name} failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
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
