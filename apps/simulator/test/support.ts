// Spawns the platform services the simulator e2e test runs against (real processes on
// ephemeral ports, the local Redis / Kafka / Cassandra), with the spawners of @dmp/testing.
import { type Service, serviceEnv, spawnService, startStorage, uniqueName } from '@dmp/testing';

export type { Service };

export async function startGateway(): Promise<Service & { coapPort: number }> {
  const s = await spawnService(
    'apps/coap-gateway/src/main.ts',
    { ...serviceEnv, GATEWAY_ID: uniqueName('gw'), COAP_LISTEN: 'udp4://127.0.0.1:0', COAP_RATE_PER_SEC: '0' },
    /COAP LISTENING udp4:\/\/127\.0\.0\.1:(\d+)/,
    'the gateway to listen',
  );
  return { ...s, coapPort: Number(s.match[1]) };
}

export function startCommand(): Promise<Service> {
  return spawnService('apps/command/src/main.ts', { ...serviceEnv, LOG_LEVEL: 'info', COMMAND_GROUP_ID: uniqueName('command') }, /HTTP LISTENING (http:\/\/\S+)/, 'the command service to listen');
}

export function startRegistry(keyspace: string): Promise<Service> {
  return spawnService('apps/registry/src/main.ts', { ...serviceEnv, CASSANDRA_KEYSPACE: keyspace, REGISTRY_GROUP_ID: uniqueName('registry') }, /HTTP LISTENING (http:\/\/\S+)/, 'the registry to listen');
}

export { startStorage };

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
