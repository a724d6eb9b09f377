/**
 * Socket pool (decision 0009). A process cannot hold a socket per UE (20 000 open files,
 * ~2.8 KB RSS per dgram socket), so UEs borrow a slot of a fixed pool: binding U for the
 * whole run, binding UQ only while awake. Free slots are handed out FIFO, so a released
 * source address is reused as late as possible (a sleeping UE that wakes on another
 * address looks like NAT rebinding after PSM; the gateway follows it on the next uplink).
 */
import dgram from 'node:dgram';

/** FIFO queue of free slot numbers over one Int32Array ring (no allocation per call). */
export class SlotFreeList {
  private readonly ring: Int32Array;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Int32Array(Math.max(1, capacity));
    for (let i = 0; i < capacity; i++) this.ring[i] = i;
    this.count = capacity;
  }

  get free(): number {
    return this.count;
  }

  /** Oldest released slot, or -1 when none is free. */
  take(): number {
    if (this.count === 0) return -1;
    const s = this.ring[this.head]!;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    return s;
  }

  give(slot: number): void {
    if (this.count >= this.ring.length) throw new Error('slot released twice');
    this.ring[(this.head + this.count) % this.ring.length] = slot;
    this.count++;
  }
}

/**
 * `want` source addresses from the IPv4 block `a.b.c.d/len`, starting at the `offset`-th
 * usable one (last octet 0 and 255 skipped). A block smaller than `want` is cycled: several
 * sockets then share an address with distinct kernel-chosen ports (≈28 000 per address).
 */
export function addressesOf(cidr: string, want: number, offset = 0): string[] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new RangeError(`not an IPv4 CIDR block: ${cidr}`);
  const octets = [m[1], m[2], m[3], m[4]].map(Number);
  const len = Number(m[5]);
  if (octets.some((o) => o > 255) || len > 32) throw new RangeError(`not an IPv4 CIDR block: ${cidr}`);
  const base = ((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!;
  const size = 2 ** (32 - len);
  const start = Math.floor(base / size) * size;
  const usable: string[] = [];
  for (let i = 0; i < size && usable.length < want + offset; i++) {
    const a = start + i;
    const last = a & 0xff;
    if (size > 2 && (last === 0 || last === 255)) continue;
    usable.push(`${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${last}`);
  }
  if (usable.length === 0) throw new RangeError(`${cidr} has no usable address`);
  const out: string[] = new Array(want);
  for (let i = 0; i < want; i++) out[i] = usable[(offset + i) % usable.length]!;
  return out;
}

/** Default block of process p: 127.(10+p).0.0/16, so processes never share an address. */
export function defaultSourceBlock(processIndex: number): string {
  return `127.${10 + (processIndex % 240)}.0.0/16`;
}

/** What the engine needs from the network: slots that send datagrams and report received ones. */
export interface Transport {
  readonly size: number;
  send(slot: number, bytes: Uint8Array, port: number, host: string): void;
  /** Local address of a slot (for logs and tests). */
  address(slot: number): { address: string; port: number };
  close(): Promise<void>;
}

export type DatagramHandler = (slot: number, datagram: Buffer) => void;

/**
 * `size` UDP sockets, each bound to its own source address of `cidr` (port chosen by the
 * kernel). Not connected: after bootstrap a UE talks to the server it was given.
 */
export async function openUdpTransport(opts: {
  size: number;
  cidr: string;
  /** First address of the block to use (workers sharing a --source-ips block take disjoint parts). */
  offset?: number;
  onDatagram: DatagramHandler;
  onError?: (e: Error) => void;
}): Promise<Transport> {
  const addrs = addressesOf(opts.cidr, opts.size, opts.offset ?? 0);
  const sockets: dgram.Socket[] = new Array(opts.size);
  const bindOne = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      // Small kernel buffers: thousands of sockets each with the default would pin memory.
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 16 * 1024, sendBufferSize: 16 * 1024 });
      s.once('error', reject);
      s.bind({ address: addrs[i]!, port: 0, exclusive: true }, () => {
        s.off('error', reject);
        s.on('error', (e) => opts.onError?.(e));
        s.on('message', (buf) => opts.onDatagram(i, buf));
        sockets[i] = s;
        resolve();
      });
    });
  // Bind in batches: all at once would queue thousands of libuv requests for nothing.
  const batch = 512;
  for (let i = 0; i < opts.size; i += batch) {
    const jobs: Promise<void>[] = [];
    for (let k = i; k < Math.min(opts.size, i + batch); k++) jobs.push(bindOne(k));
    await Promise.all(jobs);
  }
  return {
    size: opts.size,
    send: (slot, bytes, port, host) => sockets[slot]!.send(bytes, port, host),
    address: (slot) => sockets[slot]!.address(),
    close: async () => {
      await Promise.all(sockets.map((s) => new Promise<void>((r) => (s ? s.close(() => r()) : r()))));
    },
  };
}
