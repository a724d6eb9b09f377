// Registry service (issue 5): lifetime tracking (offline detection), device state machine,
// activation records and the device directory; GET /api/v1/devices/{epi}.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { decodeMessage, Topics } from '@dmp/contracts';
import { loadConfigOrExit } from '@dmp/config';
import { PLATFORM_MIGRATIONS_DIR } from '@dmp/cassandra';
import { runService, ServiceKitModule } from '@dmp/service-kit';
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

runService('registry', {
  module: RegistryModule,
  config,
  apiPrefix: 'api/v1',
  openApi: { title: 'DMP registry', description: 'Device directory, live registrations, activation records, state history' },
  consumers: {
    groupId: config.REGISTRY_GROUP_ID,
    deadLetterTopic: Topics.deadLetter.name,
    decode: (m) => decodeMessage(Topics.deviceEvents, m.key, m.value).value,
    partitionsConsumedConcurrently: config.REGISTRY_CONSUMER_CONCURRENCY,
  },
});
