// A raw UDP CoAP peer for the gateway's e2e tests: sends exact bytes (valid or not) and
// records every datagram that comes back, so tests can assert on the wire format.
import dgram from 'node:dgram';
import { CoapCode, type CoapMessage, CoapType, ContentFormat, encode, OptionNumber, tryDecode, uintOption, uriPathOptions, uriQueryOptions } from '@dmp/coap';
import { waitUntil } from '@dmp/testing';

export interface Received {
  at: number;
  bytes: Buffer;
  /** Undefined when the gateway sent something we cannot decode (that would be a bug). */
  msg: CoapMessage | undefined;
}

export class UdpPeer {
  readonly received: Received[] = [];
  private constructor(private readonly socket: dgram.Socket) {}

  static async open(address = '127.0.0.1'): Promise<UdpPeer> {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
    const peer = new UdpPeer(socket);
    socket.on('message', (bytes) => {
      const r = tryDecode(bytes);
      peer.received.push({ at: Date.now(), bytes: Buffer.from(bytes), msg: r.ok ? r.message.clone() : undefined });
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port: 0 }, () => resolve());
    });
    return peer;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(bytes: Uint8Array, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, port, host, (e) => (e ? reject(e) : resolve())));
  }

  /** Sends and waits for the first datagram matching `match` received after the send. */
  async exchange(bytes: Uint8Array, port: number, match: (r: Received) => boolean, timeoutMs = 3000): Promise<Received> {
    const from = this.received.length;
    await this.send(bytes, port);
    return waitUntil('an answer', async () => this.received.slice(from).find(match), timeoutMs, 5);
  }

  /** Sends a CON and waits for the ACK/RST with its MID. */
  async request(bytes: Uint8Array, port: number, timeoutMs = 3000): Promise<Received> {
    const mid = Buffer.from(bytes).readUInt16BE(2);
    return this.exchange(bytes, port, (r) => r.msg?.mid === mid && (r.msg.type === CoapType.ACK || r.msg.type === CoapType.RST), timeoutMs);
  }

  /** Everything received from index `from` within `ms` milliseconds from now. */
  async collect(from: number, ms: number): Promise<Received[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.received.slice(from);
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

let nextMid = Math.floor(Math.random() * 0xffff);
export const freshMid = (): number => (nextMid = (nextMid + 1) & 0xffff);

export function token(n = 4): Buffer {
  const t = Buffer.alloc(n);
  for (let i = 0; i < n; i++) t[i] = Math.floor(Math.random() * 256);
  return t;
}

/** Register request bytes: POST /rd?ep=urn:imei:…&lt=…&lwm2m=1.1&b=U with link-format object links. */
export function registerBytes(imei: string, opts: { lt?: number; mid?: number; type?: CoapType; links?: string } = {}): Buffer {
  return encode({
    type: opts.type ?? CoapType.CON,
    code: CoapCode.POST,
    mid: opts.mid ?? freshMid(),
    token: token(),
    options: [
      ...uriPathOptions(['rd']),
      uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.LINK_FORMAT),
      ...uriQueryOptions([`ep=urn:imei:${imei}`, `lt=${opts.lt ?? 300}`, 'lwm2m=1.1', 'b=U']),
    ],
    payload: Buffer.from(opts.links ?? '</1/0>,</3/0>,</4/0>'),
  });
}

export function updateBytes(location: string, opts: { mid?: number; query?: string[] } = {}): Buffer {
  return encode({
    type: CoapType.CON,
    code: CoapCode.POST,
    mid: opts.mid ?? freshMid(),
    token: token(),
    options: [...uriPathOptions(['rd', location]), ...uriQueryOptions(opts.query ?? [])],
  });
}

export function deregisterBytes(location: string, mid = freshMid()): Buffer {
  return encode({ type: CoapType.CON, code: CoapCode.DELETE, mid, token: token(), options: uriPathOptions(['rd', location]) });
}

export const codeText = (r: Received | undefined): string => (r?.msg ? r.msg.codeText : 'none');

/** Parses the Prometheus text exposition into `name{labels}` → value. */
export async function scrapeMetrics(httpUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${httpUrl}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics → ${res.status}`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of the samples of `name` whose labels include all of `labels` (other labels, e.g. `service`, ignored). */
export function metric(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [k, v] of m) {
    if (k !== name && !k.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([l, x]) => k.includes(`${l}="${x}"`))) sum += v;
  }
  return sum;
}

export const rejects = (m: Map<string, number>, reason: string): number => metric(m, 'dmp_gateway_rejects_total', { reason });

/** Reject reasons (with their counts) that start with `prefix`. */
export function rejectReasons(m: Map<string, number>, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of m) {
    const r = /^dmp_gateway_rejects_total\{.*reason="([^"]+)"/.exec(k)?.[1];
    if (r?.startsWith(prefix)) out.set(r, (out.get(r) ?? 0) + v);
  }
  return out;
}
