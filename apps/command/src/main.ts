// Command service (issue 6): LwM2M operations on devices through the owning gateway
// (POST /api/v1/devices/{epi}/operations), their state (GET /api/v1/operations/{id}),
// per-device queues, observations; bootstrap configurations and AppKey passwords.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { decodeMessage, Topics } from '@dmp/contracts';
import { loadConfigOrExit } from '@dmp/config';
import { type EventBus, KafkaEventTransport } from '@dmp/kafka';
import { EVENT_BUS, installShutdown, ServiceKitModule, serviceUrl } from '@dmp/service-kit';
import { Logger } from 'nestjs-pino';
import { CommandService } from './command.service';
import { commandEnv } from './config';
import { BootstrapController } from './bootstrap.controller';
import { EventsController } from './events.controller';
import { OperationsController } from './operations.controller';
import { COMMAND_SCRIPTS } from './store';
import { COMMAND_CONFIG } from './tokens';

const config = loadConfigOrExit('command', commandEnv);

@Module({
  imports: [ServiceKitModule.forRoot({ service: 'command', config, kafka: true, redis: { scripts: COMMAND_SCRIPTS } })],
  controllers: [EventsController, OperationsController, BootstrapController],
  providers: [{ provide: COMMAND_CONFIG, useValue: config }, CommandService],
})
class CommandModule {}

/** Same steps as startService, with the OpenAPI document mounted before init (see registry). */
async function main(): Promise<void> {
  const app = await NestFactory.create(CommandModule, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.setGlobalPrefix('api/v1', { exclude: ['health/live', 'health/ready', 'metrics'] });
  app.connectMicroservice(
    {
      strategy: new KafkaEventTransport(app.get<EventBus>(EVENT_BUS), {
        groupId: config.COMMAND_GROUP_ID,
        deadLetterTopic: Topics.deadLetter.name,
        partitionsConsumedConcurrently: config.COMMAND_CONSUMER_CONCURRENCY,
        decode: (m) =>
          m.topic === Topics.commandResults.name
            ? decodeMessage(Topics.commandResults, m.key, m.value).value
            : decodeMessage(Topics.deviceEvents, m.key, m.value).value,
      }),
    },
    { inheritAppConfig: true },
  );
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle('DMP command').setDescription('Device operations, their state, queues and observations').setVersion('v1').addBearerAuth().build(),
  );
  SwaggerModule.setup('api/docs', app, doc, { useGlobalPrefix: false, jsonDocumentUrl: 'api/docs-json' });
  await app.init();
  await app.startAllMicroservices();
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  installShutdown(app, config.SHUTDOWN_TIMEOUT_MS);
  process.stdout.write(`HTTP LISTENING ${await serviceUrl(app)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`command failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
