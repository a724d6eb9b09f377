import {
  blockOption,
  CoapCode,
  type CoapMessage,
  type CoapOption,
  CoapType,
  encode,
  formatCode,
  OptionNumber,
  retransmissionSchedule,
  sizeToSzx,
  sliceBlock,
  stringOption,
  TokenGenerator,
  tokenKey,
  uintOption,
} from '@dmp/coap';
import { COMMAND_TOPIC, type CommandResult, commandTopicFor, decodeMessage, defineTopic, type DeviceCommand, Topics } from '@dmp/contracts';
import type { EventBus, IncomingMessage, RunningConsumer } from '@dmp/kafka';
import { LwM2mPath } from '@dmp/lwm2m';
import type { CoapServer, GatewayLogger, Peer } from './coap-server';
import { parsePeerKey, peerKey } from './coap-server';
import type { GatewayConfig } from './config';
import type { GatewayEvents } from './events';
import type { GatewayMetrics } from './metrics';
import { OBSERVATION_TTL_S, type RegistrationStore, versionOfLocation } from './registration-store';

interface Exchange {
  cmd: DeviceCommand;
  peer: Peer;
  token: Buffer;
  mid: number;
  bytes: Buffer;
  timer: NodeJS.Timeout | undefined;
  deadline: number;
  /** Block2: response chunks collected so far. */
  chunks: Buffer[];
  received: number;
  /** Block1: request payload and the next block number to send. */
  body: Buffer | undefined;
  block1Num: number;
  /** The first response carried an Observe option (the observation is established). */
  observed: boolean;
  /** Observe sequence number of the first response. */
  observeSeq?: number;
  /** EPN version of the registration the command was sent under (R-EPI-2). */
  version: string | undefined;
  done: boolean;
}

/** `read` for a Read, `observe` for the answer that established an observation; nothing for other GETs (Discover, cancel). */
function dataSourceOf(ex: Exchange): 'read' | 'observe' | undefined {
  if (ex.cmd.observe === 0) return ex.observed ? 'observe' : 'read';
  if (ex.cmd.observe === undefined && ex.cmd.operation === 'read') return 'read';
  return undefined;
}

const METHOD = { GET: CoapCode.GET, PUT: CoapCode.PUT, POST: CoapCode.POST, DELETE: CoapCode.DELETE, FETCH: CoapCode.FETCH, IPATCH: CoapCode.IPATCH } as const;

/**
 * Downlink: consumes this gateway's own command topic, sends each command to the
 * device's current address from the gateway's socket as a CON with retransmission
 * (one outstanding request per device, NSTART = 1), Block1 for large payloads, Block2
 * reassembly for large responses, and publishes a `command-result` per command.
 */
export class Downlink {
  private readonly tokens = new TokenGenerator({ length: 8 });
  private readonly byMid = new Map<string, Exchange>();
  private readonly byToken = new Map<string, Exchange>();
  private readonly active = new Map<string, Exchange>();
  private readonly queues = new Map<string, DeviceCommand[]>();
  private consumer: RunningConsumer | undefined;
  readonly topic: string;
  private readonly maxPerDevice = 64;

  constructor(
    private readonly cfg: GatewayConfig,
    private readonly server: CoapServer,
    private readonly store: RegistrationStore,
    private readonly events: GatewayEvents,
    private readonly metrics: GatewayMetrics,
    private readonly log: GatewayLogger,
  ) {
    this.topic = commandTopicFor(cfg.GATEWAY_ID);
  }

  async start(bus: EventBus): Promise<void> {
    await bus.ensureTopics([{ name: this.topic, ...COMMAND_TOPIC }]);
    const spec = defineTopic({ name: this.topic, version: 1, description: 'commands for one gateway', ...COMMAND_TOPIC });
    this.consumer = await bus.runConsumer({
      groupId: `dmp-gateway-${this.cfg.GATEWAY_ID}`,
      topics: [this.topic],
      deadLetterTopic: Topics.deadLetter.name,
      // each partition's batch is handled in order (per device); partitions at once, so one
      // partition's Redis round trips do not delay the commands of the others
      partitionsConsumedConcurrently: COMMAND_TOPIC.partitions,
      handler: async (m: IncomingMessage) => {
        const { value } = decodeMessage(spec, m.key, m.value);
        await this.submit(value);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    for (const ex of this.byMid.values()) if (ex.timer) clearTimeout(ex.timer);
  }

  /** Accepts a command: sends it now or queues it behind the device's outstanding one. */
  async submit(cmd: DeviceCommand): Promise<void> {
    const now = Date.now();
    if (cmd.expiresAt !== undefined && cmd.expiresAt < now) return this.finish(cmd, undefined, { status: 'TIMEOUT', error: 'expired before it was sent' });
    const active = this.active.get(cmd.epi);
    if (active) {
      const q = this.queues.get(cmd.epi) ?? [];
      if (q.length >= this.maxPerDevice) return this.finish(cmd, undefined, { status: 'FAILED', error: 'too many commands waiting for this device' });
      q.push(cmd);
      this.queues.set(cmd.epi, q);
      return;
    }
    await this.start_(cmd);
  }

  private async start_(cmd: DeviceCommand): Promise<void> {
    const reg = await this.store.get(cmd.epi);
    const peer = reg ? parsePeerKey(reg.address) : undefined;
    if (!reg || !peer || reg.deadline < Date.now()) {
      return this.finish(cmd, undefined, { status: 'UNREACHABLE', error: 'device not registered' });
    }
    const token = cmd.token ? Buffer.from(cmd.token, 'hex') : Buffer.from(this.tokens.next());
    const body = cmd.payload ? Buffer.from(cmd.payload, 'base64') : undefined;
    const ex: Exchange = {
      cmd,
      peer,
      token,
      mid: 0,
      bytes: Buffer.alloc(0),
      timer: undefined,
      deadline: Math.max(Date.now(), cmd.ts) + cmd.timeoutMs,
      chunks: [],
      received: 0,
      body,
      block1Num: 0,
      observed: false,
      version: versionOfLocation(reg.location),
      done: false,
    };
    this.active.set(cmd.epi, ex);
    this.byToken.set(tokenKey(token), ex);
    this.transmit(ex, this.requestOptions(ex));
  }

  private requestOptions(ex: Exchange, extra: CoapOption[] = []): CoapOption[] {
    const c = ex.cmd;
    const opts: CoapOption[] = [
      ...c.uriPath.map((p) => stringOption(OptionNumber.URI_PATH, p)),
      ...c.uriQuery.map((q) => stringOption(OptionNumber.URI_QUERY, q)),
    ];
    if (c.observe !== undefined) opts.push(uintOption(OptionNumber.OBSERVE, c.observe));
    if (c.contentFormat !== undefined && ex.body) opts.push(uintOption(OptionNumber.CONTENT_FORMAT, c.contentFormat));
    if (c.accept !== undefined) opts.push(uintOption(OptionNumber.ACCEPT, c.accept));
    return [...opts, ...extra];
  }

  /** Builds and sends one CON request of the exchange (first block or whole), with retransmission. */
  private transmit(ex: Exchange, options: CoapOption[]): void {
    let payload: Uint8Array | undefined = ex.body;
    const size = this.cfg.COAP_BLOCK_SIZE;
    if (ex.body && ex.body.length > size) {
      const slice = sliceBlock(ex.body, ex.block1Num, sizeToSzx(size)!);
      if (!slice) return this.complete(ex, { status: 'FAILED', error: 'block1 slicing failed' });
      payload = slice.data;
      options = [...options, blockOption(OptionNumber.BLOCK1, slice.block)];
      if (ex.block1Num === 0) options.push(uintOption(OptionNumber.SIZE1, ex.body.length));
    }
    const mid = this.server.mids.next();
    ex.mid = mid;
    ex.bytes = encode({ type: CoapType.CON, code: METHOD[ex.cmd.method], mid, token: ex.token, options, payload });
    this.byMid.set(`${peerKey(ex.peer)}#${mid}`, ex);
    const schedule = retransmissionSchedule({ ackTimeoutMs: this.cfg.COAP_ACK_TIMEOUT_MS, maxRetransmit: this.cfg.COAP_MAX_RETRANSMIT });
    let attempt = 0;
    const fire = () => {
      if (ex.done) return;
      if (attempt > 0) this.metrics.retransmissions.inc();
      this.server.send(ex.bytes, ex.peer, 'CON');
      const wait = schedule[attempt] ?? 0;
      const last = attempt >= schedule.length - 1;
      attempt++;
      const remaining = ex.deadline - Date.now();
      if (last || wait >= remaining) {
        ex.timer = setTimeout(() => this.complete(ex, { status: 'TIMEOUT', error: 'no answer from the device' }), Math.max(0, Math.min(wait, remaining)));
        return;
      }
      ex.timer = setTimeout(fire, wait);
    };
    fire();
  }

  /** Returns true when `msg` belongs to one of our exchanges. */
  onMessage(msg: CoapMessage, peer: Peer): boolean {
    if (msg.type === CoapType.ACK || msg.type === CoapType.RST) {
      const key = `${peerKey(peer)}#${msg.mid}`;
      const ex = this.byMid.get(key);
      if (!ex || ex.done) return false;
      this.byMid.delete(key);
      if (ex.timer) clearTimeout(ex.timer);
      if (msg.type === CoapType.RST) {
        this.complete(ex, { status: 'FAILED', error: 'device answered with Reset' });
        return true;
      }
      if (msg.isEmpty) {
        // separate response follows: wait for it until the command's deadline
        ex.timer = setTimeout(() => this.complete(ex, { status: 'TIMEOUT', error: 'no separate response' }), Math.max(0, ex.deadline - Date.now()));
        return true;
      }
      void this.onResponse(ex, msg.clone());
      return true;
    }
    const ex = this.byToken.get(tokenKey(msg.token));
    if (!ex || ex.done || !msg.isResponse) return false;
    // a cancel-observe reuses the observation's token: a notification (it carries Observe)
    // racing with the cancel is a notification, not the cancel's response
    if (ex.cmd.observe === 1 && msg.observe !== undefined) return false;
    if (ex.timer) clearTimeout(ex.timer);
    void this.onResponse(ex, msg.clone());
    return true;
  }

  private async onResponse(ex: Exchange, msg: CoapMessage): Promise<void> {
    void this.server.awake(ex.cmd.epi, ex.peer).catch(() => undefined);
    // Block1: the device asks for the next block of our request payload
    if (msg.code === CoapCode.CONTINUE && ex.body) {
      ex.block1Num++;
      this.transmit(ex, this.requestOptions(ex));
      return;
    }
    if (msg.observe !== undefined && ex.observeSeq === undefined) ex.observeSeq = msg.observe;
    if (msg.observe !== undefined) ex.observed = true;
    // Block2: collect this block and ask for the next one
    const b2 = msg.block2;
    if (b2 && Math.floor(msg.code / 32) === 2) {
      ex.received += msg.payloadLength;
      if (ex.received > this.cfg.COAP_MAX_TRANSFER) return this.complete(ex, { status: 'FAILED', error: 'response larger than COAP_MAX_TRANSFER' });
      ex.chunks.push(Buffer.from(msg.payload));
      if (b2.more) {
        ex.body = undefined;
        const next = blockOption(OptionNumber.BLOCK2, { num: b2.num + 1, more: false, szx: b2.szx });
        // follow-up block requests carry no Observe option (RFC 7959 §2.6)
        this.transmit(ex, this.requestOptions(ex, [next]).filter((o) => o.number !== OptionNumber.OBSERVE));
        return;
      }
    }
    const payload = ex.chunks.length ? Buffer.concat(ex.chunks) : Buffer.from(msg.payload);
    const success = Math.floor(msg.code / 32) === 2;
    const result: Partial<CommandResult> = { status: success ? 'SUCCESS' : 'FAILED', code: formatCode(msg.code) };
    if (payload.length) result.payload = payload.toString('base64');
    const cf = msg.contentFormat;
    if (cf !== undefined) result.contentFormat = cf;
    const path = this.pathOf(ex.cmd);
    if (success && payload.length && cf !== undefined) {
      const values = path ? this.server.decodeValues(cf, payload, path) : undefined;
      if (values) result.values = values;
    }
    const tokenHex = tokenKey(ex.token);
    if (success && ex.cmd.observe === 0 && ex.observed) {
      const saved = await this.store.saveObservation(tokenHex, {
        epi: ex.cmd.epi,
        path: path?.toString() ?? '/',
        contentFormat: cf ?? ex.cmd.accept,
        ttlSeconds: OBSERVATION_TTL_S,
      });
      if (saved) {
        this.metrics.observations.inc();
        result.token = tokenHex;
      } else {
        // the registration ended while the device answered: its notifications will get RST
        result.status = 'FAILED';
        result.error = 'the registration ended before the observation was recorded';
      }
    }
    // R-STORE-1 / R-OBS-2: the platform stores every value a device reports, so a Read
    // result and the value an Observe answers with go to dmp.data.v1 like notifications
    // (not when the registration ended meanwhile: only a live registration's data is accepted)
    const source = ex.cmd.method === 'GET' && success && result.status === 'SUCCESS' ? dataSourceOf(ex) : undefined;
    if (source && path && result.values && cf !== undefined) {
      void this.events
        .data({
          epi: ex.cmd.epi,
          ts: Date.now(),
          source,
          path: path.toString(),
          ...(ex.version !== undefined ? { version: ex.version } : {}),
          contentFormat: cf,
          ...(source === 'observe' && ex.observeSeq !== undefined ? { observeSeq: ex.observeSeq } : {}),
          values: result.values,
          raw: payload.toString('base64'),
        })
        .catch(() => undefined);
    }
    if (success && ex.cmd.observe === 1 && ex.cmd.token) {
      await this.store.deleteObservation(ex.cmd.token, ex.cmd.epi);
      this.metrics.observations.dec();
    }
    this.complete(ex, result);
  }

  private pathOf(cmd: DeviceCommand): LwM2mPath | undefined {
    try {
      return LwM2mPath.parse(`/${cmd.uriPath.join('/')}`);
    } catch {
      return undefined;
    }
  }

  private complete(ex: Exchange, result: Partial<CommandResult>): void {
    if (ex.done) return;
    ex.done = true;
    if (ex.timer) clearTimeout(ex.timer);
    this.byMid.delete(`${peerKey(ex.peer)}#${ex.mid}`);
    this.byToken.delete(tokenKey(ex.token));
    this.active.delete(ex.cmd.epi);
    void this.finish(ex.cmd, ex, result);
    const next = this.queues.get(ex.cmd.epi)?.shift();
    if (this.queues.get(ex.cmd.epi)?.length === 0) this.queues.delete(ex.cmd.epi);
    if (next) void this.start_(next).catch((e: unknown) => this.log.error({ err: String(e) }, 'downlink start failed'));
  }

  private async finish(cmd: DeviceCommand, _ex: Exchange | undefined, r: Partial<CommandResult>): Promise<void> {
    const status = r.status ?? 'FAILED';
    this.metrics.downlink.inc({ operation: cmd.operation, status });
    await this.events
      .commandResult({
        ...r,
        id: cmd.id,
        epi: cmd.epi,
        ts: Date.now(),
        gatewayId: this.cfg.GATEWAY_ID,
        operation: cmd.operation,
        status,
      })
      .catch((e: unknown) => this.log.error({ err: String(e) }, 'command result not published'));
  }
}
