import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  type CommandResult,
  COMMAND_TOPIC,
  commandTopicFor,
  defineTopic,
  type DeviceCommand,
  type DeviceEvent,
  type TopicSpec,
} from '@dmp/contracts';
import type { EventBus } from '@dmp/kafka';
import { createDefaultContentFormatRegistry, LwM2mPath, ObjectModelRegistry } from '@dmp/lwm2m';
import type { Redis } from '@dmp/redis';
import { ClientsLifecycle, EVENT_BUS, MetricsService, REDIS } from '@dmp/service-kit';
import { PinoLogger } from 'nestjs-pino';
import { Counter, Histogram } from 'prom-client';
import { BadOperation, buildRequest, commandOf, type OperationBody } from './build';
import type { CommandConfig } from './config';
import { CoalescingPublisher } from './publisher';
import { route } from './route';
import { FINAL, OPEN, opKeys, type OpMeta, OperationStore, type OpRecord, type OpStatus } from './store';
import { COMMAND_CONFIG } from './tokens';
import { contentOf } from './values';

/** What the API answers for an operation. */
export interface OperationView {
  id: string;
  epi: string;
  op: string;
  path: string;
  status: OpStatus;
  code?: string;
  content?: unknown;
  contentFormat?: number;
  token?: string;
  error?: string;
  /** Why an operation for a live device was queued instead of sent (`gateway-unavailable`). */
  reason?: string;
  createdAt: number;
  updatedAt: number;
  expiresAt?: number;
}

export class HttpFailure extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 429,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

export function viewOf(r: OpRecord): OperationView {
  return {
    id: r.id,
    epi: r.epi,
    op: r.op,
    path: r.path,
    status: r.status,
    ...(r.code !== undefined ? { code: r.code } : {}),
    ...(r.content !== undefined ? { content: r.content } : {}),
    ...(r.contentFormat !== undefined ? { contentFormat: r.contentFormat } : {}),
    ...(r.token !== undefined ? { token: r.token } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
  };
}

/** An HTTP request waiting for its operation's result in this replica. */
interface Waiter {
  meta: OpMeta;
  finish: (v: OperationView | undefined) => void;
}

/**
 * Operations on devices: validation with the object model, routing to the owning gateway's
 * command topic, correlation of command results, per-device queues (decision 0008).
 *
 * Hot path (a live device, one replica): one HMGET of the registration, one script that
 * creates the operation already SENT, one produce, and on the result one script that applies
 * the final state; the waiting request is answered from memory. A result consumed by another
 * replica reaches the waiting one through Redis pub/sub (`dmp:cmd:done:{replica}`).
 */
@Injectable()
export class CommandService implements OnModuleInit, OnModuleDestroy {
  readonly store: OperationStore;
  /** This process's id in `rep` of the operations it waits for (the pub/sub channel's name). */
  readonly replica = randomUUID();
  private readonly models = ObjectModelRegistry.default();
  private readonly formats = createDefaultContentFormatRegistry();
  private readonly waiters = new Map<string, Waiter>();
  private readonly topics = new Map<string, TopicSpec>();
  private readonly gateways = new Map<string, { alive: Promise<boolean>; until: number }>();
  private readonly counter: Counter;
  private readonly finals: Histogram;
  private readonly relays: Counter<'direction'>;
  private readonly publisher: CoalescingPublisher;
  private subscriber: Redis | undefined;
  private closed = false;

  constructor(
    @Inject(COMMAND_CONFIG) private readonly cfg: CommandConfig,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    clients: ClientsLifecycle,
    metrics: MetricsService,
    private readonly log: PinoLogger,
  ) {
    this.log.setContext('CommandService');
    this.store = new OperationStore(
      redis,
      () => {
        if (!clients.scripts) throw new Error('Redis scripts not loaded');
        return clients.scripts;
      },
      cfg.COMMAND_OP_TTL_S,
    );
    this.publisher = new CoalescingPublisher(() => this.bus.producer());
    this.counter = new Counter({
      name: 'dmp_command_operations_total',
      help: 'Operations by LwM2M operation and outcome (accepted answers: SUCCESS/FAILED/TIMEOUT/QUEUED/SENT at answer time)',
      labelNames: ['op', 'status'],
      registers: [metrics.registry],
    });
    // counted once per operation, by the replica that applied the final state
    this.finals = new Histogram({
      name: 'dmp_command_operation_seconds',
      help: 'Operations that reached a final state (SUCCESS/FAILED/TIMEOUT/CANCELLED), by LwM2M operation: time from creation to that state',
      labelNames: ['op', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400],
      registers: [metrics.registry],
    });
    this.relays = new Counter({
      name: 'dmp_command_result_relays_total',
      help: 'Results applied by one replica for a request waiting in another, relayed by Redis pub/sub (sent / received)',
      labelNames: ['direction'],
      registers: [metrics.registry],
    });
  }

  async onModuleInit(): Promise<void> {
    // one subscriber connection per replica, one channel per replica: only the replica that
    // holds the waiting request hears about a result another replica applied
    const sub = this.redis.duplicate({ connectionName: `dmp-command-sub-${this.replica.slice(0, 8)}` });
    this.subscriber = sub;
    sub.on('message', (_channel: string, message: string) => this.onDone(message));
    sub.on('error', (e: unknown) => this.log.warn({ err: String(e) }, 'result subscriber'));
    await sub.connect();
    await sub.subscribe(opKeys.done(this.replica));
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    // waiting requests answer with the state in Redis (202 SENT) instead of hanging
    for (const w of [...this.waiters.values()]) w.finish(undefined);
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  /** Validates, routes and sends (or queues) one operation; waits up to timeoutMs for its result. */
  async submit(epi: string, body: OperationBody): Promise<OperationView> {
    const now = Date.now();
    const reg = await this.store.registration(epi);
    let lwm2mVersion = reg?.lwm2mVersion;
    if (!reg) {
      const off = await this.store.offline(epi);
      if (!off.known) throw new HttpFailure(404, `device ${epi} is unknown`);
      lwm2mVersion = off.lwm2mVersion;
    }
    let token = body.token;
    if (body.op === 'cancel-observe' && !token) {
      const obs = (await this.store.observations(epi)).filter((o) => o.path === body.path);
      if (obs.length === 0) throw new HttpFailure(400, `no observation of ${body.path} on ${epi}`);
      if (obs.length > 1) throw new HttpFailure(400, `several observations of ${body.path}: give the token`);
      token = obs[0]!.token;
    }
    let req;
    try {
      req = buildRequest(body, { models: this.models, formats: this.formats, lwm2mVersion: lwm2mVersion ?? '1.0' });
    } catch (e) {
      if (e instanceof BadOperation) throw new HttpFailure(400, e.message);
      throw e;
    }
    const live = reg !== undefined && reg.deadline >= now;
    const where = route({
      epi,
      reg,
      now,
      queue: body.queue,
      awakeWindowMs: this.cfg.COMMAND_AWAKE_WINDOW_MS,
      gatewayAlive: live ? await this.gatewayAlive(reg.gatewayId, now) : true,
    });
    if (where.kind === 'refuse') throw new HttpFailure(where.status, where.message, where.reason);
    const queued = where.kind === 'queue';
    // put back in the queue (until it expires) when the device does not answer
    const queue = body.queue === true || (reg?.queueMode ?? false) || queued;
    const id = randomUUID();
    const expiresAt = queue ? now + (body.expiresInMs ?? this.cfg.COMMAND_QUEUE_TTL_MS) : undefined;
    const cmd = commandOf({ id, epi, now, body, token, expiresAt }, req);
    const extraTtlS = expiresAt ? Math.ceil((expiresAt - now) / 1000) : 0;
    const base = { id, epi, op: body.op, path: body.path, queue, createdAt: now, expiresAt, token };

    if (queued) {
      const seq = await this.store.createOp(
        { ...base, status: 'QUEUED', cmd: JSON.stringify(cmd), reason: where.reason },
        { extraTtlS, takeSeq: true, enqueue: true, queueMax: this.cfg.COMMAND_QUEUE_MAX },
      );
      if (seq === undefined) throw new HttpFailure(429, `queue of ${epi} is full`);
      this.counter.inc({ op: body.op, status: 'QUEUED' });
      // the device may have come back (registered / woke up) between the check and the enqueue
      if (where.reason !== 'device-asleep') void this.flushIfAwake(epi).catch((e: unknown) => this.log.error({ err: String(e) }, 'flush failed'));
      return { ...base, status: 'QUEUED', reason: where.reason, updatedAt: now };
    }

    // Created directly as SENT (one write): the waiter exists before the command can leave,
    // and a failed produce moves it to FAILED below.
    const wait = Math.min(body.timeoutMs, this.cfg.COMMAND_MAX_WAIT_MS);
    const seq = await this.store.createOp(
      { ...base, status: 'SENT', cmd: queue ? JSON.stringify(cmd) : undefined, gatewayId: where.gatewayId, replica: this.replica },
      { extraTtlS, takeSeq: queue, enqueue: false, queueMax: 0 },
    );
    const meta: OpMeta = { ...base, seq: seq ?? 0, replica: this.replica };
    const done = this.waitFor(meta, wait);
    try {
      await this.publish(where.gatewayId, cmd);
    } catch (e) {
      if (await this.store.setState(base, 'SENT', 'FAILED', { error: `not sent: ${String(e)}` })) this.observeFinal(meta, 'FAILED');
      this.waiters.get(id)?.finish(undefined);
      throw e;
    }
    const final = (await done) ?? (await this.get(id)) ?? { ...base, status: 'SENT' as const, updatedAt: now };
    this.counter.inc({ op: body.op, status: final.status });
    return final;
  }

  async get(id: string): Promise<OperationView | undefined> {
    const r = await this.store.get(id);
    return r ? viewOf(r) : undefined;
  }

  /** Cancels a queued operation; an operation already sent cannot be recalled (409). */
  async cancel(id: string): Promise<OperationView | undefined> {
    const r = await this.store.get(id);
    if (!r) return undefined;
    if (!(await this.store.setState(r, 'QUEUED,PENDING', 'CANCELLED', {}, { queue: 'rem' }))) {
      const now = await this.store.get(id);
      if (now && !FINAL.has(now.status)) throw new HttpFailure(409, `operation ${id} is ${now.status}: it can no longer be cancelled`);
      return now ? viewOf(now) : undefined;
    }
    this.observeFinal(r, 'CANCELLED');
    const now = await this.get(id);
    if (now) this.notify(r, now);
    return now;
  }

  /** Heartbeat of a gateway instance, cached for COMMAND_GATEWAY_CACHE_MS (one EXISTS per gateway per period). */
  private gatewayAlive(gatewayId: string, now: number): Promise<boolean> {
    const c = this.gateways.get(gatewayId);
    if (c && c.until > now) return c.alive;
    if (this.gateways.size > 10_000) this.gateways.clear(); // ids of restarted instances
    const alive = this.store.gatewayAlive(gatewayId).catch((e: unknown) => {
      // Redis trouble is not evidence that the gateway vanished: route as before
      this.log.warn({ err: String(e), gatewayId }, 'gateway heartbeat not readable');
      this.gateways.delete(gatewayId);
      return true;
    });
    this.gateways.set(gatewayId, { alive, until: now + this.cfg.COMMAND_GATEWAY_CACHE_MS });
    return alive;
  }

  private async publish(gatewayId: string, cmd: DeviceCommand): Promise<void> {
    let spec = this.topics.get(gatewayId);
    if (!spec) {
      spec = defineTopic({ name: commandTopicFor(gatewayId), version: 1, description: `commands for gateway ${gatewayId}`, ...COMMAND_TOPIC });
      this.topics.set(gatewayId, spec);
    }
    // Built above from a validated body by our builders (build.spec checks it against the
    // DeviceCommand schema); the gateway validates it again when it consumes it.
    await this.publisher.publish(spec.name, { key: cmd.epi, value: Buffer.from(JSON.stringify(cmd)) });
  }

  /** Resolves with the operation once it is final or back in the queue; undefined after `ms`. */
  private waitFor(meta: OpMeta, ms: number): Promise<OperationView | undefined> {
    return new Promise((resolve) => {
      const finish = (v: OperationView | undefined) => {
        if (this.waiters.get(meta.id) !== w) return;
        this.waiters.delete(meta.id);
        clearTimeout(timer);
        resolve(v);
      };
      const w: Waiter = { meta, finish };
      this.waiters.set(meta.id, w);
      // a missed pub/sub message only costs the wait: the final read in submit finds the state
      const timer = setTimeout(() => finish(undefined), this.closed ? 0 : ms);
    });
  }

  /** Tells the waiting request, in this replica or (pub/sub) in the one that created it. */
  private notify(meta: Pick<OpMeta, 'id' | 'replica'>, view: OperationView): void {
    const w = this.waiters.get(meta.id);
    if (w) return w.finish(view);
    if (meta.replica && meta.replica !== this.replica) {
      this.relays.inc({ direction: 'sent' });
      void this.redis.publish(opKeys.done(meta.replica), JSON.stringify(view)).catch((e: unknown) => this.log.warn({ err: String(e) }, 'result not published to its replica'));
    }
  }

  /** A result applied by another replica for one of our waiters (message = the operation's view). */
  private onDone(message: string): void {
    let v: OperationView;
    try {
      v = JSON.parse(message) as OperationView;
    } catch {
      return;
    }
    const w = typeof v?.id === 'string' ? this.waiters.get(v.id) : undefined;
    if (!w) return; // answered already (timeout) or gone
    this.relays.inc({ direction: 'received' });
    w.finish(v);
  }

  private observeFinal(meta: Pick<OpMeta, 'op' | 'createdAt'>, status: OpStatus): void {
    this.finals.observe({ op: meta.op, status }, Math.max(0, Date.now() - meta.createdAt) / 1000);
  }

  /** A command-result event (any replica's operation: its state is in Redis). */
  async onResult(r: CommandResult): Promise<void> {
    // the waiting request of this replica knows the operation: no read
    const op = this.waiters.get(r.id)?.meta ?? (await this.store.meta(r.id));
    if (!op || op.epi !== r.epi) return; // not ours (e.g. a test or another producer)
    const now = Date.now();
    const noAnswer = r.status === 'TIMEOUT' || r.status === 'UNREACHABLE';
    if (noAnswer && op.queue && (op.expiresAt ?? 0) > now) {
      // a queued / queue-mode command the device did not answer: back in the queue, same place
      const extraTtlS = Math.ceil(((op.expiresAt ?? now) - now) / 1000);
      const error = r.error ?? r.status;
      if (
        await this.store.setState(op, OPEN, 'QUEUED', { updatedAt: now, error, gw: r.gatewayId }, { queue: 'add', score: op.seq, inflight: 'rem', extraTtlS })
      ) {
        this.notify(op, { ...this.baseView(op, now), status: 'QUEUED', error });
      }
      return;
    }
    const status: OpStatus = r.status === 'SUCCESS' ? 'SUCCESS' : r.status === 'TIMEOUT' ? 'TIMEOUT' : 'FAILED';
    let content: unknown;
    try {
      content = r.status === 'SUCCESS' ? contentOf(LwM2mPath.parse(op.path), r) : undefined;
    } catch {
      content = r.payload;
    }
    const error =
      r.error ??
      (r.status === 'FAILED' && r.payload ? Buffer.from(r.payload, 'base64').toString('utf8').slice(0, 500) : r.status === 'UNREACHABLE' ? 'device unreachable' : undefined);
    const token = r.token ?? op.token;
    const applied = await this.store.setState(
      op,
      OPEN,
      status,
      {
        updatedAt: now,
        code: r.code,
        error,
        content: content !== undefined ? JSON.stringify(content) : undefined,
        cf: r.contentFormat,
        token,
        gw: r.gatewayId,
      },
      { inflight: 'rem' },
    );
    if (applied) {
      this.observeFinal(op, status);
      this.notify(op, {
        ...this.baseView(op, now),
        status,
        ...(r.code !== undefined ? { code: r.code } : {}),
        ...(content !== undefined ? { content } : {}),
        ...(r.contentFormat !== undefined ? { contentFormat: r.contentFormat } : {}),
        ...(token !== undefined ? { token } : {}),
        ...(error !== undefined ? { error } : {}),
      });
    } else await this.store.releaseInflight(op.epi, op.id);
    // the device answered: it is awake, send what else is waiting for it
    if (!noAnswer && op.queue) await this.flush(op.epi);
  }

  private baseView(op: OpMeta, now: number): OperationView {
    return {
      id: op.id,
      epi: op.epi,
      op: op.op,
      path: op.path,
      status: 'SENT',
      createdAt: op.createdAt,
      updatedAt: now,
      ...(op.token !== undefined ? { token: op.token } : {}),
      ...(op.expiresAt !== undefined ? { expiresAt: op.expiresAt } : {}),
    };
  }

  async onDeviceEvent(ev: DeviceEvent): Promise<void> {
    if (ev.type === 'registered') {
      // kept past the registration: the default format of commands queued while it is offline
      await this.store.rememberVersion(ev.epi, ev.lwm2mVersion);
    }
    if (ev.type === 'registered' || ev.type === 'updated' || ev.type === 'awake') await this.flush(ev.epi);
  }

  private async flushIfAwake(epi: string): Promise<void> {
    const reg = await this.store.registration(epi);
    const now = Date.now();
    if (reg && reg.deadline >= now && (!reg.queueMode || now - reg.lastSeen <= this.cfg.COMMAND_AWAKE_WINDOW_MS)) await this.flush(epi);
  }

  /**
   * Sends queued commands of a live device, oldest first, at most COMMAND_QUEUE_MAX_IN_FLIGHT
   * at a time, through the gateway that owns it now; nothing while that gateway has no
   * heartbeat (the device's next uplink through another gateway flushes them).
   */
  async flush(epi: string): Promise<number> {
    const reg = await this.store.registration(epi);
    if (!reg || reg.deadline < Date.now()) return 0;
    if (!(await this.gatewayAlive(reg.gatewayId, Date.now()))) return 0;
    const ids = await this.store.take(epi, this.cfg.COMMAND_QUEUE_MAX_IN_FLIGHT, 600_000 + 60_000);
    let sent = 0;
    for (const id of ids) {
      const op = await this.store.get(id);
      const now = Date.now();
      if (!op || !op.cmd || op.status !== 'QUEUED') {
        await this.store.releaseInflight(epi, id);
        continue;
      }
      if (op.expiresAt !== undefined && op.expiresAt < now) {
        if (await this.store.setState(op, 'QUEUED', 'TIMEOUT', { error: 'expired in the queue' }, { inflight: 'rem' })) this.observeFinal(op, 'TIMEOUT');
        continue;
      }
      const cmd = { ...(JSON.parse(op.cmd) as DeviceCommand), ts: now };
      if (!(await this.store.setState(op, 'QUEUED', 'SENT', { gw: reg.gatewayId }, { extraTtlS: Math.ceil(((op.expiresAt ?? now) - now) / 1000) }))) {
        await this.store.releaseInflight(epi, id);
        continue;
      }
      try {
        await this.publish(reg.gatewayId, cmd);
        sent++;
      } catch (e) {
        this.log.error({ err: String(e), epi }, 'queued command not published: back in the queue');
        await this.store.setState(op, 'SENT', 'QUEUED', {}, { queue: 'add', score: op.seq, inflight: 'rem' });
      }
    }
    return sent;
  }
}
