import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  type CommandResult,
  COMMAND_TOPIC,
  commandTopicFor,
  defineTopic,
  type DeviceCommand,
  type DeviceEvent,
  encodeMessage,
  type TopicSpec,
} from '@dmp/contracts';
import type { EventBus } from '@dmp/kafka';
import { createDefaultContentFormatRegistry, LwM2mPath, ObjectModelRegistry } from '@dmp/lwm2m';
import type { Redis } from '@dmp/redis';
import { ClientsLifecycle, EVENT_BUS, MetricsService, REDIS } from '@dmp/service-kit';
import { PinoLogger } from 'nestjs-pino';
import { Counter } from 'prom-client';
import { BadOperation, buildRequest, type OperationBody } from './build';
import type { CommandConfig } from './config';
import { CoalescingPublisher } from './publisher';
import { FINAL, OPEN, OperationStore, type OpRecord, type OpStatus } from './store';
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
  createdAt: number;
  updatedAt: number;
  expiresAt?: number;
}

export class HttpFailure extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 429,
    message: string,
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
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
  };
}

/**
 * Operations on devices: validation with the object model, routing to the owning gateway's
 * command topic, correlation of command results, per-device queues (decision 0008).
 */
@Injectable()
export class CommandService implements OnModuleDestroy {
  readonly store: OperationStore;
  private readonly models = ObjectModelRegistry.default();
  private readonly formats = createDefaultContentFormatRegistry();
  private readonly waiters = new Map<string, Set<(r: OpRecord) => void>>();
  private readonly topics = new Map<string, TopicSpec>();
  private readonly counter: Counter;
  private readonly publisher: CoalescingPublisher;
  private closed = false;

  constructor(
    @Inject(COMMAND_CONFIG) private readonly cfg: CommandConfig,
    @Inject(REDIS) redis: Redis,
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
  }

  onModuleDestroy(): void {
    this.closed = true;
  }

  /** Validates, routes and sends (or queues) one operation; waits up to timeoutMs for its result. */
  async submit(epi: string, body: OperationBody): Promise<OperationView> {
    const now = Date.now();
    const reg = await this.store.registration(epi);
    if (!reg && !(await this.store.known(epi))) throw new HttpFailure(404, `device ${epi} is unknown`);
    let token = body.token;
    if (body.op === 'cancel-observe' && !token) {
      const obs = (await this.store.observations(epi)).filter((o) => o.path === body.path);
      if (obs.length === 0) throw new HttpFailure(400, `no observation of ${body.path} on ${epi}`);
      if (obs.length > 1) throw new HttpFailure(400, `several observations of ${body.path}: give the token`);
      token = obs[0]!.token;
    }
    let req;
    try {
      req = buildRequest(body, { models: this.models, formats: this.formats, lwm2mVersion: reg?.lwm2mVersion ?? '1.0' });
    } catch (e) {
      if (e instanceof BadOperation) throw new HttpFailure(400, e.message);
      throw e;
    }
    const online = reg !== undefined && reg.deadline >= now;
    if (!online && !body.queue) throw new HttpFailure(409, `device ${epi} is offline (send with "queue": true to queue the operation)`);
    const asleep = online && reg.queueMode && now - reg.lastSeen > this.cfg.COMMAND_AWAKE_WINDOW_MS;
    const queue = body.queue || (reg?.queueMode ?? false);
    const id = randomUUID();
    const expiresAt = queue ? now + (body.expiresInMs ?? this.cfg.COMMAND_QUEUE_TTL_MS) : undefined;
    const cmd: DeviceCommand = {
      v: 1,
      id,
      epi,
      ts: now,
      operation: body.op,
      method: req.method,
      uriPath: req.uriPath,
      uriQuery: req.uriQuery,
      timeoutMs: body.timeoutMs,
      ...(req.contentFormat !== undefined ? { contentFormat: req.contentFormat } : {}),
      ...(req.accept !== undefined ? { accept: req.accept } : {}),
      ...(req.observe !== undefined ? { observe: req.observe } : {}),
      ...(token !== undefined && body.op === 'cancel-observe' ? { token } : {}),
      ...(req.payload ? { payload: Buffer.from(req.payload).toString('base64') } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    };
    const extraTtlS = expiresAt ? Math.ceil((expiresAt - now) / 1000) : 0;
    const rec: OpRecord = {
      id,
      epi,
      op: body.op,
      path: body.path,
      status: 'PENDING',
      queue,
      cmd: JSON.stringify(cmd),
      seq: await this.store.nextSeq(),
      createdAt: now,
      updatedAt: now,
      expiresAt,
      token,
    };

    if (!online || asleep) {
      if ((await this.store.queueLength(epi)) >= this.cfg.COMMAND_QUEUE_MAX) throw new HttpFailure(429, `queue of ${epi} is full`);
      await this.store.create(rec, extraTtlS);
      await this.store.setState(rec, 'PENDING', 'QUEUED', {}, { queue: 'add', score: rec.seq, extraTtlS });
      this.counter.inc({ op: body.op, status: 'QUEUED' });
      // the device may have come back (registered / woke up) between the check and the enqueue
      if (!online) void this.flushIfAwake(epi).catch((e: unknown) => this.log.error({ err: String(e) }, 'flush failed'));
      return viewOf((await this.store.get(id)) ?? { ...rec, status: 'QUEUED' });
    }

    await this.store.create(rec, extraTtlS);
    const done = this.waitFor(id, Math.min(body.timeoutMs, this.cfg.COMMAND_MAX_WAIT_MS));
    try {
      await this.publish(reg.gatewayId, cmd);
    } catch (e) {
      await this.store.setState(rec, 'PENDING', 'FAILED', { error: `not sent: ${String(e)}` });
      throw e;
    }
    await this.store.setState(rec, 'PENDING', 'SENT', { gw: reg.gatewayId }, { extraTtlS });
    const final = await done;
    const view = viewOf(final ?? (await this.store.get(id)) ?? { ...rec, status: 'SENT' });
    this.counter.inc({ op: body.op, status: view.status });
    return view;
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
    this.wake(id);
    const now = await this.store.get(id);
    return now ? viewOf(now) : undefined;
  }

  private async publish(gatewayId: string, cmd: DeviceCommand): Promise<void> {
    let spec = this.topics.get(gatewayId);
    if (!spec) {
      spec = defineTopic({ name: commandTopicFor(gatewayId), version: 1, description: `commands for gateway ${gatewayId}`, ...COMMAND_TOPIC });
      this.topics.set(gatewayId, spec);
    }
    const m = encodeMessage(spec, cmd.epi, cmd);
    await this.publisher.publish(spec.name, m);
  }

  /** Resolves with the record once it is final or back in the queue; undefined after `ms`. */
  private waitFor(id: string, ms: number): Promise<OpRecord | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const finish = (r: OpRecord | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        set.delete(finish);
        if (set.size === 0) this.waiters.delete(id);
        resolve(r);
      };
      set.add(finish);
      const timer = setTimeout(() => finish(undefined), ms);
      // the result may be consumed by another replica: its state lands in Redis
      const poll = setInterval(() => {
        if (this.closed) return finish(undefined);
        void this.store.get(id).then(
          (r) => {
            if (r && (FINAL.has(r.status) || r.status === 'QUEUED')) finish(r);
          },
          () => undefined,
        );
      }, this.cfg.COMMAND_POLL_MS);
    });
  }

  private wake(id: string): void {
    const set = this.waiters.get(id);
    if (!set) return;
    void this.store.get(id).then((r) => {
      if (r) for (const f of [...set]) f(r);
    });
  }

  /** A command-result event (any replica's operation: its state is in Redis). */
  async onResult(r: CommandResult): Promise<void> {
    const op = await this.store.get(r.id);
    if (!op || op.epi !== r.epi) return; // not ours (e.g. a test or another producer)
    const now = Date.now();
    const noAnswer = r.status === 'TIMEOUT' || r.status === 'UNREACHABLE';
    if (noAnswer && op.queue && (op.expiresAt ?? 0) > now) {
      // a queued / queue-mode command the device did not answer: back in the queue, same place
      const extraTtlS = Math.ceil(((op.expiresAt ?? now) - now) / 1000);
      if (await this.store.setState(op, OPEN, 'QUEUED', { error: r.error ?? r.status, gw: r.gatewayId }, { queue: 'add', score: op.seq, inflight: 'rem', extraTtlS })) {
        this.wake(op.id);
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
    const applied = await this.store.setState(
      op,
      OPEN,
      status,
      {
        code: r.code,
        error,
        content: content !== undefined ? JSON.stringify(content) : undefined,
        cf: r.contentFormat,
        token: r.token ?? op.token,
        gw: r.gatewayId,
      },
      { inflight: 'rem' },
    );
    if (applied) this.wake(op.id);
    else await this.store.releaseInflight(op.epi, op.id);
    // the device answered: it is awake, send what else is waiting for it
    if (!noAnswer && op.queue) await this.flush(op.epi);
  }

  async onDeviceEvent(ev: DeviceEvent): Promise<void> {
    if (ev.type === 'registered' || ev.type === 'updated' || ev.type === 'awake') await this.flush(ev.epi);
  }

  private async flushIfAwake(epi: string): Promise<void> {
    const reg = await this.store.registration(epi);
    const now = Date.now();
    if (reg && reg.deadline >= now && (!reg.queueMode || now - reg.lastSeen <= this.cfg.COMMAND_AWAKE_WINDOW_MS)) await this.flush(epi);
  }

  /** Sends queued commands of a live device, oldest first, at most COMMAND_QUEUE_MAX_IN_FLIGHT at a time. */
  async flush(epi: string): Promise<number> {
    const reg = await this.store.registration(epi);
    if (!reg || reg.deadline < Date.now()) return 0;
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
        if (await this.store.setState(op, 'QUEUED', 'TIMEOUT', { error: 'expired in the queue' }, { inflight: 'rem' })) this.wake(id);
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
