// Test support for the registry: spawns real registry / CoAP gateway / api-gateway
// processes against the local stack, collects Kafka topics, and speaks CoAP over UDP.
import dgram from 'node:dgram';
import path from 'node:path';
import { CoapCode, type CoapMessage, CoapType, ContentFormat, encode, OptionNumber, tryDecode, uintOption, uriPathOptions, uriQueryOptions } from '@dmp/coap';
import { type IncomingMessage, KafkaJsEventBus } from '@dmp/kafka';
import { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from '@dmp/testing';

export interface Proc {
  url: string;
  output: () => string;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnService(entry: string, env: Record<string, string>, ready: RegExp, what: string): Promise<Proc & { match: RegExpExecArray }> {
  let out = '';
  const child = spawnTs(path.join(ROOT, entry), env, (s) => (out += s));
  return waitUntil(
    what,
    async () => {
      if (child.exitCode !== null) throw new Error(`${what} exited: ${out.slice(-3000)}`);
      return ready.exec(out) ?? undefined;
    },
    90000,
  ).then((m) => ({
    match: m,
    url: m[1] ?? '',
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exitOf(child);
    },
  }));
}

const stackEnv = () => ({
  REDIS_URL: stack.redisUrl,
  KAFKA_BROKERS: stack.kafkaBrokers.join(','),
  CASSANDRA_CONTACT_POINTS: stack.cassandraContactPoints.join(','),
  CASSANDRA_LOCAL_DC: stack.cassandraDc,
});

export function startRegistry(env: Record<string, string>): Promise<Proc> {
  return spawnService('apps/registry/src/main.ts', { ...stackEnv(), HTTP_PORT: '0', LOG_LEVEL: 'warn', ...env }, /HTTP LISTENING (http:\/\/\S+)/, 'the registry to listen');
}

export async function startGateway(id = uniqueName('gw')): Promise<Proc & { coapPort: number; id: string }> {
  const p = await spawnService(
    'apps/coap-gateway/src/main.ts',
    { ...stackEnv(), GATEWAY_ID: id, HTTP_PORT: '0', COAP_LISTEN: 'udp4://127.0.0.1:0', LOG_LEVEL: 'warn', COAP_RATE_PER_SEC: '0' },
    /COAP LISTENING udp4:\/\/127\.0\.0\.1:(\d+)/,
    'the gateway to listen',
  );
  return { ...p, id, coapPort: Number(p.match[1]) };
}

export function startApiGateway(token: string, upstreams: Record<string, string>): Promise<Proc> {
  return spawnService(
    'apps/api-gateway/src/main.ts',
    { HTTP_PORT: '0', LOG_LEVEL: 'info', API_ADMIN_TOKEN: token, API_UPSTREAMS: JSON.stringify(upstreams) },
    /API at (http:\/\/[^\s"]+?)\/api\/v1/,
    'the api-gateway to listen',
  );
}

/** Collects a topic from the latest offset on (own consumer group), with the arrival time of each message. */
export class Collector<T> {
  readonly items: Array<{ at: number; value: T }> = [];
  private constructor(private readonly bus: KafkaJsEventBus) {}

  static async start<T>(topic: string, decode: (m: IncomingMessage) => T): Promise<Collector<T>> {
    const bus = new KafkaJsEventBus({ clientId: uniqueName('reg-collector'), brokers: stack.kafkaBrokers });
    await bus.connect();
    const c = new Collector<T>(bus);
    await bus.runConsumer({
      groupId: uniqueName('reg-collector'),
      topics: [topic],
      fromBeginning: false,
      sessionTimeoutMs: 6000,
      handler: async (m) => void c.items.push({ at: Date.now(), value: decode(m) }),
    });
    await new Promise((r) => setTimeout(r, 3500));
    return c;
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}

/** A valid 15-digit IMEI (Luhn) from a 14-digit body. */
export function imeiFromDigits(body14: string): string {
  let sum = 0;
  for (let i = 0; i < 14; i++) {
    let d = Number(body14[13 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${body14}${(10 - (sum % 10)) % 10}`;
}

/** `count` IMEIs unique to this run. */
export function runImeis(count: number): string[] {
  const run = `${String(Date.now()).slice(-6)}${String(Math.floor(Math.random() * 100)).padStart(2, '0')}`;
  return Array.from({ length: count }, (_, i) => imeiFromDigits(`35${run}${String(i).padStart(4, '0')}`));
}

let mid = Math.floor(Math.random() * 0xffff);
const nextMid = () => (mid = (mid + 1) & 0xffff);
const tok = () => Buffer.from([Math.random() * 256, Math.random() * 256, Math.random() * 256, Math.random() * 256].map(Math.floor));

export function registerRequest(endpoint: string, lt: number, links = '</1/0>,</3/0>,</4/0>'): Buffer {
  return encode({
    type: CoapType.CON,
    code: CoapCode.POST,
    mid: nextMid(),
    token: tok(),
    options: [
      ...uriPathOptions(['rd']),
      uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.LINK_FORMAT),
      ...uriQueryOptions([`ep=${endpoint}`, `lt=${lt}`, 'lwm2m=1.1', 'b=U']),
    ],
    payload: Buffer.from(links),
  });
}

export function updateRequest(location: string, query: string[] = []): Buffer {
  return encode({ type: CoapType.CON, code: CoapCode.POST, mid: nextMid(), token: tok(), options: [...uriPathOptions(['rd', location]), ...uriQueryOptions(query)] });
}

export function deregisterRequest(location: string): Buffer {
  return encode({ type: CoapType.CON, code: CoapCode.DELETE, mid: nextMid(), token: tok(), options: uriPathOptions(['rd', location]) });
}

/** One UDP socket acting as a device (or as many devices in turn): CON → ACK, with retransmission. */
export class Device {
  private readonly waiting = new Map<number, (m: CoapMessage) => void>();
  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (b) => {
      const r = tryDecode(b);
      if (!r.ok) return;
      const w = this.waiting.get(r.message.mid);
      if (w && (r.message.type === CoapType.ACK || r.message.type === CoapType.RST)) {
        this.waiting.delete(r.message.mid);
        w(r.message.clone());
      }
    });
  }

  static async open(): Promise<Device> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind({ address: '127.0.0.1', port: 0 }, () => res());
    });
    return new Device(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends a CON and resolves with the answer's code text (e.g. `2.01`); retransmits up to 4 times. */
  async request(bytes: Buffer, port: number, timeoutMs = 2000): Promise<string> {
    const m = bytes.readUInt16BE(2);
    for (let attempt = 0; attempt < 5; attempt++) {
      const answer = new Promise<CoapMessage | undefined>((resolve) => {
        const t = setTimeout(() => {
          this.waiting.delete(m);
          resolve(undefined);
        }, timeoutMs);
        this.waiting.set(m, (msg) => {
          clearTimeout(t);
          resolve(msg);
        });
      });
      this.socket.send(bytes, port, '127.0.0.1');
      const msg = await answer;
      if (msg) return msg.codeText;
    }
    return 'timeout';
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}
