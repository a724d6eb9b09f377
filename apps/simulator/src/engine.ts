/**
 * The simulator's engine: every UE of one process as rows of typed arrays, one timer wheel,
 * one socket pool, and the CoAP message layer (CON retransmission, piggybacked answers,
 * de-duplication, Observe). The LwM2M objects and identities come from the device model
 * (src/device/types.ts); this file only moves bytes and runs the registration lifecycle.
 *
 *   IDLE ─start→ BOOTSTRAPPING ─finish→ REGISTERING ─2.01→ REGISTERED ─DELETE→ DEREGISTERED
 *                         (optional)          ↑  update 4.04 / failure  │
 *                                             └─────────────────────────┘
 *
 * A UE has at most one uplink CON exchange in flight (NSTART = 1): the operations it wants
 * to send are bits in `want`, and `pump()` sends the most urgent one when the UE holds a
 * socket and nothing is in flight. Allocation happens per exchange (one small object in a
 * Map while in flight) and per observation, never per idle UE.
 */
import {
  CoapCode,
  type CoapMessage,
  CoapType,
  ContentFormat,
  encode,
  formatCode,
  OptionNumber,
  tryDecode,
  uintOption,
  uriPathOptions,
  uriQueryOptions,
  type CoapOption,
} from '@dmp/coap';
import { parseTlv, serializeSenmlCbor, type SenmlRecord, parseSenmlCbor } from '@dmp/lwm2m';
import type { DeviceModel, DeviceRequest, DeviceResponse, IdentityFactory } from './device/types';
import { type Clock, realClock, TimerWheel } from './scheduler';
import { SlotFreeList, type Transport } from './socket-pool';
import { type RequestKind, Stats } from './stats';

export const UeState = { IDLE: 0, BOOTSTRAPPING: 1, REGISTERING: 2, REGISTERED: 3, DEREGISTERED: 4 } as const;

/** Timer kinds; timer id = ue * KINDS + kind. */
const T_LIFE = 0; // update due / register retry / bootstrap deadline
const T_RETX = 1; // uplink exchange timeout
const T_NOTIFY = 2; // next notification of any observation
const T_NRETX = 3; // CON notification timeout
const T_SLEEP = 4; // end of the awake window (UQ)
const T_SEND = 5; // next LwM2M Send
const T_PUMP = 6; // retry sending when no socket was free
const KINDS = 7;

/** Operations a UE wants to send (bits), in priority order of `pump()`. */
const W_DEREGISTER = 1;
const W_BOOTSTRAP = 2;
const W_REGISTER = 4;
const W_UPDATE = 8;
const W_SEND = 16;

const OP_BOOTSTRAP = 1;
const OP_REGISTER = 2;
const OP_UPDATE = 3;
const OP_DEREGISTER = 4;
const OP_SEND = 5;

/** Per-UE flags. */
const F_SETTLED = 1; // first registration attempt finished (ok or failed)
const F_STORM = 2; // the register in progress belongs to the storm
const F_DEREG_COUNTED = 4; // counted in the pending de-registrations
const F_EVER_REGISTERED = 8;
const F_WAITING_SOCKET = 16; // counted once in poolExhausted until it gets a socket

export interface ServerAddress {
  host: string;
  port: number;
}

export interface EngineOptions {
  ues: number;
  firstIndex: number;
  lifetimeS: number;
  jitter: number;
  binding: 'U' | 'UQ';
  awakeMs: number;
  notify: 'con' | 'non';
  sendIntervalS: number;
  target: ServerAddress;
  bootstrap?: ServerAddress;
  ackTimeoutMs: number;
  ackRandomFactor: number;
  maxRetransmit: number;
  /** Wait before re-registering after a failure (ms, randomised ×1..2). */
  retryBackoffMs?: number;
  /** Wait for Bootstrap-Finish after the bootstrap request was answered (ms). */
  bootstrapDeadlineMs?: number;
}

export interface EngineDeps {
  identity: IdentityFactory;
  model: DeviceModel;
  clock?: Clock;
  random?: () => number;
  stats?: Stats;
}

interface Exchange {
  ue: number;
  op: number;
  token: number;
  mid: number;
  slot: number;
  bytes: Buffer;
  sentAt: number;
  timeout: number;
  /** When the current timeout expires (next one counts from here, so timer lateness does not add up). */
  dueAt: number;
  retx: number;
  acked: boolean;
  storm: boolean;
}

interface Observation {
  token: Buffer;
  path: string;
  contentFormat: number;
  seq: number;
  last: number;
  /** MID of the last notification (an RST with it cancels the observation, RFC 7641 §3.6). */
  lastMid: number;
}

interface NotifyExchange {
  ue: number;
  slot: number;
  mid: number;
  bytes: Buffer;
  timeout: number;
  retx: number;
}

interface DedupEntry {
  bytes: Buffer;
  at: number;
}

const DEDUP_MAX = 8192;
/** Notifications remembered (by slot and MID) so a Reset from the server can be counted as a rejection. */
const RECENT_NOTIFY_MAX = 32768;
const DEDUP_TTL_MS = 60_000;


export class Engine {
  readonly stats: Stats;
  readonly n: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly wheel: TimerWheel;
  private readonly state: Uint8Array;
  private readonly want: Uint8Array;
  private readonly flags: Uint8Array;
  private readonly server: Uint8Array;
  private readonly slotOf: Int32Array;
  private readonly pending: Uint32Array;
  private readonly locations: (string | undefined)[];
  private readonly servers: ServerAddress[];
  private readonly exchanges = new Map<number, Exchange>();
  private readonly observations = new Map<number, Observation[]>();
  private readonly notifyExchanges = new Map<number, NotifyExchange>();
  private readonly bootstrapping = new Map<number, { startedAt: number; uri?: string }>();
  private readonly dedup = new Map<number, DedupEntry>();
  private readonly dedupKeys: number[] = [];
  private readonly recentNotify = new Set<number>();
  private readonly recentNotifyRing = new Float64Array(RECENT_NOTIFY_MAX).fill(-1);
  private recentNotifyPos = 0;
  private free!: SlotFreeList;
  private slotOwner!: Int32Array;
  private slotMid!: Uint16Array;
  private transport: Transport | undefined;
  private nextToken = 1;
  private interval: NodeJS.Timeout | undefined;

  // ramp / phase bookkeeping
  private started = 0;
  private rampRate = 0;
  private rampStartAt = 0;
  private rampStartedAtBegin = 0;
  private settled = 0;
  private registeredNow = 0;
  private stormPending = 0;
  private deregCursor = -1;
  private deregRate = 0;
  private deregStartAt = 0;
  private deregPending = 0;
  /** De-registers sent since deregisterAll (the rate limit counts messages, not UEs walked). */
  private deregSent = 0;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(
    readonly opts: EngineOptions,
    private readonly deps: EngineDeps,
  ) {
    this.n = opts.ues;
    this.stats = deps.stats ?? new Stats();
    this.clock = deps.clock ?? realClock;
    this.random = deps.random ?? Math.random;
    this.wheel = new TimerWheel({ capacity: this.n * KINDS, tickMs: 10, buckets: 8192 });
    this.state = new Uint8Array(this.n);
    this.want = new Uint8Array(this.n);
    this.flags = new Uint8Array(this.n);
    this.server = new Uint8Array(this.n);
    this.slotOf = new Int32Array(this.n).fill(-1);
    this.pending = new Uint32Array(this.n);
    this.locations = new Array<string | undefined>(this.n);
    this.servers = [opts.target];
    if (opts.bootstrap) this.servers.push(opts.bootstrap);
  }

  /** Attaches the socket pool; `poolSize` slots, numbered 0..poolSize-1. */
  attach(transport: Transport): void {
    this.transport = transport;
    this.free = new SlotFreeList(transport.size);
    this.slotOwner = new Int32Array(transport.size).fill(-1);
    this.slotMid = new Uint16Array(transport.size);
    for (let i = 0; i < transport.size; i++) this.slotMid[i] = Math.floor(this.random() * 0x10000);
  }

  /** Runs the wheel every `tickMs` on the real clock (tests call {@link tick} themselves). */
  startTicking(tickMs = 10): void {
    if (this.interval) return;
    this.interval = setInterval(() => this.tick(), tickMs);
  }

  stopTicking(): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = undefined;
  }

  // ------------------------------------------------------------------ public view

  get registered(): number {
    return this.registeredNow;
  }
  get startedCount(): number {
    return this.started;
  }
  get inFlight(): number {
    return this.exchanges.size;
  }
  get observationCount(): number {
    let n = 0;
    for (const l of this.observations.values()) n += l.length;
    return n;
  }
  get freeSlots(): number {
    return this.free.free;
  }
  stateOf(ue: number): number {
    return this.state[ue]!;
  }
  locationOf(ue: number): string | undefined {
    return this.locations[ue];
  }
  slotOfUe(ue: number): number {
    return this.slotOf[ue]!;
  }

  // ------------------------------------------------------------------ phases

  /** Starts UEs [started, n) at `rate` per second; resolves when each has settled its first registration. */
  ramp(rate: number): Promise<void> {
    this.rampRate = rate;
    this.rampStartAt = this.clock.now();
    this.rampStartedAtBegin = this.started;
    return this.until(() => this.settled >= this.n);
  }

  /** Every registered UE re-registers at once; resolves when all those registers finished. */
  storm(): Promise<void> {
    for (let ue = 0; ue < this.n; ue++) {
      if (this.state[ue] !== UeState.REGISTERED) continue;
      this.flags[ue]! |= F_STORM;
      this.stormPending++;
      this.want[ue]! |= W_REGISTER;
      this.want[ue]! &= ~W_UPDATE;
      this.pump(ue);
    }
    return this.until(() => this.stormPending <= 0);
  }

  /** De-registers every registered UE at `rate` per second (0 = all at once). */
  deregisterAll(rate: number): Promise<void> {
    this.rampRate = 0;
    this.deregCursor = 0;
    this.deregSent = 0;
    this.deregRate = rate;
    this.deregStartAt = this.clock.now();
    this.advanceDeregistration(this.deregStartAt);
    return this.until(() => this.deregCursor >= this.n && this.deregPending <= 0);
  }

  private until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }

  private checkWaiters(): void {
    if (this.waiters.length === 0) return;
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.check()) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  /** One step of the clock: ramps, then due timers. */
  tick(): void {
    const now = this.clock.now();
    if (this.rampRate > 0 && this.started < this.n) {
      const allowed = this.rampStartedAtBegin + Math.floor(((now - this.rampStartAt) / 1000) * this.rampRate) + 1;
      while (this.started < this.n && this.started < allowed) this.startUe(this.started++);
    }
    if (this.deregCursor >= 0 && this.deregCursor < this.n) this.advanceDeregistration(now);
    this.wheel.advance(now, (id) => this.onTimer(id));
    this.checkWaiters();
  }

  private advanceDeregistration(now: number): void {
    // UEs that never registered are retired at once; only DELETEs are paced by the rate
    const allowed = this.deregRate > 0 ? Math.floor(((now - this.deregStartAt) / 1000) * this.deregRate) + 1 : Infinity;
    while (this.deregCursor < this.n) {
      const ue = this.deregCursor;
      const needsDelete = this.state[ue] === UeState.REGISTERED || this.locations[ue] !== undefined || this.pending[ue] !== 0;
      if (needsDelete && this.deregSent >= allowed) break;
      this.deregCursor++;
      this.wheel.cancel(ue * KINDS + T_LIFE);
      this.wheel.cancel(ue * KINDS + T_SEND);
      this.want[ue] = 0;
      if (needsDelete) {
        this.flags[ue]! |= F_DEREG_COUNTED;
        this.deregPending++;
        this.want[ue] = W_DEREGISTER;
        this.pump(ue);
        this.deregSent++;
      } else {
        this.retire(ue);
      }
    }
  }

  private stopNotifying(ue: number): void {
    this.wheel.cancel(ue * KINDS + T_NOTIFY);
    this.wheel.cancel(ue * KINDS + T_NRETX);
    this.observations.delete(ue);
    this.notifyExchanges.delete(ue);
  }

  /** Releases everything of a UE that is done. */
  private retire(ue: number): void {
    this.state[ue] = UeState.DEREGISTERED;
    this.want[ue] = 0;
    for (let k = 0; k < KINDS; k++) if (k !== T_RETX) this.wheel.cancel(ue * KINDS + k);
    this.observations.delete(ue);
    this.notifyExchanges.delete(ue);
    if (this.pending[ue] === 0) this.releaseSlot(ue);
  }

  async close(): Promise<void> {
    this.stopTicking();
    await this.transport?.close();
  }

  // ------------------------------------------------------------------ lifecycle

  private startUe(ue: number): void {
    if (this.state[ue] !== UeState.IDLE) return;
    if (this.opts.bootstrap) {
      this.state[ue] = UeState.BOOTSTRAPPING;
      this.server[ue] = 1;
      this.want[ue]! |= W_BOOTSTRAP;
    } else {
      this.state[ue] = UeState.REGISTERING;
      this.want[ue]! |= W_REGISTER;
    }
    this.pump(ue);
  }

  private global(ue: number): number {
    return this.opts.firstIndex + ue;
  }

  private onTimer(id: number): void {
    const ue = Math.floor(id / KINDS);
    switch (id - ue * KINDS) {
      case T_LIFE:
        return this.onLifeTimer(ue);
      case T_RETX:
        return this.onRetransmitTimer(ue);
      case T_NOTIFY:
        return this.onNotifyTimer(ue);
      case T_NRETX:
        return this.onNotifyRetransmitTimer(ue);
      case T_SLEEP:
        return this.onSleepTimer(ue);
      case T_SEND:
        if (this.state[ue] === UeState.REGISTERED) this.want[ue]! |= W_SEND;
        return this.pump(ue);
      case T_PUMP:
        return this.pump(ue);
    }
  }

  private onLifeTimer(ue: number): void {
    const st = this.state[ue];
    if (st === UeState.REGISTERED) this.want[ue]! |= W_UPDATE;
    else if (st === UeState.REGISTERING) this.want[ue]! |= W_REGISTER;
    else if (st === UeState.BOOTSTRAPPING) {
      if (this.bootstrapping.has(ue) && this.pending[ue] === 0) {
        // Bootstrap-Finish never came.
        this.bootstrapping.delete(ue);
        this.stats.counts.bootstrapFailed++;
        this.settleFirst(ue);
      }
      this.want[ue]! |= W_BOOTSTRAP;
    }
    this.pump(ue);
  }

  /** Lifetime in force for UE `g` (the model's /1/0/1 when it exposes it). */
  private lifetimeOf(g: number): number {
    const m = this.deps.model as DeviceModel & { lifetime?: (index: number) => number };
    const lt = typeof m.lifetime === 'function' ? m.lifetime(g) : this.opts.lifetimeS;
    return Number.isFinite(lt) && lt > 0 ? lt : this.opts.lifetimeS;
  }

  private scheduleUpdate(ue: number, now: number): void {
    const half = (this.lifetimeOf(this.global(ue)) * 1000) / 2;
    const j = this.opts.jitter;
    this.wheel.set(ue * KINDS + T_LIFE, now + half * (1 + j * (2 * this.random() - 1)));
  }

  private scheduleRetry(ue: number, now: number): void {
    const b = this.opts.retryBackoffMs ?? 5000;
    this.wheel.set(ue * KINDS + T_LIFE, now + b * (1 + this.random()));
  }

  private settleFirst(ue: number): void {
    if ((this.flags[ue]! & F_SETTLED) === 0) {
      this.flags[ue]! |= F_SETTLED;
      this.settled++;
    }
  }

  // ------------------------------------------------------------------ sockets

  /** Gives the UE a socket if it has none; false when the pool is exhausted. */
  private wake(ue: number): boolean {
    if (this.slotOf[ue]! >= 0) return true;
    const slot = this.free.take();
    if (slot < 0) {
      if ((this.flags[ue]! & F_WAITING_SOCKET) === 0) {
        this.flags[ue]! |= F_WAITING_SOCKET;
        this.stats.counts.poolExhausted++;
      }
      return false;
    }
    this.flags[ue]! &= ~F_WAITING_SOCKET;
    this.slotOwner[slot] = ue;
    this.slotOf[ue] = slot;
    return true;
  }

  private releaseSlot(ue: number): void {
    const slot = this.slotOf[ue]!;
    if (slot < 0) return;
    this.slotOwner[slot] = -1;
    this.slotOf[ue] = -1;
    this.free.give(slot);
  }

  /** Queue mode: stay awake `awakeMs` after the last activity, then give the socket back. */
  private touchAwake(ue: number, now: number): void {
    if (this.opts.binding === 'UQ') this.wheel.set(ue * KINDS + T_SLEEP, now + this.opts.awakeMs);
  }

  private onSleepTimer(ue: number): void {
    if (this.pending[ue] !== 0 || this.want[ue] !== 0 || this.notifyExchanges.has(ue)) {
      this.touchAwake(ue, this.clock.now());
      return;
    }
    this.releaseSlot(ue);
  }

  private nextMid(slot: number): number {
    const m = this.slotMid[slot]!;
    this.slotMid[slot] = (m + 1) & 0xffff;
    return m;
  }

  private sendRaw(ue: number, bytes: Uint8Array): void {
    const s = this.servers[this.server[ue]!]!;
    this.transport!.send(this.slotOf[ue]!, bytes, s.port, s.host);
  }

  // ------------------------------------------------------------------ uplink

  /** Sends the most urgent wanted operation if the UE is free to. */
  private pump(ue: number): void {
    const w = this.want[ue]!;
    if (w === 0 || this.pending[ue] !== 0) return;
    const now = this.clock.now();
    if (w & W_DEREGISTER && this.locations[ue] === undefined) return this.deregisteredLocally(ue);
    if (!this.wake(ue)) {
      // No socket free: try again shortly (spread, so a burst does not retry in lockstep).
      this.wheel.set(ue * KINDS + T_PUMP, now + 50 + this.random() * 200);
      return;
    }
    if (w & W_DEREGISTER) {
      if (this.locations[ue] === undefined) return this.deregisteredLocally(ue);
      // a client ends its observations with its registration: no notification follows the
      // De-register (the platform would answer it with Reset, LwM2M: observations end with it)
      this.stopNotifying(ue);
      return this.sendOp(ue, OP_DEREGISTER, W_DEREGISTER, now);
    }
    if (w & W_BOOTSTRAP) return this.sendOp(ue, OP_BOOTSTRAP, W_BOOTSTRAP, now);
    if (w & W_REGISTER) return this.sendOp(ue, OP_REGISTER, W_REGISTER, now);
    if (w & W_UPDATE) return this.sendOp(ue, OP_UPDATE, W_UPDATE, now);
    if (w & W_SEND) return this.sendOp(ue, OP_SEND, W_SEND, now);
  }

  private sendOp(ue: number, op: number, bit: number, now: number): void {
    this.want[ue]! &= ~bit;
    const g = this.global(ue);
    let code: number = CoapCode.POST;
    let options: CoapOption[];
    let payload: Uint8Array | undefined;
    switch (op) {
      case OP_BOOTSTRAP:
        options = [...uriPathOptions(['bs']), ...uriQueryOptions([`ep=${this.deps.identity(g).epn}`])];
        break;
      case OP_REGISTER:
        // A re-registration (storm, reboot) keeps a registered UE registered until it fails.
        if (this.state[ue] !== UeState.REGISTERED) this.state[ue] = UeState.REGISTERING;
        options = [
          ...uriPathOptions(['rd']),
          uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.LINK_FORMAT),
          ...uriQueryOptions([`ep=${this.deps.identity(g).epn}`, `lt=${this.opts.lifetimeS}`, 'lwm2m=1.1', `b=${this.opts.binding}`]),
        ];
        payload = Buffer.from(this.deps.model.registerLinks(g), 'utf8');
        break;
      case OP_UPDATE: {
        options = uriPathOptions(this.locations[ue] ?? 'rd');
        // A server Write to /1/0/1 changed the lifetime: the Update carries it (LwM2M §5.3.2).
        const lt = this.lifetimeOf(g);
        if (lt !== this.opts.lifetimeS) options.push(...uriQueryOptions([`lt=${lt}`]));
        break;
      }
      case OP_DEREGISTER:
        code = CoapCode.DELETE;
        options = uriPathOptions(this.locations[ue] ?? 'rd');
        break;
      default:
        options = [...uriPathOptions(['dp']), uintOption(OptionNumber.CONTENT_FORMAT, ContentFormat.SENML_CBOR)];
        payload = this.sendPayload(g, now);
        if (!payload) return;
        this.stats.counts.sendsSent++;
    }
    const slot = this.slotOf[ue]!;
    const mid = this.nextMid(slot);
    const token = this.nextToken;
    this.nextToken = this.nextToken >= 0xffffffff ? 1 : this.nextToken + 1;
    const tb = Buffer.allocUnsafe(4);
    tb.writeUInt32BE(token);
    const bytes = encode({ type: CoapType.CON, code, mid, token: tb, options, payload });
    const timeout = this.opts.ackTimeoutMs * (1 + this.random() * (this.opts.ackRandomFactor - 1));
    const ex: Exchange = { ue, op, token, mid, slot, bytes, sentAt: now, timeout, dueAt: now + timeout, retx: 0, acked: false, storm: (this.flags[ue]! & F_STORM) !== 0 };
    this.exchanges.set(token, ex);
    this.pending[ue] = token;
    this.wheel.set(ue * KINDS + T_RETX, ex.dueAt);
    this.stats.windowRequests++;
    this.sendRaw(ue, bytes);
  }

  /** SenML CBOR of a few /3/0 and /4/0 values for LwM2M Send, from the model. */
  private sendPayload(g: number, now: number): Uint8Array | undefined {
    const records: SenmlRecord[] = [];
    for (const p of ['/3/0/9', '/3/0/13', '/4/0/2']) {
      const v = this.deps.model.observeValue(g, p, ContentFormat.SENML_CBOR, now);
      if (!v || v.contentFormat !== ContentFormat.SENML_CBOR) continue;
      try {
        records.push(...parseSenmlCbor(v.payload));
      } catch {
        this.stats.counts.errors++;
      }
    }
    return records.length > 0 ? serializeSenmlCbor(records) : undefined;
  }

  private onRetransmitTimer(ue: number): void {
    const ex = this.exchanges.get(this.pending[ue]!);
    if (!ex) return;
    const now = this.clock.now();
    if (!ex.acked && ex.retx < this.opts.maxRetransmit && this.slotOf[ue] === ex.slot) {
      ex.retx++;
      ex.timeout *= 2;
      ex.dueAt += ex.timeout;
      this.stats.counts.retransmissions++;
      this.wheel.set(ue * KINDS + T_RETX, ex.dueAt);
      this.sendRaw(ue, ex.bytes);
      return;
    }
    this.stats.counts.timeouts++;
    this.finish(ex, undefined, now);
  }

  /** Ends an uplink exchange with a response (or undefined on timeout/RST). */
  private finish(ex: Exchange, res: CoapMessage | undefined, now: number): void {
    const ue = ex.ue;
    this.exchanges.delete(ex.token);
    this.pending[ue] = 0;
    this.wheel.cancel(ue * KINDS + T_RETX);
    const code = res?.code ?? 0;
    if (res) this.stats.response(formatCode(code));
    const latency = now - ex.sentAt;
    const c = this.stats.counts;
    switch (ex.op) {
      case OP_BOOTSTRAP:
        if (code === CoapCode.CHANGED) {
          this.bootstrapping.set(ue, { startedAt: ex.sentAt });
          this.wheel.set(ue * KINDS + T_LIFE, now + (this.opts.bootstrapDeadlineMs ?? 60_000));
        } else {
          c.bootstrapFailed++;
          this.settleFirst(ue);
          this.want[ue]! &= ~W_BOOTSTRAP;
          this.scheduleRetry(ue, now);
        }
        break;
      case OP_REGISTER:
        if (ex.storm) {
          this.flags[ue]! &= ~F_STORM;
          this.stormPending--;
          if (res) this.stats.record('storm', latency);
        }
        if (code === CoapCode.CREATED) {
          c.registerOk++;
          if (!ex.storm) this.stats.record('register', latency);
          this.locations[ue] = res!.locationPath.join('/');
          if (this.state[ue] !== UeState.REGISTERED) this.registeredNow++;
          this.state[ue] = UeState.REGISTERED;
          this.flags[ue]! |= F_EVER_REGISTERED;
          this.scheduleUpdate(ue, now);
          if (this.opts.sendIntervalS > 0) this.wheel.set(ue * KINDS + T_SEND, now + this.opts.sendIntervalS * 1000 * (0.5 + this.random()));
        } else {
          c.registerFailed++;
          this.markUnregistered(ue);
          this.scheduleRetry(ue, now);
        }
        this.settleFirst(ue);
        break;
      case OP_UPDATE:
        if (code === CoapCode.CHANGED) {
          c.updateOk++;
          this.stats.record('update', latency);
          this.scheduleUpdate(ue, now);
        } else {
          c.updateFailed++;
          this.markUnregistered(ue);
          // 4.04: the server forgot us: register now; anything else: after a back-off.
          if (code === CoapCode.NOT_FOUND) this.want[ue]! |= W_REGISTER;
          else this.scheduleRetry(ue, now);
        }
        break;
      case OP_DEREGISTER:
        if (code === CoapCode.DELETED) {
          c.deregisterOk++;
          this.stats.record('deregister', latency);
        } else c.deregisterFailed++;
        if (this.state[ue] === UeState.REGISTERED) this.registeredNow--;
        this.locations[ue] = undefined;
        if (this.flags[ue]! & F_DEREG_COUNTED) {
          this.flags[ue]! &= ~F_DEREG_COUNTED;
          this.deregPending--;
        }
        this.retire(ue);
        this.releaseSlot(ue);
        return;
      case OP_SEND:
        // periodic: the next Send one interval after this one ended (answered or not)
        if (this.state[ue] === UeState.REGISTERED) this.wheel.set(ue * KINDS + T_SEND, now + this.opts.sendIntervalS * 1000);
        break;
      default:
        break;
    }
    if (this.state[ue] === UeState.DEREGISTERED && this.want[ue] === 0) {
      this.releaseSlot(ue);
      return;
    }
    this.touchAwake(ue, now);
    this.pump(ue);
  }

  /** A UE asked to de-register that is not registered (its register failed or never ran). */
  private deregisteredLocally(ue: number): void {
    if (this.flags[ue]! & F_DEREG_COUNTED) {
      this.flags[ue]! &= ~F_DEREG_COUNTED;
      this.deregPending--;
    }
    if (this.state[ue] === UeState.REGISTERED) this.registeredNow--;
    this.retire(ue);
  }

  /** Stops starting new UEs (a stop request during ramp-up). */
  stopRamp(): void {
    this.rampRate = 0;
  }

  private markUnregistered(ue: number): void {
    if (this.state[ue] === UeState.REGISTERED) this.registeredNow--;
    if (this.state[ue] !== UeState.DEREGISTERED) this.state[ue] = UeState.REGISTERING;
    this.wheel.cancel(ue * KINDS + T_SEND);
  }

  // ------------------------------------------------------------------ downlink

  /** Entry point of every datagram received on pool slot `slot`. Never throws. */
  onDatagram(slot: number, buf: Buffer): void {
    try {
      this.receive(slot, buf);
    } catch {
      this.stats.counts.errors++;
    }
  }

  private receive(slot: number, buf: Buffer): void {
    const r = tryDecode(buf);
    if (!r.ok) {
      this.stats.counts.errors++;
      return;
    }
    const m = r.message;
    const ue = this.slotOwner[slot]!;
    if (ue < 0) {
      // Nobody is awake on this address: a sleeping radio hears nothing.
      if (m.isRequest) this.stats.counts.droppedWhileAsleep++;
      return;
    }
    const now = this.clock.now();
    if (m.type === CoapType.ACK || m.type === CoapType.RST) {
      this.onAckOrRst(ue, m, now);
      return;
    }
    if (m.isResponse) {
      // Separate response (CON or NON).
      if (m.type === CoapType.CON) this.transport!.send(slot, encode({ type: CoapType.ACK, code: 0, mid: m.mid }), ...this.peerArgs(ue));
      const ex = this.exchangeByToken(m.token);
      if (ex && ex.ue === ue) this.finish(ex, m, now);
      return;
    }
    if (m.isRequest) this.onServerRequest(ue, slot, m, now);
  }

  private peerArgs(ue: number): [number, string] {
    const s = this.servers[this.server[ue]!]!;
    return [s.port, s.host];
  }

  private exchangeByToken(token: Uint8Array): Exchange | undefined {
    if (token.length !== 4) return undefined;
    return this.exchanges.get(((token[0]! << 24) >>> 0) + (token[1]! << 16) + (token[2]! << 8) + token[3]!);
  }

  private onAckOrRst(ue: number, m: CoapMessage, now: number): void {
    const ex = this.exchanges.get(this.pending[ue]!);
    if (ex && ex.mid === m.mid) {
      if (m.type === CoapType.RST) {
        this.finish(ex, undefined, now);
        return;
      }
      if (m.code === 0) {
        // Empty ACK: the response will come separately; stop retransmitting, wait longer.
        ex.acked = true;
        this.wheel.set(ue * KINDS + T_RETX, now + Math.max(30_000, ex.timeout * 4));
        return;
      }
      this.finish(ex, m, now);
      return;
    }
    const nx = this.notifyExchanges.get(ue);
    if (nx && nx.mid === m.mid) {
      this.notifyExchanges.delete(ue);
      this.wheel.cancel(ue * KINDS + T_NRETX);
    }
    if (m.type === CoapType.RST) {
      const key = this.slotOf[ue]! * 0x10000 + m.mid;
      if (this.recentNotify.delete(key)) this.stats.counts.notificationsRejected++;
      this.cancelObservationByMid(ue, m.mid);
    }
  }

  private rememberNotification(slot: number, mid: number): void {
    const key = slot * 0x10000 + mid;
    const old = this.recentNotifyRing[this.recentNotifyPos]!;
    if (old >= 0) this.recentNotify.delete(old);
    this.recentNotifyRing[this.recentNotifyPos] = key;
    this.recentNotifyPos = (this.recentNotifyPos + 1) % RECENT_NOTIFY_MAX;
    this.recentNotify.add(key);
  }

  private classify(req: DeviceRequest): RequestKind {
    const depth = req.path === '/' ? 0 : req.path.split('/').length - 1;
    switch (req.method) {
      case 1:
        if (req.observe === 0) return 'observe';
        if (req.observe === 1) return 'cancel-observe';
        return req.accept === ContentFormat.LINK_FORMAT ? 'discover' : 'read';
      case 2:
        if (depth === 1) return 'create';
        return depth >= 3 ? 'execute' : 'write';
      case 3:
        return req.payload.length === 0 && req.query.length > 0 ? 'write-attributes' : 'write';
      default:
        return 'delete';
    }
  }

  private onServerRequest(ue: number, slot: number, m: CoapMessage, now: number): void {
    const key = slot * 0x10000 + m.mid;
    const seen = this.dedup.get(key);
    if (seen && now - seen.at < DEDUP_TTL_MS) {
      this.stats.counts.duplicateRequests++;
      if (m.type === CoapType.CON) this.transport!.send(slot, seen.bytes, ...this.peerArgs(ue));
      return;
    }
    const req: DeviceRequest = {
      method: m.code as 1 | 2 | 3 | 4,
      path: m.uriPathString,
      query: m.uriQuery,
      accept: m.accept,
      contentFormat: m.contentFormat,
      payload: m.payload,
      observe: m.code === CoapCode.GET ? m.observe : undefined,
    };
    const g = this.global(ue);
    this.stats.windowRequests++;
    let res: DeviceResponse;
    if (this.state[ue] === UeState.BOOTSTRAPPING) res = this.onBootstrapRequest(ue, req);
    else {
      this.stats.counts.requestsReceived[this.classify(req)]++;
      res = this.deps.model.handle(g, req, now);
    }
    const options: CoapOption[] = [];
    let obs: Observation | undefined;
    if (res.observe === 'start' && res.code >>> 5 === 2) {
      obs = this.addObservation(ue, m.token, req.path, res.contentFormat ?? ContentFormat.LWM2M_TLV, now);
      options.push(uintOption(OptionNumber.OBSERVE, obs.seq));
    } else if (res.observe === 'cancel') this.cancelObservationByPath(ue, req.path);
    if (res.contentFormat !== undefined) options.push(uintOption(OptionNumber.CONTENT_FORMAT, res.contentFormat));
    const con = m.type === CoapType.CON;
    const bytes = encode({
      type: con ? CoapType.ACK : CoapType.NON,
      code: res.code,
      mid: con ? m.mid : this.nextMid(slot),
      token: m.token,
      options,
      payload: res.payload && res.payload.length > 0 ? res.payload : undefined,
    });
    this.remember(key, bytes, now);
    this.transport!.send(slot, bytes, ...this.peerArgs(ue));
    this.touchAwake(ue, now);
    if (obs) this.scheduleNotify(ue, now);
    if (res.effect) this.applyEffect(ue, res.effect, now);
    if (this.state[ue] === UeState.BOOTSTRAPPING && req.method === 2 && req.path === '/bs') this.onBootstrapFinished(ue, now);
  }

  private remember(key: number, bytes: Buffer, now: number): void {
    if (!this.dedup.has(key)) this.dedupKeys.push(key);
    this.dedup.set(key, { bytes, at: now });
    if (this.dedupKeys.length > DEDUP_MAX) this.dedup.delete(this.dedupKeys.shift()!);
  }

  private applyEffect(ue: number, effect: NonNullable<DeviceResponse['effect']>, _now: number): void {
    if (this.state[ue] === UeState.DEREGISTERED) return;
    if (effect === 'registration-update') {
      if (this.state[ue] === UeState.REGISTERED) this.want[ue]! |= W_UPDATE;
    } else {
      // Reboot / factory reset: observations are gone, the UE registers again.
      if (effect === 'factory-reset') this.deps.model.reset(this.global(ue));
      this.observations.delete(ue);
      this.wheel.cancel(ue * KINDS + T_NOTIFY);
      this.markUnregistered(ue);
      this.want[ue]! |= W_REGISTER;
    }
    this.pump(ue);
  }

  // ------------------------------------------------------------------ bootstrap

  /** Bootstrap-Delete / -Write / -Finish while bootstrapping: kept by the engine (only the server URI matters). */
  private onBootstrapRequest(ue: number, req: DeviceRequest): DeviceResponse {
    const bs = this.bootstrapping.get(ue) ?? { startedAt: this.clock.now() };
    this.bootstrapping.set(ue, bs);
    if (req.method === 4) return { code: CoapCode.DELETED };
    if (req.method === 2 && req.path === '/bs') return { code: CoapCode.CHANGED };
    if (req.method === 3 && /^\/0(\/\d+)?$/.test(req.path)) {
      const uri = serverUriFromSecurityTlv(req.payload);
      if (uri) bs.uri = uri;
      return { code: CoapCode.CHANGED };
    }
    if (req.method === 3) return { code: CoapCode.CHANGED };
    return { code: CoapCode.METHOD_NOT_ALLOWED };
  }

  private onBootstrapFinished(ue: number, now: number): void {
    const bs = this.bootstrapping.get(ue);
    this.bootstrapping.delete(ue);
    const target = bs?.uri ? parseCoapUri(bs.uri) : undefined;
    if (target) {
      let i = this.servers.findIndex((s) => s.host === target.host && s.port === target.port);
      if (i < 0 && this.servers.length < 255) {
        this.servers.push(target);
        i = this.servers.length - 1;
      }
      this.server[ue] = i < 0 ? 0 : i;
    } else this.server[ue] = 0;
    this.stats.counts.bootstrapOk++;
    if (bs) this.stats.record('bootstrap', now - bs.startedAt);
    this.wheel.cancel(ue * KINDS + T_LIFE);
    this.state[ue] = UeState.REGISTERING;
    this.want[ue]! |= W_REGISTER;
    this.pump(ue);
  }

  // ------------------------------------------------------------------ observe

  private addObservation(ue: number, token: Uint8Array, path: string, contentFormat: number, now: number): Observation {
    let list = this.observations.get(ue);
    if (!list) {
      list = [];
      this.observations.set(ue, list);
    }
    const copy = Buffer.from(token);
    // Same token again (re-registration of the observation) replaces the old one.
    const i = list.findIndex((o) => o.token.equals(copy) || o.path === path);
    const o: Observation = { token: copy, path, contentFormat, seq: 1, last: now, lastMid: -1 };
    if (i >= 0) list[i] = o;
    else list.push(o);
    return o;
  }

  private cancelObservationByPath(ue: number, path: string): void {
    const list = this.observations.get(ue);
    if (!list) return;
    const rest = list.filter((o) => o.path !== path);
    if (rest.length === 0) this.observations.delete(ue);
    else this.observations.set(ue, rest);
  }

  private cancelObservationByMid(ue: number, mid: number): void {
    const list = this.observations.get(ue);
    if (!list) return;
    const rest = list.filter((o) => o.lastMid !== mid);
    if (rest.length === list.length) return;
    this.stats.counts.requestsReceived['cancel-observe']++;
    if (rest.length === 0) this.observations.delete(ue);
    else this.observations.set(ue, rest);
  }

  /** When an observation should notify next: max(pmin, change interval), at pmax at the latest. */
  private notifyDue(ue: number, o: Observation): number {
    const g = this.global(ue);
    const a = this.deps.model.attributes(g, o.path);
    const pmin = (a.pmin ?? 0) * 1000;
    const pmax = a.pmax !== undefined && a.pmax > 0 ? a.pmax * 1000 : Infinity;
    const change = this.deps.model.changeIntervalMs(g, o.path);
    const interval = Math.min(Math.max(pmin, change), pmax);
    return Number.isFinite(interval) ? o.last + Math.max(interval, 100) : Infinity;
  }

  private scheduleNotify(ue: number, _now: number): void {
    const list = this.observations.get(ue);
    let next = Infinity;
    if (list) for (const o of list) next = Math.min(next, this.notifyDue(ue, o));
    if (Number.isFinite(next)) this.wheel.set(ue * KINDS + T_NOTIFY, next);
    else this.wheel.cancel(ue * KINDS + T_NOTIFY);
  }

  private onNotifyTimer(ue: number): void {
    const list = this.observations.get(ue);
    if (!list || this.state[ue] === UeState.DEREGISTERED) return;
    const now = this.clock.now();
    if (!this.wake(ue)) {
      this.wheel.set(ue * KINDS + T_NOTIFY, now + 100 + this.random() * 200);
      return;
    }
    const g = this.global(ue);
    const con = this.opts.notify === 'con';
    for (const o of [...list]) {
      if (this.notifyDue(ue, o) > now) continue;
      // RFC 7641 §4.5.2: a newer CON notification replaces one still unacknowledged.
      if (con) this.notifyExchanges.delete(ue);
      const v = this.deps.model.observeValue(g, o.path, o.contentFormat, now);
      const slot = this.slotOf[ue]!;
      const mid = this.nextMid(slot);
      o.seq = (o.seq + 1) & 0xffffff;
      o.last = now;
      o.lastMid = mid;
      const options: CoapOption[] = [];
      let code: number = CoapCode.CONTENT;
      if (v) {
        options.push(uintOption(OptionNumber.OBSERVE, o.seq), uintOption(OptionNumber.CONTENT_FORMAT, v.contentFormat));
      } else {
        code = CoapCode.NOT_FOUND;
        this.cancelObservationByPath(ue, o.path);
      }
      const bytes = encode({ type: con ? CoapType.CON : CoapType.NON, code, mid, token: o.token, options, payload: v && v.payload.length > 0 ? v.payload : undefined });
      if (con) {
        const timeout = this.opts.ackTimeoutMs * (1 + this.random() * (this.opts.ackRandomFactor - 1));
        this.notifyExchanges.set(ue, { ue, slot, mid, bytes, timeout, retx: 0 });
        this.wheel.set(ue * KINDS + T_NRETX, now + timeout);
      }
      this.stats.counts.notificationsSent++;
      this.stats.windowRequests++;
      this.rememberNotification(slot, mid);
      this.sendRaw(ue, bytes);
    }
    this.touchAwake(ue, now);
    this.scheduleNotify(ue, now);
  }

  private onNotifyRetransmitTimer(ue: number): void {
    const nx = this.notifyExchanges.get(ue);
    if (!nx) return;
    if (nx.retx < this.opts.maxRetransmit && this.slotOf[ue] === nx.slot) {
      nx.retx++;
      nx.timeout *= 2;
      this.stats.counts.retransmissions++;
      this.wheel.set(ue * KINDS + T_NRETX, this.clock.now() + nx.timeout);
      this.sendRaw(ue, nx.bytes);
      return;
    }
    // The server never acknowledged: RFC 7641 §4.5 says the observation is over.
    this.stats.counts.timeouts++;
    this.notifyExchanges.delete(ue);
    this.cancelObservationByMidSilently(ue, nx.mid);
  }

  private cancelObservationByMidSilently(ue: number, mid: number): void {
    const list = this.observations.get(ue);
    if (!list) return;
    const rest = list.filter((o) => o.lastMid !== mid);
    if (rest.length === 0) this.observations.delete(ue);
    else this.observations.set(ue, rest);
  }

  /** Estimated bytes the engine holds per UE in its typed arrays (for the report). */
  static fixedBytesPerUe(): number {
    // state, want, flags, server (1 each), slotOf (4), pending (4), location pointer (8), wheel due (8 × KINDS)
    return 4 + 4 + 4 + 8 + 8 * KINDS;
  }
}

/** Server URI of the non-bootstrap Security instance in a Bootstrap-Write TLV (resource 0 where resource 1 is false). */
export function serverUriFromSecurityTlv(payload: Uint8Array): string | undefined {
  let entries;
  try {
    entries = parseTlv(payload);
  } catch {
    return undefined;
  }
  const instances = entries.some((e) => e.kind === 0) ? entries.filter((e) => e.kind === 0).map((e) => e.children ?? []) : [entries];
  for (const res of instances) {
    const uri = res.find((r) => r.id === 0)?.value;
    const isBs = res.find((r) => r.id === 1)?.value;
    if (!uri) continue;
    if (isBs && isBs.length > 0 && isBs[0] !== 0) continue;
    return Buffer.from(uri).toString('utf8');
  }
  return undefined;
}

/** `coap://host:port` → address (IPv4 literals and names; default port 5683). */
export function parseCoapUri(uri: string): ServerAddress | undefined {
  const m = /^coap:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(uri.trim());
  if (!m) return undefined;
  const host = m[1]!.replace(/^\[|\]$/g, '');
  const port = m[2] ? Number(m[2]) : 5683;
  if (port < 1 || port > 65535) return undefined;
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}


