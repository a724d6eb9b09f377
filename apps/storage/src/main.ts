// Storage service (issue 5): DataEvents (dmp.data.v1) → Cassandra latest + history (+ raw).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { PLATFORM_MIGRATIONS_DIR } from '@dmp/cassandra';
import { loadConfigOrExit } from '@dmp/config';
import { ServiceKitModule, serviceUrl, startService } from '@dmp/service-kit';
import { storageEnv } from './config';
import { StorageRuntime } from './runtime';

const config = loadConfigOrExit('storage', storageEnv);

@Module({
  imports: [ServiceKitModule.forRoot({ service: 'storage', config, kafka: true, cassandra: { migrationDirs: [PLATFORM_MIGRATIONS_DIR] } })],
  providers: [StorageRuntime],
})
class StorageModule {}

void startService({ module: StorageModule, config, apiPrefix: 'api/v1' }).then(async (app) => {
  // machine-readable line for tests and scripts (HTTP_PORT may be 0)
  process.stdout.write(`HTTP LISTENING ${await serviceUrl(app)}\n`);
});
