import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from './stack';

/** A platform app started from its TypeScript sources for an e2e test. */
export interface Service {
  url: string;
  match: RegExpExecArray;
  output: () => string;
  stop(): Promise<unknown>;
}

/** Environment every app needs to reach the local stack (ephemeral HTTP port, warn logs). */
export const serviceEnv: Record<string, string> = {
  REDIS_URL: stack.redisUrl,
  KAFKA_BROKERS: stack.kafkaBrokers.join(','),
  CASSANDRA_CONTACT_POINTS: stack.cassandraContactPoints.join(','),
  CASSANDRA_LOCAL_DC: stack.cassandraDc,
  LOG_LEVEL: 'warn',
  HTTP_PORT: '0',
};

/** Spawns `entry` (a path under the repo root) and resolves once its output matches `ready`. */
export function spawnService(entry: string, env: Record<string, string>, ready: RegExp, what: string): Promise<Service> {
  let out = '';
  const child = spawnTs(path.join(ROOT, entry), env, (s) => (out += s));
  return waitUntil(
    what,
    async () => {
      if (child.exitCode !== null) throw new Error(`${what} exited: ${out.slice(-3000)}`);
      return ready.exec(out) ?? undefined;
    },
    90000,
  ).then((match) => ({
    match,
    url: match[1] ?? '',
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exitOf(child);
    },
  }));
}

/**
 * The storage service with its own keyspace, consumer group (starting at the end of
 * dmp.data.v1) and keys; `epiHash` is its blind index of an EPI (the partition key of its
 * tables: apps/storage/src/crypto.ts FieldCipher.hash('epi', epi) = HMAC-SHA-256 over "epi\0<epi>").
 */
export async function startStorage(keyspace: string): Promise<Service & { epiHash: (epi: string) => Buffer }> {
  const hashKey = randomBytes(32);
  const s = await spawnService(
    'apps/storage/src/main.ts',
    {
      ...serviceEnv,
      LOG_LEVEL: 'info',
      CASSANDRA_KEYSPACE: keyspace,
      STORAGE_GROUP_ID: uniqueName('storage'),
      STORAGE_FROM_BEGINNING: 'false',
      STORAGE_SESSION_TIMEOUT_MS: '6000',
      STORAGE_KEYS: JSON.stringify({ k1: randomBytes(32).toString('base64') }),
      STORAGE_ACTIVE_KEY: 'k1',
      STORAGE_HASH_KEY: hashKey.toString('base64'),
    },
    /STORAGE CONSUMING[\s\S]*?HTTP LISTENING (\S+)|HTTP LISTENING (\S+)[\s\S]*?STORAGE CONSUMING/,
    'storage to consume',
  );
  const epiHash = (epi: string) => createHmac('sha256', hashKey).update('epi').update('\0').update(epi).digest();
  return { ...s, url: s.match[1] ?? s.match[2] ?? '', epiHash };
}
