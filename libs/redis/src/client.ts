import Redis, { type RedisOptions } from 'ioredis';

export type { Redis };

/**
 * An ioredis client with the platform's defaults: auto-pipelining (many small commands
 * from concurrent requests share round trips), bounded retries per command so a dead
 * Redis fails requests instead of queueing them forever, and lazy connect (call
 * `connect()` during boot so readiness reflects the real state).
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 3000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
    ...options,
  });
}

export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}
