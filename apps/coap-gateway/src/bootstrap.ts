/**
 * LwM2M Bootstrap (spec §7.1, §8.2; R-BS-1..3): the gateway acts as the Bootstrap Server.
 *
 *   device                     gateway
 *   POST /bs?ep=EPN   ───────▶  EPN → EPI (4.00 without one), 2.04
 *                     ◀───────  DELETE /0, DELETE /1            (Bootstrap-Delete, 2.02)
 *                     ◀───────  PUT /0/{i} Security (TLV)        (Bootstrap-Write, 2.04)
 *                     ◀───────  PUT /1/{j} Server (TLV)          (Bootstrap-Write, 2.04)
 *                     ◀───────  POST /bs                         (Bootstrap-Finish, 2.04)
 *   POST /rd?ep=EPN   ───────▶  the LwM2M server it was given
 *
 * Each step is a CON request with RFC 7252 retransmission ({@link Requester}). The
 * server account comes from a bootstrap configuration in Redis, looked up per EPI, then
 * per AppKey, then the default, then `BOOTSTRAP_DEFAULT_SERVERS`; the server among the
 * configured pool is chosen by weighted rendezvous hashing of the EPI ({@link assignServer}).
 *
 * Redis layout:
 *   dmp:bootstrap:epi:{epi}       string  JSON BootstrapConfig for one device
 *   dmp:bootstrap:appkey:{key}    string  JSON BootstrapConfig for every device of an AppKey
 *   dmp:bootstrap:default         string  JSON BootstrapConfig for everyone else
 *   dmp:bs:{epi}                  hash    last bootstrap: status, step, code, error, server,
 *                                          source, endpoint, gw, ip, port, started, ts, ms
 */
import { CoapCode, type CoapMessage, ContentFormat as CoapCf, formatCode } from '@dmp/coap';
import { BootstrapConfig, BootstrapServerUri, Epi } from '@dmp/contracts';
import type { EpnParseResult } from '@dmp/identity';
import {
  bootstrapDeleteRequest,
  bootstrapFinishRequest,
  bootstrapWriteRequest,
  type ContentFormatRegistry,
  type Lwm2mRequest,
  type ModelProvider,
  newObjectInstance,
  newSingleResource,
  type LwM2mObjectInstance,
  parseBootstrapQuery,
} from '@dmp/lwm2m';
import type { Redis } from '@dmp/redis';
import { Counter, type Registry } from 'prom-client';
import { assignServer } from './assignment';
import type { BootstrapHooks, GatewayLogger, Peer } from './coap-server';
import { type PeerRequest, type PeerResponse, RequestFailure } from './requester';
import { isForged } from './epn-resolver';

type Reply = Awaited<ReturnType<BootstrapHooks['onBootstrapRequest']>>;

export const bootstrapKeys = {
  epi: (epi: string) => `dmp:bootstrap:epi:${epi}`,
  appKey: (appKey: string) => `dmp:bootstrap:appkey:${appKey}`,
  default: 'dmp:bootstrap:default',
  outcome: (epi: string) => `dmp:bs:${epi}`,
};

// ------------------------------------------------------------------ configuration

const ServerUri = BootstrapServerUri;
export { BootstrapConfig };

export type ConfigSource = 'epi' | 'appkey' | 'default' | 'env';

export interface BootstrapSettings {
  /** Pool used when Redis has no configuration: `uri` or `uri|weight` entries. */
  defaultServers: readonly string[];
  lifetime: number;
  binding: string;
  shortServerId: number;
  securityInstanceId: number;
  serverInstanceId: number;
  /** Bootstrap-Delete targets sent before the writes, in order (e.g. ['/0', '/1'] or ['/']). */
  deletePaths: readonly string[];
  /** Seconds `dmp:bs:{epi}` is kept. */
  resultTtlSeconds: number;
  gatewayId: string;
  noEpiCode: '4.00' | '4.03';
}

/** Parses `BOOTSTRAP_DEFAULT_SERVERS` entries (`coap://h:5683` or `coap://h:5683|3`). */
export function parseServerList(entries: readonly string[]): BootstrapConfig['servers'] {
  return entries.map((e) => {
    const [uri = '', w] = e.split('|');
    const weight = w === undefined ? undefined : Number(w);
    if (weight !== undefined && !(weight > 0)) throw new Error(`bad weight in "${e}"`);
    return { uri: ServerUri.parse(uri.trim()), ...(weight !== undefined ? { weight } : {}) };
  });
}

export interface ResolvedConfig {
  source: ConfigSource;
  config: BootstrapConfig;
  /** Keys whose value was present but not a valid BootstrapConfig (skipped). */
  invalid: string[];
}

/**
 * Picks the most specific configuration: per EPI, else per AppKey, else the default key,
 * else the env pool. A present but invalid value is skipped (and reported) so that one
 * bad entry degrades to the next level instead of failing every bootstrap.
 */
export async function resolveBootstrapConfig(
  mget: (keys: string[]) => Promise<Array<string | null>>,
  epi: string,
  appKey: string | undefined,
  fallback: BootstrapConfig,
): Promise<ResolvedConfig> {
  const levels: Array<[ConfigSource, string]> = [['epi', bootstrapKeys.epi(epi)]];
  if (appKey) levels.push(['appkey', bootstrapKeys.appKey(appKey)]);
  levels.push(['default', bootstrapKeys.default]);
  const values = await mget(levels.map(([, k]) => k));
  const invalid: string[] = [];
  for (let i = 0; i < levels.length; i++) {
    const raw = values[i];
    if (raw === null || raw === undefined) continue;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      invalid.push(levels[i]![1]);
      continue;
    }
    const parsed = BootstrapConfig.safeParse(json);
    if (parsed.success) return { source: levels[i]![0], config: parsed.data, invalid };
    invalid.push(levels[i]![1]);
  }
  return { source: 'env', config: fallback, invalid };
}

export interface BootstrapPlan {
  serverUri: string;
  deletes: Lwm2mRequest[];
  writes: Lwm2mRequest[];
  finish: Lwm2mRequest;
}

/** The Security (/0) and Server (/1) instances written for one device (spec §8.2.2). */
export function accountInstances(serverUri: string, cfg: BootstrapConfig, s: BootstrapSettings): { security: LwM2mObjectInstance; server: LwM2mObjectInstance } {
  const ssid = cfg.shortServerId ?? s.shortServerId;
  const psk = cfg.securityMode === 'psk';
  const security = newObjectInstance(cfg.securityInstanceId ?? s.securityInstanceId, [
    newSingleResource(0, 'STRING', serverUri),
    newSingleResource(1, 'BOOLEAN', false),
    newSingleResource(2, 'INTEGER', psk ? 0 : 3),
    newSingleResource(3, 'OPAQUE', psk ? new Uint8Array(Buffer.from(cfg.pskIdentity ?? '', 'utf8')) : new Uint8Array(0)),
    newSingleResource(4, 'OPAQUE', new Uint8Array(0)),
    newSingleResource(5, 'OPAQUE', psk ? new Uint8Array(Buffer.from(cfg.pskKey ?? '', 'base64')) : new Uint8Array(0)),
    newSingleResource(10, 'INTEGER', ssid),
  ]);
  const server = newObjectInstance(cfg.serverInstanceId ?? s.serverInstanceId, [
    newSingleResource(0, 'INTEGER', ssid),
    newSingleResource(1, 'INTEGER', cfg.lifetime ?? s.lifetime),
    newSingleResource(6, 'BOOLEAN', true),
    newSingleResource(7, 'STRING', cfg.binding ?? s.binding),
  ]);
  return { security, server };
}

/** Requests of one bootstrap session, or undefined when the pool is empty. */
export function bootstrapPlan(
  epi: string,
  cfg: BootstrapConfig,
  s: BootstrapSettings,
  ctx: { models: ModelProvider; formats: ContentFormatRegistry },
  format?: number,
): BootstrapPlan | undefined {
  const server = assignServer(epi, cfg.servers);
  if (!server) return undefined;
  const { security, server: account } = accountInstances(server.uri, cfg, s);
  const opts = format !== undefined ? { format } : undefined;
  return {
    serverUri: server.uri,
    deletes: s.deletePaths.map((p) => bootstrapDeleteRequest(p)),
    writes: [
      bootstrapWriteRequest(ctx, `/0/${security.id}`, security, opts),
      bootstrapWriteRequest(ctx, `/1/${account.id}`, account, opts),
    ],
    finish: bootstrapFinishRequest(),
  };
}

// ------------------------------------------------------------------ service

export type BootstrapOutcome = 'success' | 'failed' | 'timeout' | 'reset' | 'superseded' | 'error';

/** Sends CON requests to a peer (the gateway's {@link Requester}). */
export interface PeerRequester {
  request(peer: Peer, req: PeerRequest): Promise<PeerResponse>;
}

export interface BootstrapStore {
  mget(keys: string[]): Promise<Array<string | null>>;
  saveOutcome(epi: string, fields: Record<string, string>, ttlSeconds: number): Promise<void>;
}

/** EPN → identity with the AppKey's Form A settings ({@link EpnResolver}). */
export interface EpnIdentifier {
  resolve(epn: string): Promise<EpnParseResult>;
}

/** {@link BootstrapStore} over Redis. */
export class RedisBootstrapStore implements BootstrapStore {
  constructor(private readonly redis: Redis) {}

  mget(keys: string[]): Promise<Array<string | null>> {
    return this.redis.mget(keys);
  }

  async saveOutcome(epi: string, fields: Record<string, string>, ttlSeconds: number): Promise<void> {
    const key = bootstrapKeys.outcome(epi);
    await this.redis.multi().del(key).hset(key, fields).expire(key, ttlSeconds).exec();
  }
}

export interface BootstrapResult {
  epi: string;
  outcome: BootstrapOutcome;
  serverUri?: string;
  source?: ConfigSource;
  step?: string;
  code?: string;
  error?: string;
}

interface Session {
  id: number;
  cancelled: boolean;
}

const SUCCESS: Record<string, number[]> = {
  'bootstrap-delete': [CoapCode.DELETED, CoapCode.NOT_FOUND],
  'bootstrap-write': [CoapCode.CHANGED, CoapCode.CREATED],
  'bootstrap-finish': [CoapCode.CHANGED],
};

/**
 * Handles `POST /bs` and runs the bootstrap session that follows it. One session per EPI
 * at a time: a new Bootstrap-Request from the same device supersedes the running one.
 */
export class BootstrapService implements BootstrapHooks {
  private readonly sessions = new Map<string, Session>();
  private nextId = 1;
  private readonly outcomes: Counter<'outcome'>;
  private readonly fallback: BootstrapConfig;
  /** Resolves when every started session has recorded its outcome (tests, shutdown). */
  readonly running = new Set<Promise<BootstrapResult>>();

  constructor(
    private readonly settings: BootstrapSettings,
    private readonly store: BootstrapStore,
    private readonly identities: EpnIdentifier,
    private readonly requester: PeerRequester,
    private readonly ctx: { models: ModelProvider; formats: ContentFormatRegistry },
    registry: Registry,
    private readonly log: GatewayLogger,
  ) {
    this.fallback = { servers: parseServerList(settings.defaultServers), securityMode: 'nosec' };
    const existing = registry.getSingleMetric('dmp_gateway_bootstrap_total');
    this.outcomes =
      (existing as Counter<'outcome'> | undefined) ??
      new Counter({ name: 'dmp_gateway_bootstrap_total', help: 'Bootstrap sessions by outcome', labelNames: ['outcome'], registers: [registry] });
  }

  async onBootstrapRequest(msg: CoapMessage, peer: Peer): Promise<Reply> {
    const op = 'bootstrap';
    let params;
    try {
      params = parseBootstrapQuery(msg.uriQuery);
    } catch (e) {
      return { code: CoapCode.BAD_REQUEST, operation: op, payload: Buffer.from((e as Error).message.slice(0, 120)) };
    }
    const id = await this.identities.resolve(params.endpoint);
    const noEpi = this.settings.noEpiCode === '4.03' ? CoapCode.FORBIDDEN : CoapCode.BAD_REQUEST;
    if (!id.ok && isForged(id)) return { code: CoapCode.FORBIDDEN, operation: op, payload: Buffer.from(`forbidden: ${id.reason}`) };
    if (!id.ok) return { code: noEpi, operation: op, payload: Buffer.from(`no EPI: ${id.reason}`) };
    if (!Epi.safeParse(id.epi).success) return { code: noEpi, operation: op, payload: Buffer.from('no EPI: BAD_EPI') };

    const previous = this.sessions.get(id.epi);
    if (previous) previous.cancelled = true;
    const session: Session = { id: this.nextId++, cancelled: false };
    this.sessions.set(id.epi, session);
    const format = params.preferredContentFormat !== undefined && this.ctx.formats.has(params.preferredContentFormat) ? params.preferredContentFormat : undefined;
    // start after the 2.04 has been sent (the server replies when this promise resolves)
    const run = new Promise<BootstrapResult>((resolve) => {
      setImmediate(() => {
        this.run(session, id.epi, id.appKey, params.endpoint, peer, format).then(resolve, (e: unknown) =>
          resolve({ epi: id.epi, outcome: 'error', error: e instanceof Error ? e.message : String(e) }),
        );
      });
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return { code: CoapCode.CHANGED, operation: op };
  }

  private async run(session: Session, epi: string, appKey: string | undefined, endpoint: string, peer: Peer, format: number | undefined): Promise<BootstrapResult> {
    const started = Date.now();
    let result: BootstrapResult;
    try {
      result = await this.exchange(session, epi, appKey, peer, format);
    } catch (e) {
      result = { epi, outcome: 'error', error: e instanceof Error ? e.message : String(e) };
    }
    if (this.sessions.get(epi) === session) this.sessions.delete(epi);
    const ts = Date.now();
    this.outcomes.inc({ outcome: result.outcome });
    const fields: Record<string, string> = {
      status: result.outcome,
      endpoint,
      gw: this.settings.gatewayId,
      ip: peer.address,
      port: String(peer.port),
      started: String(started),
      ts: String(ts),
      ms: String(ts - started),
    };
    if (result.serverUri) fields['server'] = result.serverUri;
    if (result.source) fields['source'] = result.source;
    if (result.step) fields['step'] = result.step;
    if (result.code) fields['code'] = result.code;
    if (result.error) fields['error'] = result.error.slice(0, 200);
    // a superseded session does not overwrite the record of the one that replaced it
    if (result.outcome !== 'superseded') {
      await this.store.saveOutcome(epi, fields, this.settings.resultTtlSeconds).catch((e: unknown) => this.log.error({ err: String(e), epi }, 'bootstrap outcome not saved'));
    }
    const line = { event: 'bootstrap', epi, outcome: result.outcome, server: result.serverUri, source: result.source, step: result.step, code: result.code, error: result.error, ip: peer.address, port: peer.port, gatewayId: this.settings.gatewayId, ms: ts - started };
    if (result.outcome === 'success') this.log.info(line, 'bootstrap');
    else this.log.warn(line, 'bootstrap');
    return result;
  }

  private async exchange(session: Session, epi: string, appKey: string | undefined, peer: Peer, format: number | undefined): Promise<BootstrapResult> {
    const resolved = await resolveBootstrapConfig((k) => this.store.mget(k), epi, appKey, this.fallback);
    if (resolved.invalid.length) this.log.warn({ epi, keys: resolved.invalid }, 'invalid bootstrap configuration skipped');
    const plan = bootstrapPlan(epi, resolved.config, this.settings, this.ctx, format);
    if (!plan) return { epi, outcome: 'error', source: resolved.source, error: 'no server in the bootstrap configuration' };
    const base = { epi, serverUri: plan.serverUri, source: resolved.source };
    for (const req of [...plan.deletes, ...plan.writes, plan.finish]) {
      const step = `${req.operation} ${req.path.toString()}`;
      if (session.cancelled) return { ...base, outcome: 'superseded', step };
      let res: PeerResponse;
      try {
        res = await this.requester.request(peer, toPeerRequest(req));
      } catch (e) {
        if (e instanceof RequestFailure) return { ...base, outcome: e.reason === 'RESET' ? 'reset' : e.reason === 'TIMEOUT' ? 'timeout' : 'error', step, error: e.message };
        throw e;
      }
      if (!(SUCCESS[req.operation] ?? []).includes(res.code)) {
        const diag = res.payload.length && (res.contentFormat === undefined || res.contentFormat === CoapCf.TEXT_PLAIN) ? res.payload.toString('utf8') : undefined;
        return { ...base, outcome: 'failed', step, code: formatCode(res.code), ...(diag ? { error: diag } : {}) };
      }
    }
    return { ...base, outcome: 'success' };
  }

  /** Waits (bounded) for running sessions, e.g. on shutdown. */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }
}

const METHOD = { GET: CoapCode.GET, PUT: CoapCode.PUT, POST: CoapCode.POST, DELETE: CoapCode.DELETE } as const;

export function toPeerRequest(req: Lwm2mRequest): PeerRequest {
  return {
    code: METHOD[req.method],
    uriPath: req.uriPath,
    uriQuery: req.uriQuery,
    ...(req.contentFormat !== undefined ? { contentFormat: req.contentFormat } : {}),
    ...(req.accept !== undefined ? { accept: req.accept } : {}),
    ...(req.payload !== undefined ? { payload: req.payload } : {}),
  };
}
