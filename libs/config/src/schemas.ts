import { z } from 'zod';

/** Boolean env var: "true"/"1"/"yes" and "false"/"0"/"no". */
export const envBool = (dflt: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(dflt ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Integer env var within [min, max]. */
export const envInt = (dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(dflt);

/** Comma-separated list, trimmed, empty entries dropped. */
export const envList = (dflt: string) =>
  z
    .string()
    .default(dflt)
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string()).min(1, 'must list at least one entry'));

const hostPort = /^[^\s:]+:\d{1,5}$/;

/** Variables shared by every service. Defaults match deploy/local (the `npm start` stack). */
export const commonEnv = {
  DMP_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: envInt(0, 0, 65535),
  SHUTDOWN_TIMEOUT_MS: envInt(10000, 100, 120000),
};

export const kafkaEnv = {
  KAFKA_BROKERS: envList('127.0.0.1:9092').pipe(
    z.array(z.string().regex(hostPort, 'each broker must be host:port')),
  ),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
};

export const redisEnv = {
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6380'),
};

export const cassandraEnv = {
  CASSANDRA_CONTACT_POINTS: envList('127.0.0.1:9042'),
  CASSANDRA_LOCAL_DC: z.string().min(1).default('datacenter1'),
  CASSANDRA_KEYSPACE: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'must be a lowercase CQL identifier').default('dmp'),
  CASSANDRA_REPLICATION_FACTOR: envInt(1, 1, 9),
  CASSANDRA_USERNAME: z.string().optional(),
  CASSANDRA_PASSWORD: z.string().optional(),
};
