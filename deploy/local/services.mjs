// The platform's long-running apps as `npm start` runs them on one machine: HTTP port
// (health, metrics, API) and the /api/v1 route prefixes each one serves behind the
// api-gateway. Apps that do not exist yet in apps/ are skipped.
import { stackConfig } from './stack-config.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cfg = stackConfig(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));

export const STACK_ENV = {
  REDIS_URL: `redis://${cfg.host}:${cfg.redis.port}`,
  KAFKA_BROKERS: `${cfg.host}:${cfg.kafka.port}`,
  CASSANDRA_CONTACT_POINTS: `${cfg.host}:${cfg.cassandra.port}`,
  CASSANDRA_LOCAL_DC: 'datacenter1',
  CASSANDRA_KEYSPACE: 'dmp',
};

export const SERVICES = [
  { name: 'api-gateway', httpPort: 8080 },
  { name: 'coap-gateway', httpPort: 8090, env: { COAP_LISTEN: 'udp4://127.0.0.1:5683,udp6://[::1]:5683', GATEWAY_ID: 'local-gw-1' } },
  { name: 'registry', httpPort: 8081, routes: ['devices'] },
  { name: 'storage', httpPort: 8082, routes: [] },
  { name: 'command', httpPort: 8083, routes: ['operations', 'devices/*/operations', 'devices/*/observations', 'bootstrap', 'appkeys'] },
  { name: 'query', httpPort: 8084, routes: ['stats', 'data', 'audit'] },
];
