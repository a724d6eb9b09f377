import dgram from 'node:dgram';
import {
  CoapCode,
  type CoapMessage,
  CoapType,
  ContentFormat as CoapCf,
  DedupCache,
  encode,
  formatCode,
  locationPathOptions,
  MidGenerator,
  OptionNumber,
  piggybacked,
  replyForParseError,
  rst,
  tokenKey,
  tryDecode,
  uintOption,
} from '@dmp/coap';
import type { EpnRejection } from '@dmp/identity';
import {
  type ContentFormatRegistry,
  isMultiNodeCodec,
  LwM2mPath,
  type ModelProvider,
  parseObjectLinks,
  parseRegisterQuery,
  parseUpdateQuery,
} from '@dmp/lwm2m';
import { Epi } from '@dmp/contracts';
import type { GatewayConfig, ListenAddress } from './config';
import { type EpnResolver, isForged } from './epn-resolver';
import type { GatewayEvents } from './events';
import type { GatewayMetrics } from './metrics';
import { RateLimiter } from './rate-limit';
import { type RegistrationStore, versionOfLocation } from './registration-store';
import { flattenNode } from './values';

export interface Peer {
  address: string;
  port: number;
  family: 'udp4' | 'udp6';
}

export const peerKey = (p: { address: string; port: number }): string =>
  p.address.includes(':') ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;

export function parsePeerKey(key: string): Peer | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(key) ?? /^([0-9.]+):(\d+)$/.exec(key);
  if (!m) return undefined;
  return { address: m[1]!, port: Number(m[2]), family: m[1]!.includes(':') ? 'udp6' : 'udp4' };
}

/** What a request handler answers: a response code, options and an optional payload. */
interface Reply {
  code: number;
  options?: ReturnType<typeof uintOption>[];
  payload?: Buffer;
  operation: string;
}

/** Hooks into the downlink side: responses/ACK/RST that belong to our own requests. */
export interface DownlinkHooks {
  /** Returns true when the message completed or advanced one of our exchanges. */
  onMessage(msg: CoapMessage, peer: Peer): boolean;
}

export interface BootstrapHooks {
  /** Handles POST /bs; resolves to the reply to send (2.04) and runs the rest asynchronously. */
  onBootstrapRequest(msg: CoapMessage, peer: Peer): Promise<Reply>;
}

export interface GatewayLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const UTF8 = new TextDecoder('utf-8', { fatal: false });

/**
 * The CoAP/LwM2M edge: UDP sockets, per-datagram protection (size, rate, parse errors
 * answered per RFC 7252), duplicate detection, and the registration interface
 * (register, update, de-register) plus notifications. Keeps no state that another
 * gateway instance needs: registrations live in Redis, events go to Kafka.
 */
export class CoapServer {
  private readonly sockets: Array<{ family: 'udp4' | 'udp6'; socket: dgram.Socket; address: ListenAddress }> = [];
  private readonly dedup: DedupCache<Buffer>;
  private readonly limiter: RateLimiter;
  readonly mids = new MidGenerator();
  downlink: DownlinkHooks | undefined;
  bootstrap: BootstrapHooks | undefined;

  constructor(
    private readonly cfg: GatewayConfig,
    private readonly listen: readonly ListenAddress[],
    private readonly store: RegistrationStore,
    private readonly events: GatewayEvents,
    private readonly metrics: GatewayMetrics,
    private readonly formats: ContentFormatRegistry,
    private readonly models: ModelProvider,
    private readonly log: GatewayLogger,
    private readonly identities: EpnResolver,
  ) {
    this.dedup = new DedupCache<Buffer>({ maxEntries: cfg.COAP_MAX_PEERS });
    this.limiter = new RateLimiter(cfg.COAP_RATE_PER_SEC, cfg.COAP_RATE_BURST, cfg.COAP_MAX_PEERS);
  }

  async start(): Promise<void> {
    for (const a of this.listen) {
      const socket = dgram.createSocket({ type: a.family, reuseAddr: false, recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: a.host, port: a.port, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      socket.on('error', (e) => this.log.error({ err: String(e) }, 'socket error'));
      socket.on('message', (buf, rinfo) => this.onDatagram(buf, { address: rinfo.address, port: rinfo.port, family: a.family }));
      this.sockets.push({ family: a.family, socket, address: { ...a, port: socket.address().port } });
    }
  }

  /** Bound addresses (ports resolved when configured as 0). */
  addresses(): ListenAddress[] {
    return this.sockets.map((s) => s.address);
  }

  async stop(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((r) => s.socket.close(() => r()))));
    this.sockets.length = 0;
  }

  /** Sends from the socket of the peer's address family (the one devices talk to, so NAT mappings hold). */
  send(buf: Uint8Array, peer: Peer, typeLabel: string): void {
    const s = this.sockets.find((x) => x.family === peer.family) ?? this.sockets[0];
    if (!s) return;
    s.socket.send(buf, peer.port, peer.address);
    this.metrics.datagramsOut.inc({ type: typeLabel });
  }

  // ------------------------------------------------------------------ per datagram

  private onDatagram(buf: Buffer, peer: Peer): void {
    if (buf.length > this.cfg.COAP_MAX_DATAGRAM) {
      this.metrics.rejects.inc({ reason: 'datagram_too_large' });
      return;
    }
    if (!this.limiter.take(peer.address)) {
      this.metrics.rejects.inc({ reason: 'rate_limited' });
      return;
    }
    const r = tryDecode(buf);
    if (!r.ok) {
      this.metrics.datagramsIn.inc({ type: 'malformed' });
      this.metrics.rejects.inc({ reason: `parse_${r.error.reason.toLowerCase()}` });
      const reply = replyForParseError(r.error, { nonMid: this.mids.next(), diagnostic: false });
      if (reply) this.send(reply, peer, reply.length > 4 ? 'ACK' : 'RST');
      return;
    }
    const msg = r.message;
    this.metrics.datagramsIn.inc({ type: msg.typeName });
    if (msg.type === CoapType.ACK || msg.type === CoapType.RST) {
      if (!this.downlink?.onMessage(msg, peer)) this.metrics.rejects.inc({ reason: 'unmatched_ack_rst' });
      return;
    }
    const key = peerKey(peer);
    if (msg.type === CoapType.CON) {
      const d = this.dedup.check(key, msg.mid, true);
      if (d.duplicate) {
        this.metrics.rejects.inc({ reason: 'duplicate' });
        if (d.response) this.send(d.response, peer, 'ACK');
        return;
      }
    } else if (this.dedup.check(key, msg.mid, false).duplicate) {
      this.metrics.rejects.inc({ reason: 'duplicate' });
      return;
    }
    if (msg.isEmpty) {
      // CoAP ping (empty CON) → RST; an empty NON is already rejected by the decoder
      this.send(rst(msg.mid), peer, 'RST');
      return;
    }
    const work = msg.isRequest ? this.onRequest(msg.clone(), peer, key, buf.length) : this.onResponse(msg.clone(), peer, key);
    work.catch((e: unknown) => {
      this.log.error({ err: e instanceof Error ? e.stack : String(e) }, 'uplink failed');
      this.metrics.rejects.inc({ reason: 'internal_error' });
      // let a retransmission be processed again instead of replaying nothing
      this.dedup.forget(key, msg.mid);
      if (msg.type === CoapType.CON) this.reply(msg, peer, key, { code: CoapCode.INTERNAL_SERVER_ERROR, operation: 'error' });
    });
  }

  private reply(req: CoapMessage, peer: Peer, key: string, r: Reply, requestBytes = 0): void {
    const init =
      req.type === CoapType.CON
        ? piggybacked(req, r.code, { options: r.options, payload: r.payload })
        : { type: CoapType.NON, code: r.code, mid: this.mids.next(), token: req.token, options: r.options, payload: r.payload };
    let bytes = encode(init);
    // amplification limit: never answer with more than 3× the request (+ a small constant)
    const limit = 3 * requestBytes + 64;
    if (r.payload && bytes.length > limit) {
      const room = Math.max(0, r.payload.length - (bytes.length - limit));
      bytes = encode({ ...init, payload: room > 0 ? r.payload.subarray(0, room) : undefined });
    }
    if (req.type === CoapType.CON) this.dedup.setResponse(key, req.mid, bytes);
    this.send(bytes, peer, req.type === CoapType.CON ? 'ACK' : 'NON');
    this.metrics.requests.inc({ operation: r.operation, code: formatCode(r.code) });
  }

  private async onRequest(msg: CoapMessage, peer: Peer, key: string, requestBytes: number): Promise<void> {
    const path = msg.uriPath;
    const t0 = process.hrtime.bigint();
    let r: Reply;
    if (path[0] === 'rd' && path.length === 1 && msg.code === CoapCode.POST) r = await this.register(msg, peer);
    else if (path[0] === 'rd' && path.length === 2 && msg.code === CoapCode.POST) r = await this.update(msg, peer, path[1]!);
    else if (path[0] === 'rd' && path.length === 2 && msg.code === CoapCode.DELETE) r = await this.deregister(path[1]!, peer);
    else if (path[0] === 'bs' && path.length === 1 && msg.code === CoapCode.POST && this.bootstrap) r = await this.bootstrap.onBootstrapRequest(msg, peer);
    else if (path[0] === 'dp' && path.length === 1 && msg.code === CoapCode.POST) r = await this.send_(msg, peer);
    else r = { code: path[0] === 'rd' || path[0] === 'bs' ? CoapCode.METHOD_NOT_ALLOWED : CoapCode.NOT_FOUND, operation: 'unknown' };
    if (r.operation === 'register' || r.operation === 'update' || r.operation === 'deregister') {
      this.metrics.registrationLatency.observe({ operation: r.operation }, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    this.reply(msg, peer, key, r, requestBytes);
  }

  private diag(code: number, operation: string, reason: string, text: string): Reply {
    this.metrics.rejects.inc({ reason });
    return { code, operation, payload: Buffer.from(text.slice(0, 120)) };
  }

  private busy(operation: string): Reply {
    this.metrics.rejects.inc({ reason: 'event_queue_full' });
    return { code: CoapCode.SERVICE_UNAVAILABLE, operation, options: [uintOption(OptionNumber.MAX_AGE, this.cfg.GATEWAY_RETRY_AFTER_S)] };
  }

  /** 4.03 for a Form A name that does not authenticate with its AppKey's password (counted `<op>_forged_<reason>`). */
  private forged(op: string, id: EpnRejection): Reply {
    return this.diag(CoapCode.FORBIDDEN, op, `${op}_forged_${id.reason.toLowerCase()}`, `forbidden: ${id.reason}`);
  }

  private async register(msg: CoapMessage, peer: Peer): Promise<Reply> {
    const op = 'register';
    let params;
    try {
      params = parseRegisterQuery(msg.uriQuery);
    } catch (e) {
      return this.diag(CoapCode.BAD_REQUEST, op, 'register_bad_query', (e as Error).message);
    }
    if (msg.contentFormat !== undefined && msg.contentFormat !== CoapCf.LINK_FORMAT) {
      return this.diag(CoapCode.UNSUPPORTED_CONTENT_FORMAT, op, 'register_bad_content_format', 'object links must be application/link-format');
    }
    const linksText = UTF8.decode(msg.payload);
    try {
      parseObjectLinks(linksText);
    } catch (e) {
      return this.diag(CoapCode.BAD_REQUEST, op, 'register_bad_links', (e as Error).message);
    }
    const id = await this.identities.resolve(params.endpoint);
    if (!id.ok) {
      if (isForged(id)) return this.forged(op, id);
      const code = this.cfg.GATEWAY_NO_EPI_CODE === '4.03' ? CoapCode.FORBIDDEN : CoapCode.BAD_REQUEST;
      return this.diag(code, op, `no_epi_${id.reason.toLowerCase()}`, `no EPI: ${id.reason}`);
    }
    if (!Epi.safeParse(id.epi).success) return this.diag(CoapCode.BAD_REQUEST, op, 'no_epi_bad_epi', 'no EPI: BAD_EPI');
    if (!this.events.canAccept()) return this.busy(op);
    const address = peerKey(peer);
    const now = Date.now();
    const out = await this.store.register({
      epi: id.epi,
      location: id.location,
      lifetime: params.lifetime,
      lwm2mVersion: params.lwm2mVersion,
      binding: params.binding,
      queueMode: params.queueMode,
      gatewayId: this.cfg.GATEWAY_ID,
      address,
      now,
      links: linksText,
      policy: this.cfg.GATEWAY_AUTH_POLICY,
      appKey: id.appKey,
    });
    if (out.status !== 'ok') return this.diag(CoapCode.FORBIDDEN, op, out.status === 'denied' ? 'register_denied' : 'register_not_allowed', 'forbidden');
    if (out.observationsRemoved > 0) this.metrics.observationsEnded.inc({ reason: 'registered' }, out.observationsRemoved);
    void this.events
      .device({
        type: 'registered',
        epi: id.epi,
        ts: now,
        gatewayId: this.cfg.GATEWAY_ID,
        address: { ip: peer.address, port: peer.port },
        endpoint: params.endpoint,
        location: id.location,
        lifetime: params.lifetime,
        lwm2mVersion: params.lwm2mVersion,
        binding: params.binding,
        links: linksText,
        replaced: out.replaced,
      })
      .catch(() => undefined);
    this.log.info(
      { event: 'register', epi: id.epi, ip: peer.address, port: peer.port, gatewayId: this.cfg.GATEWAY_ID, replaced: out.replaced, first: out.first },
      'connection',
    );
    return { code: CoapCode.CREATED, operation: op, options: locationPathOptions(['rd', id.location]) };
  }

  private epiOfLocation(location: string): string | undefined {
    const epi = location.split(';', 1)[0] ?? '';
    return Epi.safeParse(epi).success ? epi : undefined;
  }

  private async update(msg: CoapMessage, peer: Peer, location: string): Promise<Reply> {
    const op = 'update';
    const epi = this.epiOfLocation(location);
    if (!epi) return this.diag(CoapCode.NOT_FOUND, op, 'update_unknown', 'unknown registration');
    let params;
    try {
      params = parseUpdateQuery(msg.uriQuery);
    } catch (e) {
      return this.diag(CoapCode.BAD_REQUEST, op, 'update_bad_query', (e as Error).message);
    }
    if (params.updateName !== undefined) {
      // China Mobile DM firmware names itself again on Update (`epi=`, epn-formats.md): it must
      // authenticate like the Register name did and name the registration's own device
      const id = await this.identities.resolve(params.updateName);
      if (!id.ok) {
        if (isForged(id)) return this.forged(op, id);
        return this.diag(CoapCode.BAD_REQUEST, op, 'update_bad_epi_name', `epi: no EPI (${id.reason})`);
      }
      if (id.epi !== epi) return this.diag(CoapCode.FORBIDDEN, op, 'update_epi_mismatch', 'forbidden: epi names another device');
    }
    let links: string | undefined;
    if (msg.payloadLength > 0) {
      links = UTF8.decode(msg.payload);
      try {
        parseObjectLinks(links);
      } catch (e) {
        return this.diag(CoapCode.BAD_REQUEST, op, 'update_bad_links', (e as Error).message);
      }
    }
    if (!this.events.canAccept()) return this.busy(op);
    const now = Date.now();
    const address = peerKey(peer);
    const res = await this.store.update(epi, { now, lifetime: params.lifetime, binding: params.binding, links, gatewayId: this.cfg.GATEWAY_ID, address });
    if (!res) return this.diag(CoapCode.NOT_FOUND, op, 'update_unknown', 'unknown or expired registration');
    const version = versionOfLocation(res.location);
    void this.events
      .device({
        type: 'updated',
        epi,
        ts: now,
        gatewayId: this.cfg.GATEWAY_ID,
        address: { ip: peer.address, port: peer.port },
        lifetime: res.lifetime,
        ...(params.binding ? { binding: params.binding } : {}),
        ...(links !== undefined ? { links } : {}),
        ...(version !== undefined ? { version } : {}),
      })
      .catch(() => undefined);
    this.log.info({ event: 'update', epi, ip: peer.address, port: peer.port, gatewayId: this.cfg.GATEWAY_ID }, 'connection');
    return { code: CoapCode.CHANGED, operation: op };
  }

  private async deregister(location: string, peer: Peer): Promise<Reply> {
    const op = 'deregister';
    const epi = this.epiOfLocation(location);
    if (!epi) return this.diag(CoapCode.NOT_FOUND, op, 'deregister_unknown', 'unknown registration');
    if (!this.events.canAccept()) return this.busy(op);
    const res = await this.store.deregister(epi);
    if (!res) return this.diag(CoapCode.NOT_FOUND, op, 'deregister_unknown', 'unknown registration');
    if (res.observationsRemoved > 0) this.metrics.observationsEnded.inc({ reason: 'deregistered' }, res.observationsRemoved);
    void this.events
      .device({ type: 'deregistered', epi, ts: Date.now(), gatewayId: this.cfg.GATEWAY_ID, address: { ip: peer.address, port: peer.port } })
      .catch(() => undefined);
    this.log.info({ event: 'deregister', epi, ip: peer.address, port: peer.port, gatewayId: this.cfg.GATEWAY_ID }, 'connection');
    return { code: CoapCode.DELETED, operation: op };
  }

  /** LwM2M 1.1 Send (POST /dp): values pushed by the device, identified by its address. */
  private async send_(msg: CoapMessage, peer: Peer): Promise<Reply> {
    const op = 'send';
    const epi = await this.store.epiAt(peerKey(peer));
    if (!epi) return this.diag(CoapCode.NOT_FOUND, op, 'send_unknown_source', 'no registration for this address');
    const cf = msg.contentFormat;
    if (cf === undefined || !this.formats.has(cf)) return this.diag(CoapCode.UNSUPPORTED_CONTENT_FORMAT, op, 'send_bad_content_format', 'unsupported content format');
    if (!this.events.canAccept()) return this.busy(op);
    const values = this.decodeValues(cf, msg.payload, LwM2mPath.ROOT);
    if (!values) return this.diag(CoapCode.BAD_REQUEST, op, 'send_bad_payload', 'payload does not decode');
    const now = Date.now();
    // R-OFF-2: a registration whose lifetime passed takes no data (4.04); one that ended after the
    // address lookup (a De-register processed meanwhile) does: the datagram came first
    const live = await this.awake(epi, peer, now);
    if (live.expired) return this.diag(CoapCode.NOT_FOUND, op, 'send_unknown_source', 'registration expired');
    const version = versionOfLocation(live.location);
    void this.events
      .data({
        epi,
        ts: now,
        source: 'send',
        path: '/',
        ...(version !== undefined ? { version } : {}),
        contentFormat: cf,
        values,
        raw: Buffer.from(msg.payload).toString('base64'),
      })
      .catch(() => undefined);
    return { code: CoapCode.CHANGED, operation: op };
  }

  /**
   * Decodes a payload into flat values (undefined when it does not decode). At the root
   * (Send, composite) the payload carries several paths: multi-node formats only.
   */
  decodeValues(cf: number, payload: Uint8Array, path: LwM2mPath): ReturnType<typeof flattenNode> | undefined {
    try {
      if (path.isRoot()) {
        const codec = this.formats.get(cf);
        if (!codec || !isMultiNodeCodec(codec)) return undefined;
        const nodes = codec.decodeNodes(payload, undefined, this.models);
        return [...nodes].flatMap(([p, node]) => flattenNode(LwM2mPath.parse(p), node));
      }
      const node = this.formats.decode(cf, payload, path, this.models);
      return flattenNode(path, node);
    } catch {
      return undefined;
    }
  }

  /**
   * Any uplink from a registered device: refresh address/owner; publish `awake` when due.
   * Resolves to whether the registration is live, and its location (`EPI;version`).
   */
  async awake(epi: string, peer: Peer, now = Date.now()): Promise<{ live: boolean; expired: boolean; location: string }> {
    const t = await this.store.touch(epi, now, this.cfg.GATEWAY_ID, peerKey(peer), this.cfg.GATEWAY_AWAKE_INTERVAL_S * 1000);
    if (t.publish) {
      void this.events
        .device({ type: 'awake', epi, ts: now, gatewayId: this.cfg.GATEWAY_ID, address: { ip: peer.address, port: peer.port } })
        .catch(() => undefined);
    }
    return t;
  }

  /** A CON/NON response that is not an ACK: a separate response to our request, or a notification. */
  private async onResponse(msg: CoapMessage, peer: Peer, key: string): Promise<void> {
    if (this.downlink?.onMessage(msg, peer)) {
      if (msg.type === CoapType.CON) this.ackEmpty(msg, peer, key);
      return;
    }
    const tokenHex = tokenKey(msg.token);
    const obs = msg.token.length ? await this.store.observation(tokenHex) : undefined;
    if (!obs) {
      // unknown token: Reset, so the device cancels the observation (RFC 7641 §3.6)
      this.metrics.rejects.inc({ reason: 'unknown_token' });
      this.reset(msg, peer, key);
      return;
    }
    const now = Date.now();
    const live = await this.awake(obs.epi, peer, now);
    // The observation existed when this notification was looked up, and observations end in the
    // same script as their registration: the device was registered when its datagram arrived
    // (a De-register handled meanwhile does not void it). A registration whose lifetime has
    // passed but that is not swept yet takes no data (R-OFF-2).
    if (live.expired) {
      this.metrics.rejects.inc({ reason: 'notify_registration_expired' });
      await this.store.deleteObservation(tokenHex, obs.epi);
      this.metrics.observationsEnded.inc({ reason: 'expired' });
      this.reset(msg, peer, key);
      return;
    }
    if (msg.type === CoapType.CON) this.ackEmpty(msg, peer, key);
    if (Math.floor(msg.code / 32) !== 2) {
      // an error notification ends the observation
      await this.store.deleteObservation(tokenHex, obs.epi);
      this.metrics.observations.dec();
      this.metrics.requests.inc({ operation: 'notify', code: formatCode(msg.code) });
      return;
    }
    const cf = msg.contentFormat ?? obs.contentFormat ?? CoapCf.TEXT_PLAIN;
    const path = LwM2mPath.parse(obs.path);
    const values = this.decodeValues(cf, msg.payload, path);
    if (!values) this.metrics.rejects.inc({ reason: 'notify_bad_payload' });
    const version = versionOfLocation(live.location);
    void this.events
      .data({
        epi: obs.epi,
        ts: now,
        source: 'notify',
        path: obs.path,
        ...(version !== undefined ? { version } : {}),
        contentFormat: cf,
        ...(msg.observe !== undefined ? { observeSeq: msg.observe } : {}),
        values: values ?? [],
        raw: Buffer.from(msg.payload).toString('base64'),
      })
      .catch(() => undefined);
    this.metrics.requests.inc({ operation: 'notify', code: formatCode(msg.code) });
  }

  private reset(msg: CoapMessage, peer: Peer, key: string): void {
    const bytes = rst(msg.mid);
    if (msg.type === CoapType.CON) this.dedup.setResponse(key, msg.mid, bytes);
    this.send(bytes, peer, 'RST');
  }

  private ackEmpty(msg: CoapMessage, peer: Peer, key: string): void {
    const bytes = encode({ type: CoapType.ACK, code: CoapCode.EMPTY, mid: msg.mid });
    this.dedup.setResponse(key, msg.mid, bytes);
    this.send(bytes, peer, 'ACK');
  }
}
