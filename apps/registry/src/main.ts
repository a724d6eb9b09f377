// Registry service (issue 5): lifetime tracking (offline detection), device state machine,
// activation records and the device directory; GET /api/v1/devices/{epi}.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { decodeMessage, Topics } from '@dmp/contracts';
import { loadConfigOrExit } from '@dmp/config';
import { PLATFORM_MIGRATIONS_DIR } from '@dmp/cassandra';
import { type EventBus, KafkaEventTransport } from '@dmp/kafka';
import { EVENT_BUS, installShutdown, ServiceKitModule, serviceUrl } from '@dmp/service-kit';
import { Logger } from 'nestjs-pino';
import { registryEnv } from './config';
import { DevicesController } from './devices.controller';
import { EventsController } from './events.controller';
import { REGISTRY_SCRIPTS } from './redis-layout';
import { RegistryService } from './registry.service';
import { REGISTRY_CONFIG } from './tokens';

const config = loadConfigOrExit('registry', registryEnv);

@Module({
  imports: [
    ServiceKitModule.forRoot({
      service: 'registry',
      config,
      kafka: true,
      redis: { scripts: REGISTRY_SCRIPTS },
      cassandra: { migrationDirs: [PLATFORM_MIGRATIONS_DIR] },
    }),
  ],
  controllers: [EventsController, DevicesController],
  providers: [{ provide: REGISTRY_CONFIG, useValue: config }, RegistryService],
})
class RegistryModule {}

/**
 * Same steps as @dmp/service-kit's startService, with the OpenAPI document mounted before
 * the app initialises (Nest's 404 handler is installed at init: routes added later are not
 * reachable). `GET /api/docs-json` is what the api-gateway merges.
 */
async function main(): Promise<void> {
  const app = await NestFactory.create(RegistryModule, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.setGlobalPrefix('api/v1', { exclude: ['health/live', 'health/ready', 'metrics'] });
  app.connectMicroservice(
    {
      strategy: new KafkaEventTransport(app.get<EventBus>(EVENT_BUS), {
        groupId: config.REGISTRY_GROUP_ID,
        deadLetterTopic: Topics.deadLetter.name,
        decode: (m) => decodeMessage(Topics.deviceEvents, m.key, m.value).value,
        partitionsConsumedConcurrently: config.REGISTRY_CONSUMER_CONCURRENCY,
      }),
    },
    { inheritAppConfig: true },
  );
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle('DMP registry').setDescription('Device directory, live registrations, activation records, state history').setVersion('v1').addBearerAuth().build(),
  );
  SwaggerModule.setup('api/docs', app, doc, { useGlobalPrefix: false, jsonDocumentUrl: 'api/docs-json' });
  await app.init();
  await app.startAllMicroservices();
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  installShutdown(app, config.SHUTDOWN_TIMEOUT_MS);
  process.stdout.write(`HTTP LISTENING ${await serviceUrl(app)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`registry failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
