import {
  CoapCode,
  type CoapMessage,
  type CoapOption,
  CoapType,
  encode,
  OptionNumber,
  retransmissionSchedule,
  stringOption,
  TokenGenerator,
  tokenKey,
  uintOption,
} from '@dmp/coap';
import type { Peer } from './coap-server';
import { peerKey } from './coap-server';

/** The sending side the requester needs: a socket and the gateway's message-id generator. */
export interface RequestTransport {
  send(buf: Uint8Array, peer: Peer, typeLabel: string): void;
  readonly mids: { next(): number };
}

export interface PeerRequest {
  /** CoAP method code (CoapCode.GET / PUT / POST / DELETE ...). */
  code: number;
  uriPath: readonly string[];
  uriQuery?: readonly string[];
  contentFormat?: number;
  accept?: number;
  payload?: Uint8Array;
}

export interface PeerResponse {
  code: number;
  contentFormat: number | undefined;
  payload: Buffer;
}

export type RequestFailureReason = 'TIMEOUT' | 'RESET' | 'CANCELLED';

export class RequestFailure extends Error {
  constructor(
    readonly reason: RequestFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'RequestFailure';
  }
}

export interface RequesterOptions {
  ackTimeoutMs: number;
  maxRetransmit: number;
  /** How long to wait for a separate response after an empty ACK (default 4 × ackTimeoutMs, ≥ 5 s). */
  separateResponseTimeoutMs?: number;
  /** Called on each retransmission (metrics). */
  onRetransmit?: () => void;
  random?: () => number;
}

interface Pending {
  peer: Peer;
  token: Buffer;
  midKey: string;
  timer: NodeJS.Timeout | undefined;
  resolve: (r: PeerResponse) => void;
  reject: (e: RequestFailure) => void;
  done: boolean;
}

/**
 * Sends one CON request to a peer and resolves with its response: retransmits on the
 * RFC 7252 §4.2 schedule (ACK_TIMEOUT × random factor, doubling, MAX_RETRANSMIT times),
 * accepts a piggybacked response in the ACK or an empty ACK followed by a separate
 * response (matched by token, RFC 7252 §5.2.2), fails on Reset or when the schedule is
 * exhausted. No Block-wise transfer: meant for small requests such as bootstrap writes.
 *
 * The CoAP server hands every ACK / RST and every non-request message to
 * {@link onMessage}; it returns true when the message belonged to one of our requests
 * (the server then acknowledges a CON separate response itself).
 */
export class Requester {
  private readonly tokens = new TokenGenerator({ length: 8 });
  private readonly byMid = new Map<string, Pending>();
  private readonly byToken = new Map<string, Pending>();

  constructor(
    private readonly transport: RequestTransport,
    private readonly opts: RequesterOptions,
  ) {}

  /** Number of requests waiting for an answer. */
  get outstanding(): number {
    return this.byToken.size;
  }

  request(peer: Peer, req: PeerRequest): Promise<PeerResponse> {
    return new Promise<PeerResponse>((resolve, reject) => {
      const token = Buffer.from(this.tokens.next());
      const mid = this.transport.mids.next();
      const options: CoapOption[] = [
        ...req.uriPath.map((p) => stringOption(OptionNumber.URI_PATH, p)),
        ...(req.uriQuery ?? []).map((q) => stringOption(OptionNumber.URI_QUERY, q)),
      ];
      if (req.contentFormat !== undefined) options.push(uintOption(OptionNumber.CONTENT_FORMAT, req.contentFormat));
      if (req.accept !== undefined) options.push(uintOption(OptionNumber.ACCEPT, req.accept));
      const bytes = encode({ type: CoapType.CON, code: req.code, mid, token, options, payload: req.payload });
      const p: Pending = { peer, token, midKey: `${peerKey(peer)}#${mid}`, timer: undefined, resolve, reject, done: false };
      this.byMid.set(p.midKey, p);
      this.byToken.set(tokenKey(token), p);
      const schedule = retransmissionSchedule({ ackTimeoutMs: this.opts.ackTimeoutMs, maxRetransmit: this.opts.maxRetransmit }, this.opts.random);
      let attempt = 0;
      const fire = () => {
        if (p.done) return;
        if (attempt > 0) this.opts.onRetransmit?.();
        this.transport.send(bytes, peer, 'CON');
        const wait = schedule[attempt] ?? 0;
        const last = attempt >= schedule.length - 1;
        attempt++;
        p.timer = last ? setTimeout(() => this.fail(p, 'TIMEOUT', `no answer after ${attempt} transmissions`), wait) : setTimeout(fire, wait);
      };
      fire();
    });
  }

  /** Returns true when `msg` completed or advanced one of our requests. */
  onMessage(msg: CoapMessage, peer: Peer): boolean {
    if (msg.type === CoapType.ACK || msg.type === CoapType.RST) {
      const p = this.byMid.get(`${peerKey(peer)}#${msg.mid}`);
      if (!p || p.done) return false;
      this.byMid.delete(p.midKey);
      if (p.timer) clearTimeout(p.timer);
      if (msg.type === CoapType.RST) {
        this.fail(p, 'RESET', 'peer answered with Reset');
        return true;
      }
      if (msg.isEmpty) {
        const wait = this.opts.separateResponseTimeoutMs ?? Math.max(5000, 4 * this.opts.ackTimeoutMs);
        p.timer = setTimeout(() => this.fail(p, 'TIMEOUT', 'no separate response'), wait);
        return true;
      }
      this.succeed(p, msg);
      return true;
    }
    if (!msg.isResponse || msg.code === CoapCode.EMPTY) return false;
    const p = this.byToken.get(tokenKey(msg.token));
    if (!p || p.done || peerKey(p.peer) !== peerKey(peer)) return false;
    this.succeed(p, msg);
    return true;
  }

  /** Fails every outstanding request (shutdown). */
  close(): void {
    for (const p of [...this.byToken.values()]) this.fail(p, 'CANCELLED', 'requester closed');
  }

  private succeed(p: Pending, msg: CoapMessage): void {
    this.end(p);
    p.resolve({ code: msg.code, contentFormat: msg.contentFormat, payload: Buffer.from(msg.payload) });
  }

  private fail(p: Pending, reason: RequestFailureReason, message: string): void {
    if (p.done) return;
    this.end(p);
    p.reject(new RequestFailure(reason, message));
  }

  private end(p: Pending): void {
    p.done = true;
    if (p.timer) clearTimeout(p.timer);
    this.byMid.delete(p.midKey);
    this.byToken.delete(tokenKey(p.token));
  }
}
