import type { LuaScript } from '@dmp/redis';

/** The subset of a service's validated config (see @dmp/config) the kit reads. */
export interface KitConfig {
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  HTTP_HOST: string;
  HTTP_PORT: number;
  SHUTDOWN_TIMEOUT_MS: number;
  KAFKA_BROKERS?: string[];
  KAFKA_CLIENT_ID?: string;
  REDIS_URL?: string;
  CASSANDRA_CONTACT_POINTS?: string[];
  CASSANDRA_LOCAL_DC?: string;
  CASSANDRA_KEYSPACE?: string;
  CASSANDRA_REPLICATION_FACTOR?: number;
  CASSANDRA_USERNAME?: string;
  CASSANDRA_PASSWORD?: string;
}

export interface ServiceKitOptions {
  /** Service name: logger `service` field, metrics `service` label, Kafka client id. */
  service: string;
  config: KitConfig;
  /** Connect a Kafka EventBus (provided as EVENT_BUS). */
  kafka?: boolean;
  /** Connect Redis (provided as REDIS) and load these Lua scripts (ScriptRunner). */
  redis?: boolean | { scripts: readonly LuaScript[] };
  /** Connect Cassandra (provided as CASSANDRA) after applying migrations from these directories. */
  cassandra?: boolean | { migrationDirs: readonly string[] };
}
