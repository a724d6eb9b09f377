// Ports, versions and sizes of the local stack. Every value can be overridden by an
// environment variable so that two checkouts (or a machine that already runs a Redis
// on 6379) never collide. Services and tests read the same values through
// .dmp/stack.json, written by `stack.mjs up`.
import os from 'node:os';
import path from 'node:path';

export function stackConfig(root) {
  const env = process.env;
  const num = (name, dflt) => (env[name] ? Number(env[name]) : dflt);
  return {
    host: '127.0.0.1',
    dataDir: path.resolve(env.DMP_DATA_DIR ?? path.join(root, '.dmp')),
    cacheDir: path.resolve(env.DMP_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'dmp')),
    redis: { port: num('DMP_REDIS_PORT', 6380), maxmemory: env.DMP_REDIS_MAXMEMORY ?? '2gb' },
    kafka: {
      version: env.DMP_KAFKA_VERSION ?? '4.4.0',
      log4jVersion: '2.25.5',
      port: num('DMP_KAFKA_PORT', 9092),
      controllerPort: num('DMP_KAFKA_CONTROLLER_PORT', 9093),
      heap: env.DMP_KAFKA_HEAP ?? '512m',
    },
    cassandra: {
      version: env.DMP_CASSANDRA_VERSION ?? '5.0.8',
      port: num('DMP_CASSANDRA_PORT', 9042),
      storagePort: num('DMP_CASSANDRA_STORAGE_PORT', 7000),
      heap: env.DMP_CASSANDRA_HEAP ?? '1G',
      // Skips fsync of the system keyspace: much faster DDL (migrations, test keyspaces).
      // User data still goes through the commit log.
      unsafeSystem: env.DMP_CASSANDRA_UNSAFE_SYSTEM !== '0',
    },
  };
}
