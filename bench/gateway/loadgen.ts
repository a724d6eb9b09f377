/**
 * UDP load generator for the gateway benchmark (bench/gateway/gateway.bench.ts). Runs as its
 * own process (own event loop, pinned to another core than the server under test) and is
 * driven by JSON lines on stdin; it answers each command with one JSON line on stdout.
 *
 * It simulates `sockets × devicesPerSocket` LwM2M devices: device i sends from socket
 * i % sockets (each socket its own source port) with the endpoint name
 * `urn:imei:<IMEI>` where the IMEI is `9901` + 10-digit i + Luhn digit (a recognisable
 * range the benchmark deletes afterwards). A bounded window of outstanding CON requests is
 * kept full; an unanswered request is retransmitted once after 2 s (same MID, like a real
 * device) and counted as a timeout 4 s later.
 *
 * Commands:
 *   {"cmd":"init","host":"127.0.0.1","port":5683,"sockets":256}
 *   {"cmd":"register","from":0,"to":10000,"durationMs":8000,"window":256,"lifetime":86400}
 *   {"cmd":"update","from":0,"to":10000,"durationMs":5000,"window":256}
 *   {"cmd":"exit"}
 */
import dgram from 'node:dgram';
import readline from 'node:readline';
import { CoapCode, type CoapMessageInit, CoapType, ContentFormat, decode, encode, formatCode, OptionNumber, uintOption, uriPathOptions, uriQueryOptions } from '../../libs/coap/src/index';

export const BENCH_IMEI_PREFIX = '9901';

/** Luhn-valid 15-digit IMEI of simulated device i (0 ≤ i < 10^10). */
export function benchImei(i: number): string {
  const body = `${BENCH_IMEI_PREFIX}${String(i).padStart(10, '0')}`;
  let sum = 0;
  for (let k = 0; k < 14; k++) {
    let d = body.charCodeAt(13 - k) - 48;
    if (k % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

/** ~43-byte object links, as a small NB-IoT device registers them. */
export const LINKS = '</1/0>,</3/0>,</4/0>,</5/0>,</19/0>,</19/1>';

const RETRANSMIT_AFTER_MS = 2000;
const GIVE_UP_AFTER_MS = 6000;

interface Pending {
  device: number;
  socket: number;
  mid: number;
  token: number;
  bytes: Buffer;
  sentAt: number;
  retransmitted: boolean;
  acked: boolean;
}

export interface PhaseResult {
  phase: string;
  sent: number;
  answered: number;
  ok: number;
  codes: Record<string, number>;
  timeouts: number;
  retransmissions: number;
  /** ms from the first request to the last answer */
  elapsedMs: number;
  opsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  registered: number;
  /** CPU time of this process / elapsed, in percent of one core */
  cpuPercent: number;
}

class LoadGen {
  private readonly sockets: dgram.Socket[] = [];
  private readonly pendingByToken = new Map<number, Pending>();
  private readonly pendingByMid = new Map<number, Pending>();
  private readonly mids: number[] = [];
  private nextToken = 1;
  /** Location-Path segments of each registered device (index → segments). */
  private readonly locations = new Map<number, string[]>();
  private readonly busy = new Set<number>();

  async init(host: string, port: number, n: number): Promise<number[]> {
    for (let s = 0; s < n; s++) {
      const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind({ address: '127.0.0.1', port: 0 }, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      await new Promise<void>((resolve) => sock.connect(port, host, () => resolve()));
      const idx = s;
      sock.on('message', (buf) => this.onMessage(idx, buf));
      sock.on('error', () => undefined);
      this.sockets.push(sock);
      this.mids.push(Math.floor(Math.random() * 65536));
    }
    return this.sockets.map((x) => x.address().port);
  }

  // per-phase state
  private phase: { name: 'register' | 'update'; done: boolean; res: PhaseResult; samples: number[]; start: number; last: number } | undefined;
  private onDoneHook: (() => void) | undefined;
  private refill: (() => void) | undefined;

  private onMessage(sockIdx: number, buf: Buffer): void {
    let m;
    try {
      m = decode(buf);
    } catch {
      return;
    }
    const ph = this.phase;
    if (m.type === CoapType.ACK && m.code === CoapCode.EMPTY) {
      const p = this.pendingByMid.get(sockIdx * 65536 + m.mid);
      if (p) p.acked = true;
      return;
    }
    if (m.type === CoapType.RST) return;
    let tok = 0;
    const t = m.token;
    for (let k = 0; k < t.length; k++) tok = tok * 256 + (t[k] ?? 0);
    const p = this.pendingByToken.get(tok);
    if (m.type === CoapType.CON) this.sockets[sockIdx]!.send(encode({ type: CoapType.ACK, code: CoapCode.EMPTY, mid: m.mid }));
    if (!p || p.socket !== sockIdx || !ph) return;
    this.pendingByToken.delete(tok);
    this.pendingByMid.delete(p.socket * 65536 + p.mid);
    this.busy.delete(p.device);
    const now = performance.now();
    const code = formatCode(m.code);
    ph.res.answered++;
    ph.res.codes[code] = (ph.res.codes[code] ?? 0) + 1;
    ph.samples.push(now - p.sentAt);
    ph.last = now;
    if (ph.name === 'register' && m.code === CoapCode.CREATED) {
      ph.res.ok++;
      this.locations.set(p.device, m.locationPath);
    } else if (ph.name === 'update' && m.code === CoapCode.CHANGED) {
      ph.res.ok++;
    }
    this.refill?.();
  }

  private send(device: number, init: Omit<CoapMessageInit, 'type' | 'mid' | 'token'>): void {
    const socket = device % this.sockets.length;
    const mid = (this.mids[socket]! + 1) & 0xffff;
    this.mids[socket] = mid;
    const token = this.nextToken;
    this.nextToken = this.nextToken >= 0xffffffff ? 1 : this.nextToken + 1;
    const tb = Buffer.alloc(4);
    tb.writeUInt32BE(token);
    const bytes = encode({ ...init, type: CoapType.CON, mid, token: tb });
    const p: Pending = { device, socket, mid, token, bytes, sentAt: performance.now(), retransmitted: false, acked: false };
    this.pendingByToken.set(token, p);
    this.pendingByMid.set(socket * 65536 + mid, p);
    this.busy.add(device);
    this.sockets[socket]!.send(bytes);
    this.phase!.res.sent++;
  }

  private registerInit(i: number, lifetime: number): Omit<CoapMessageInit, 'type' | 'mid' | 'token'> {
    return {
      code: CoapCode.POST,
      options: [
        ...uriPathOptions(['rd']),
        uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.LINK_FORMAT),
        ...uriQueryOptions([`ep=urn:imei:${benchImei(i)}`, `lt=${lifetime}`, 'lwm2m=1.1', 'b=U']),
      ],
      payload: Buffer.from(LINKS),
    };
  }

  private sweep(): void {
    const now = performance.now();
    const ph = this.phase;
    if (!ph) return;
    for (const p of this.pendingByToken.values()) {
      const age = now - p.sentAt;
      if (!p.retransmitted && !p.acked && age >= RETRANSMIT_AFTER_MS) {
        p.retransmitted = true;
        ph.res.retransmissions++;
        this.sockets[p.socket]!.send(p.bytes);
      } else if (age >= GIVE_UP_AFTER_MS) {
        this.pendingByToken.delete(p.token);
        this.pendingByMid.delete(p.socket * 65536 + p.mid);
        this.busy.delete(p.device);
        ph.res.timeouts++;
      }
    }
    if (ph.done && this.pendingByToken.size === 0) this.onDoneHook?.();
    else this.refill?.();
  }

  async run(name: 'register' | 'update', from: number, to: number, durationMs: number, window: number, lifetime: number): Promise<PhaseResult> {
    const res: PhaseResult = {
      phase: name,
      sent: 0,
      answered: 0,
      ok: 0,
      codes: {},
      timeouts: 0,
      retransmissions: 0,
      elapsedMs: 0,
      opsPerSec: 0,
      latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
      registered: 0,
      cpuPercent: 0,
    };
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    const ph = { name, done: false, res, samples: [] as number[], start, last: start };
    this.phase = ph;
    const deadline = start + durationMs;
    let next = from;
    const targets = name === 'update' ? [...this.locations.keys()].filter((d) => d >= from && d < to).sort((a, b) => a - b) : [];
    if (name === 'update' && targets.length === 0) throw new Error('no registered devices to update');
    let rr = 0;
    this.refill = () => {
      if (ph.done) return;
      const now = performance.now();
      if (now >= deadline) {
        ph.done = true;
        return;
      }
      while (this.pendingByToken.size < window) {
        if (name === 'register') {
          if (next >= to) {
            ph.done = true;
            return;
          }
          this.send(next, this.registerInit(next, lifetime));
          next++;
        } else {
          let d = targets[rr % targets.length]!;
          rr++;
          let guard = 0;
          while (this.busy.has(d) && guard++ < targets.length) {
            d = targets[rr % targets.length]!;
            rr++;
          }
          if (this.busy.has(d)) return;
          this.send(d, { code: CoapCode.POST, options: uriPathOptions(this.locations.get(d)!) });
        }
      }
    };
    const timer = setInterval(() => this.sweep(), 25);
    await new Promise<void>((resolve) => {
      this.onDoneHook = resolve;
      this.refill!();
    });
    clearInterval(timer);
    this.refill = undefined;
    this.onDoneHook = undefined;
    this.phase = undefined;
    const cpu = process.cpuUsage(cpu0);
    const elapsed = Math.max(1, ph.last - start);
    res.elapsedMs = Math.round(elapsed);
    res.opsPerSec = Math.round((res.ok * 1000) / elapsed);
    res.cpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - start)) * 100);
    const s = Float64Array.from(ph.samples).sort();
    const q = (f: number) => (s.length ? Number(s[Math.min(s.length - 1, Math.floor(f * s.length))]!.toFixed(2)) : 0);
    res.latencyMs = { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.length ? Number(s[s.length - 1]!.toFixed(2)) : 0 };
    res.registered = this.locations.size;
    return res;
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }
}

function main(): void {
  const gen = new LoadGen();
  const rl = readline.createInterface({ input: process.stdin });
  const reply = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    chain = chain.then(async () => {
      try {
        const c = JSON.parse(line) as Record<string, unknown>;
        const n = (k: string, d = 0) => (typeof c[k] === 'number' ? (c[k] as number) : d);
        if (c['cmd'] === 'init') reply({ ok: true, ports: await gen.init(String(c['host']), n('port'), n('sockets', 256)) });
        else if (c['cmd'] === 'register' || c['cmd'] === 'update') {
          reply({ ok: true, result: await gen.run(c['cmd'], n('from'), n('to'), n('durationMs', 5000), n('window', 256), n('lifetime', 86400)) });
        } else if (c['cmd'] === 'exit') {
          gen.close();
          reply({ ok: true });
          process.exit(0);
        } else reply({ ok: false, error: `unknown command ${String(c['cmd'])}` });
      } catch (e) {
        reply({ ok: false, error: e instanceof Error ? e.message : String(e) });
      }
    });
  });
  rl.on('close', () => process.exit(0));
}

if (require.main === module) main();
