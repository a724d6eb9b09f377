// End-to-end harness for the CoAP gateway: starts real gateway processes against the
// real local stack, collects Kafka events, sends downlink commands, and locates the
// third-party peers installed by deploy/local/peers.sh.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { type CommandResult, commandTopicFor, decodeMessage, type DeviceCommand, type DeviceEvent, type DataEvent, encodeMessage, Topics, COMMAND_TOPIC, defineTopic } from '@dmp/contracts';
import { type IncomingMessage, KafkaJsEventBus } from '@dmp/kafka';
import { createRedis, type Redis } from '@dmp/redis';
import { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from '@dmp/testing';

export const execFileP = promisify(execFile);

export const peers = {
  coapClient: process.env['COAP_CLIENT'] ?? '/usr/bin/coap-client-notls',
  leshanLib: process.env['LESHAN_CLIENT_LIB'] ?? path.join(process.env['HOME'] ?? '/root', '.cache/dmp/leshan-client-2.0.0-M15/lib'),
  python: process.env['PEERS_PYTHON'] ?? path.join(ROOT, '.dmp/venv-peers/bin/python'),
  java: process.env['PEERS_JAVA'] ?? '/usr/lib/jvm/java-17-openjdk-amd64/bin/java',
};

export interface GatewayProcess {
  id: string;
  coapPort: number;
  httpUrl: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `apps/coap-gateway` on an ephemeral UDP port (IPv4 loopback) with the given id. */
export async function startGateway(id = uniqueName('gw'), env: Record<string, string> = {}): Promise<GatewayProcess> {
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
  const coapPort = await waitUntil(`gateway ${id} to listen`, async () => {
    if (child.exitCode !== null) throw new Error(`gateway exited: ${out.slice(-2000)}`);
    const m = /COAP LISTENING udp4:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  }, 90000);
  const httpUrl = await waitUntil('gateway http', async () => /HTTP LISTENING (http:\/\/\S+)/.exec(out)?.[1], 30000).catch(() => 'unknown');
  return {
    id,
    coapPort,
    httpUrl,
    output: () => out,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exitOf(child);
    },
  };
}

/** Collects messages of a topic from now on (its own consumer group, from the latest offset). */
export class TopicCollector<T> {
  readonly items: T[] = [];
  private constructor(private readonly bus: KafkaJsEventBus) {}

  static async start<T>(topic: string, decode: (m: IncomingMessage) => T): Promise<TopicCollector<T>> {
    const bus = new KafkaJsEventBus({ clientId: uniqueName('collector'), brokers: stack.kafkaBrokers });
    await bus.connect();
    const c = new TopicCollector<T>(bus);
    await bus.runConsumer({ groupId: uniqueName('collector'), topics: [topic], fromBeginning: false, sessionTimeoutMs: 6000, handler: async (m) => void c.items.push(decode(m)) });
    // wait until the group has its assignment, so no message produced after start() is missed
    await new Promise((r) => setTimeout(r, 3500));
    return c;
  }

  async waitFor(what: string, pred: (t: T) => boolean, timeoutMs = 20000): Promise<T> {
    return waitUntil(what, async () => this.items.find(pred), timeoutMs, 50);
  }

  async close(): Promise<void> {
    await this.bus.close();
  }
}

export const deviceEvents = () => TopicCollector.start<DeviceEvent>(Topics.deviceEvents.name, (m) => decodeMessage(Topics.deviceEvents, m.key, m.value).value);
export const dataEvents = () => TopicCollector.start<DataEvent>(Topics.data.name, (m) => decodeMessage(Topics.data, m.key, m.value).value);
export const commandResults = () => TopicCollector.start<CommandResult>(Topics.commandResults.name, (m) => decodeMessage(Topics.commandResults, m.key, m.value).value);

/** Publishes a command to a gateway's own topic, as the command service will. */
export async function sendCommand(bus: KafkaJsEventBus, gatewayId: string, cmd: Omit<DeviceCommand, 'v' | 'id' | 'ts' | 'uriQuery' | 'timeoutMs'> & Partial<Pick<DeviceCommand, 'uriQuery' | 'timeoutMs'>>): Promise<string> {
  const id = randomUUID();
  const spec = defineTopic({ name: commandTopicFor(gatewayId), version: 1, description: 'test', ...COMMAND_TOPIC });
  const full: DeviceCommand = { v: 1, id, ts: Date.now(), uriQuery: [], timeoutMs: 15000, ...cmd };
  const m = encodeMessage(spec, cmd.epi, full);
  await bus.producer().send(spec.name, [m]);
  return id;
}

/** Runs libcoap's coap-client and returns its verbose output (request and response lines). */
export async function coapClient(args: string[], timeoutS = 5): Promise<string> {
  const { stdout, stderr } = await execFileP(peers.coapClient, ['-v', '6', '-B', String(timeoutS), ...args], { timeout: (timeoutS + 5) * 1000 }).catch(
    (e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
  return `${stdout}\n${stderr}`;
}

/** The response line libcoap prints, e.g. `v:1 t:ACK c:2.01 i:... [ Location-Path:rd, ... ]`. */
export function responseLine(out: string): string | undefined {
  return out.split('\n').find((l) => /t:(ACK|CON|NON) c:[2-5]\.\d\d/.test(l));
}

export function redisClient(): Redis {
  return createRedis(stack.redisUrl);
}

export function busClient(): KafkaJsEventBus {
  return new KafkaJsEventBus({ clientId: uniqueName('e2e'), brokers: stack.kafkaBrokers });
}

/** A valid 15-digit IMEI (Luhn) unique to this test run. */
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

export interface AiocoapRequest {
  name: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: string[];
  cf?: number;
  payload?: string;
  nonConfirmable?: boolean;
}
export interface AiocoapResult {
  name: string;
  code?: string;
  type?: string;
  locationPath?: string[];
  maxAge?: number | null;
  payload?: string;
  error?: string;
}

/**
 * Runs aiocoap (test/peers/aiocoap_client.py, a CoAP stack we did not write) with these
 * requests, in order, from one socket, against a gateway port; results by request name.
 */
export async function aiocoap(port: number, requests: AiocoapRequest[]): Promise<Record<string, AiocoapResult>> {
  const { stdout } = await execFileP(
    peers.python,
    [path.join(ROOT, 'test/peers/aiocoap_client.py'), '--server', `coap://127.0.0.1:${port}`, '--requests', JSON.stringify(requests)],
    { timeout: 30_000 },
  );
  const { results } = JSON.parse(stdout) as { results: AiocoapResult[] };
  if (results.length !== requests.length) throw new Error(`aiocoap answered ${results.length} of ${requests.length} requests`);
  return Object.fromEntries(results.map((r) => [r.name, r]));
}

/** A counter's value on a gateway's /metrics (0 when the series does not exist yet). */
export async function metricValue(httpUrl: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const lab = line.slice(name.length + 1, line.indexOf('}'));
    if (want.every((w) => lab.split(',').includes(w))) return Number(line.slice(line.indexOf('}') + 1).trim());
  }
  return 0;
}
