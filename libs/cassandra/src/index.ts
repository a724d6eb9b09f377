import path from 'node:path';

export { CassandraClient, type CassandraConfig, cassandraTypes, createCassandra, isCassandraReady } from './client';
export { loadMigrations, migrate, type MigrateOptions, type Migration, MigrationError, splitCql } from './migrations';

/** The platform's own migrations (libs/cassandra/migrations). */
export const PLATFORM_MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');
