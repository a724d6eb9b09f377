// Spawns the command service against the local stack and calls its HTTP API.
import path from 'node:path';
import { type DataEvent, decodeMessage, Topics } from '@dmp/contracts';
import { KafkaJsEventBus } from '@dmp/kafka';
import { createRedis, type Redis } from '@dmp/redis';
import { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from '@dmp/testing';

export interface CommandProcess {
  url: string;
  output: () => string;
  stop(): Promise<unknown>;
}

export async function startCommand(env: Record<string, string> = {}): Promise<CommandProcess> {
  let out = '';
  const child = spawnTs(
    path.join(ROOT, 'apps/command/src/main.ts'),
    {
      HTTP_PORT: '0',
      REDIS_URL: stack.redisUrl,
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      COMMAND_GROUP_ID: uniqueName('command'),
      LOG_LEVEL: 'info',
      ...env,
    },
    (s) => (out += s),
  );
  const url = await waitUntil(
    'command service to listen',
    async () => {
      if (child.exitCode !== null) throw new Error(`command service exited: ${out.slice(-3000)}`);
      return /HTTP LISTENING (http:\/\/\S+)/.exec(out)?.[1];
    },
    90000,
  );
  return {
    url,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exitOf(child);
    },
  };
}

export interface OpView {
  id: string;
  status: string;
  code?: string;
  content?: unknown;
  contentFormat?: number;
  token?: string;
  error?: string;
  message?: string;
}

export async function post(base: string, p: string, body: unknown): Promise<{ status: number; body: OpView }> {
  const res = await fetch(`${base}/api/v1${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as OpView };
}

export async function call<T = OpView>(base: string, method: string, p: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}/api/v1${p}`, { method });
  return { status: res.status, body: (await res.json()) as T };
}

// ---------------------------------------------------------------- gateway, peers, Kafka
// (the same steps as apps/coap-gateway/test/harness.ts: an app's tests cannot import
// another app's files, decision 0004 / Nx module boundaries)

export const peers = {
  coapClient: process.env['COAP_CLIENT'] ?? '/usr/bin/coap-client-notls',
  leshanLib: process.env['LESHAN_CLIENT_LIB'] ?? path.join(process.env['HOME'] ?? '/root', '.cache/dmp/leshan-client-2.0.0-M15/lib'),
  python: process.env['PEERS_PYTHON'] ?? path.join(ROOT, '.dmp/venv-peers/bin/python'),
  java: process.env['PEERS_JAVA'] ?? '/usr/lib/jvm/java-17-openjdk-amd64/bin/java',
};

export interface GatewayProcess {
  id: string;
  coapPort: number;
  /** The gateway's HTTP base URL (/metrics, /health). */
  httpUrl: string;
  stop(): Promise<unknown>;
  /** Ends the process at once (SIGKILL: no graceful shutdown, the heartbeat key is left to expire). */
  kill(): Promise<unknown>;
}

/** Starts a real apps/coap-gateway process on an ephemeral UDP port. */
export async function startGateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const id = uniqueName('gw');
  let out = '';
  const child = spawnTs(
    path.join(ROOT, 'apps/coap-gateway/src/main.ts'),
    {
      GATEWAY_ID: id,
      HTTP_PORT: '0',
      COAP_LISTEN: 'udp4://127.0.0.1:0',
      REDIS_URL: stack.redisUrl,
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      LOG_LEVEL: 'info',
      COAP_RATE_PER_SEC: '0',
      ...env,
    },
    (s) => (out += s),
  );
  const coapPort = await waitUntil(
    `gateway ${id} to listen`,
    async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited: ${out.slice(-2000)}`);
      const m = /COAP LISTENING udp4:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      return m ? Number(m[1]) : undefined;
    },
    90000,
  );
  const httpUrl = await waitUntil(`gateway ${id} HTTP`, async () => /HTTP LISTENING (http:\/\/\S+)/.exec(out)?.[1], 30000);
  return {
    id,
    coapPort,
    httpUrl,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exitOf(child);
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      return exitOf(child);
    },
  };
}

/** Sum of a Prometheus series over its label sets matching `labels` (e.g. `op="read",status="SUCCESS"`). */
export async function metricSum(base: string, name: string, labels: string[] = []): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels.every((l) => line.includes(l))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Data events (dmp.data.v1) from now on, in a group of its own. */
export async function dataEvents(): Promise<{ items: DataEvent[]; close(): Promise<void> }> {
  const bus = new KafkaJsEventBus({ clientId: uniqueName('collector'), brokers: stack.kafkaBrokers });
  await bus.connect();
  const items: DataEvent[] = [];
  await bus.runConsumer({
    groupId: uniqueName('collector'),
    topics: [Topics.data.name],
    fromBeginning: false,
    sessionTimeoutMs: 6000,
    handler: async (m) => void items.push(decodeMessage(Topics.data, m.key, m.value).value),
  });
  await new Promise((r) => setTimeout(r, 3500)); // group assignment
  return { items, close: () => bus.close() };
}

export function redisClient(): Redis {
  return createRedis(stack.redisUrl);
}

/** A valid 15-digit IMEI (Luhn) unique to this run. */
export function testImei(): string {
  const body = `86${String(Date.now()).slice(-8)}${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`.slice(0, 14);
  let sum = 0;
  for (let i = 0; i < 14; i++) {
    let d = Number(body[13 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}
