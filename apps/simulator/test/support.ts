// Spawns the platform services the simulator e2e test runs against (real processes on
// ephemeral ports, the local Redis / Kafka / Cassandra). The same steps as
// apps/command/test/support.ts and apps/storage/test/harness.ts: an app's tests cannot import
// another app's files (Nx module boundaries, decision 0004), so the few lines live here too.
import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from '@dmp/testing';

export interface Service {
  url: string;
  match: RegExpExecArray;
  output: () => string;
  stop(): Promise<unknown>;
}

function spawnService(entry: string, env: Record<string, string>, ready: RegExp, what: string): Promise<Service> {
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

const stackEnv = {
  REDIS_URL: stack.redisUrl,
  KAFKA_BROKERS: stack.kafkaBrokers.join(','),
  CASSANDRA_CONTACT_POINTS: stack.cassandraContactPoints.join(','),
  CASSANDRA_LOCAL_DC: stack.cassandraDc,
  LOG_LEVEL: 'warn',
  HTTP_PORT: '0',
};

export async function startGateway(): Promise<Service & { coapPort: number }> {
  const s = await spawnService(
    'apps/coap-gateway/src/main.ts',
    { ...stackEnv, GATEWAY_ID: uniqueName('gw'), COAP_LISTEN: 'udp4://127.0.0.1:0', COAP_RATE_PER_SEC: '0' },
    /COAP LISTENING udp4:\/\/127\.0\.0\.1:(\d+)/,
    'the gateway to listen',
  );
  return { ...s, coapPort: Number(s.match[1]) };
}

export function startCommand(): Promise<Service> {
  return spawnService('apps/command/src/main.ts', { ...stackEnv, LOG_LEVEL: 'info', COMMAND_GROUP_ID: uniqueName('command') }, /HTTP LISTENING (http:\/\/\S+)/, 'the command service to listen');
}

export function startRegistry(keyspace: string): Promise<Service> {
  return spawnService('apps/registry/src/main.ts', { ...stackEnv, CASSANDRA_KEYSPACE: keyspace, REGISTRY_GROUP_ID: uniqueName('registry') }, /HTTP LISTENING (http:\/\/\S+)/, 'the registry to listen');
}

/** Storage with its own keyspace, group and keys; `epiHash` is its blind index of an EPI. */
export async function startStorage(keyspace: string): Promise<Service & { epiHash: (epi: string) => Buffer }> {
  const hashKey = randomBytes(32);
  const s = await spawnService(
    'apps/storage/src/main.ts',
    {
      ...stackEnv,
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
  // apps/storage/src/crypto.ts FieldCipher.hash('epi', epi): HMAC-SHA-256 over "epi\0<epi>".
  const epiHash = (epi: string) => createHmac('sha256', hashKey).update('epi').update('\0').update(epi).digest();
  return { ...s, url: s.match[1] ?? s.match[2] ?? '', epiHash };
}

export interface OpView {
  id: string;
  status: string;
  code?: string;
  error?: string;
}

export async function api<T = OpView>(base: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}/api/v1${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
