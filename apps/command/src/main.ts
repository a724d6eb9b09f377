// Command service (issue 6): LwM2M operations on devices through the owning gateway
// (POST /api/v1/devices/{epi}/operations), their state (GET /api/v1/operations/{id}),
// per-device queues, observations; bootstrap configurations and AppKey passwords.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { decodeMessage, Topics } from '@dmp/contracts';
import { loadConfigOrExit } from '@dmp/config';
import { runService, ServiceKitModule } from '@dmp/service-kit';
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

runService('command', {
  module: CommandModule,
  config,
  apiPrefix: 'api/v1',
  openApi: { title: 'DMP command', description: 'Device operations, their state, queues and observations' },
  consumers: {
    groupId: config.COMMAND_GROUP_ID,
    deadLetterTopic: Topics.deadLetter.name,
    partitionsConsumedConcurrently: config.COMMAND_CONSUMER_CONCURRENCY,
    decode: (m) =>
      m.topic === Topics.commandResults.name
        ? decodeMessage(Topics.commandResults, m.key, m.value).value
        : decodeMessage(Topics.deviceEvents, m.key, m.value).value,
  },
});
