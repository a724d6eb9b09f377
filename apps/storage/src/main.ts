// Storage service (issue 5): DataEvents (dmp.data.v1) → Cassandra latest + history (+ raw).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { PLATFORM_MIGRATIONS_DIR } from '@dmp/cassandra';
import { loadConfigOrExit } from '@dmp/config';
import { runService, ServiceKitModule } from '@dmp/service-kit';
import { storageEnv } from './config';
import { StorageRuntime } from './runtime';

const config = loadConfigOrExit('storage', storageEnv);

@Module({
  imports: [ServiceKitModule.forRoot({ service: 'storage', config, kafka: true, cassandra: { migrationDirs: [PLATFORM_MIGRATIONS_DIR] } })],
  providers: [StorageRuntime],
})
class StorageModule {}

runService('storage', { module: StorageModule, config, apiPrefix: 'api/v1' });
