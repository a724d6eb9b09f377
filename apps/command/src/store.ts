// Redis layout of the command service (next to the gateway's, decision 0005 / 0008):
//
//   dmp:op:{id}             hash  epi, op, path, status, code, error, reason, content (JSON), cf,
//                                 token, gw, rep (replica waiting for it), queue (0/1), cmd (DeviceCommand JSON), seq, createdAt,
//                                 updatedAt, expiresAt   — TTL COMMAND_OP_TTL_S (+ queue life)
//   dmp:cmdq:{epi}          zset  queued operation ids, score = seq (creation order; a command
//                                 put back after a timeout keeps its place)
//   dmp:cmdq:{epi}:inflight set   ids taken from the queue and sent, result not yet in
//   dmp:cmdq:seq            string global sequence for queue order
//   dmp:ver:{epi}           string last LwM2M version the device registered with (written on its
//                                 `registered` event; default content format of queued commands
//                                 once the registration is gone) — TTL 30 d
//   dmp:gw:{id}             string the gateway's heartbeat (written by the gateway, read here)
//   dmp:cmd:done:{replica}  channel results applied by another replica for this replica's waiters
import { defineScript, type Redis, type ScriptRunner } from '@dmp/redis';

export const opKeys = {
  op: (id: string) => `dmp:op:${id}`,
  queue: (epi: string) => `dmp:cmdq:${epi}`,
  inflight: (epi: string) => `dmp:cmdq:${epi}:inflight`,
  seq: 'dmp:cmdq:seq',
  reg: (epi: string) => `dmp:reg:${epi}`,
  known: (epi: string) => `dmp:known:${epi}`,
  obs: (token: string) => `dmp:obs:${token}`,
  obsByEpi: (epi: string) => `dmp:obs-by-epi:${epi}`,
  version: (epi: string) => `dmp:ver:${epi}`,
  gateway: (gatewayId: string) => `dmp:gw:${gatewayId}`,
  done: (replica: string) => `dmp:cmd:done:${replica}`,
};

/** Life of `dmp:ver:{epi}`: as long as the longest allowed queue life (COMMAND_QUEUE_TTL_MS ≤ 30 d). */
export const VERSION_TTL_S = 30 * 86_400;

export const OpStatus = ['PENDING', 'QUEUED', 'SENT', 'SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED'] as const;
export type OpStatus = (typeof OpStatus)[number];
export const FINAL: ReadonlySet<OpStatus> = new Set(['SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED']);
export const OPEN = 'PENDING,QUEUED,SENT';

// KEYS: op, queue, inflight
// ARGV: id, allowed current statuses (csv), new status, ttl s, queue action ('' | 'add' | 'rem'),
//       queue score (for add), inflight action ('' | 'rem'), field, value, ...
// → {1, new} when applied, {0, current} when the operation is not in an allowed status
export const SET_STATE = defineScript(
  'command-set-state',
  3,
  `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {0, ''} end
local ok = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == cur then ok = true end end
if not ok then return {0, cur} end
redis.call('HSET', KEYS[1], 'status', ARGV[3])
for i = 8, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
if ARGV[5] == 'add' then redis.call('ZADD', KEYS[2], tonumber(ARGV[6]), ARGV[1]) end
if ARGV[5] == 'rem' then redis.call('ZREM', KEYS[2], ARGV[1]) end
if ARGV[7] == 'rem' then redis.call('SREM', KEYS[3], ARGV[1]) end
return {1, ARGV[3]}
`,
);

// KEYS: queue, inflight   ARGV: max in flight, inflight key ttl ms
// → ids moved from the head of the queue to the in-flight set (at most max - in flight)
export const TAKE = defineScript(
  'command-take',
  2,
  `
local room = tonumber(ARGV[1]) - redis.call('SCARD', KEYS[2])
if room <= 0 then return {} end
local ids = redis.call('ZRANGE', KEYS[1], 0, room - 1)
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('SADD', KEYS[2], id)
end
if #ids > 0 then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2])) end
return ids
`,
);

// Creates an operation in one round trip (the hot path): optional queue-length check, optional
// sequence number (queue order), the hash with its TTL, optional enqueue.
// KEYS: op, queue, seq   ARGV: id, ttl s, take a seq ('1' | ''), enqueue ('1' | ''), queue max
//       (0 = no check), field, value, ...
// → seq (0 when not taken), or -1 when the queue is full (nothing written)
export const CREATE = defineScript(
  'command-create',
  3,
  `
local max = tonumber(ARGV[5])
if max > 0 and redis.call('ZCARD', KEYS[2]) >= max then return -1 end
local seq = 0
if ARGV[3] == '1' then seq = redis.call('INCR', KEYS[3]) end
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], 'seq', seq, unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
if ARGV[4] == '1' then redis.call('ZADD', KEYS[2], seq, ARGV[1]) end
return seq
`,
);

export const COMMAND_SCRIPTS = [SET_STATE, TAKE, CREATE];

export interface OpRecord {
  id: string;
  epi: string;
  op: string;
  path: string;
  status: OpStatus;
  code?: string;
  error?: string;
  /** Why it was queued (device-offline, device-asleep, gateway-unavailable). */
  reason?: string;
  content?: unknown;
  contentFormat?: number;
  token?: string;
  gatewayId?: string;
  queue: boolean;
  cmd?: string;
  seq: number;
  createdAt: number;
  updatedAt: number;
  expiresAt?: number;
  /** Replica holding the HTTP request that waited for it. */
  replica?: string;
}

/** What the result path needs of an operation (no `cmd` JSON, no content). */
export interface OpMeta {
  id: string;
  epi: string;
  op: string;
  path: string;
  queue: boolean;
  seq: number;
  token?: string;
  createdAt: number;
  expiresAt?: number;
  /** Replica holding the HTTP request that waits for it (when one does). */
  replica?: string;
}

export interface Registration {
  gatewayId: string;
  lwm2mVersion: string;
  queueMode: boolean;
  deadline: number;
  lastSeen: number;
}

const flat = (fields: Record<string, string | number | undefined>) =>
  Object.entries(fields).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));

export class OperationStore {
  constructor(
    private readonly redis: Redis,
    private readonly scripts: () => ScriptRunner,
    private readonly ttlS: number,
  ) {}

  async registration(epi: string): Promise<Registration | undefined> {
    const [gw, v, q, dl, ut, aw, rt] = await this.redis.hmget(opKeys.reg(epi), 'gw', 'v', 'q', 'dl', 'ut', 'aw', 'rt');
    if (!dl) return undefined;
    return {
      gatewayId: gw ?? '',
      lwm2mVersion: v ?? '1.0',
      queueMode: q === '1',
      deadline: Number(dl),
      lastSeen: Math.max(Number(ut ?? 0), Number(aw ?? 0), Number(rt ?? 0)),
    };
  }

  async known(epi: string): Promise<boolean> {
    return (await this.redis.exists(opKeys.known(epi), opKeys.reg(epi))) > 0;
  }

  /** A device without a live registration: is it known, and with which LwM2M version did it last register? */
  async offline(epi: string): Promise<{ known: boolean; lwm2mVersion?: string }> {
    const [known, version] = await Promise.all([this.known(epi), this.redis.get(opKeys.version(epi))]);
    return { known, ...(version ? { lwm2mVersion: version } : {}) };
  }

  async rememberVersion(epi: string, lwm2mVersion: string): Promise<void> {
    await this.redis.set(opKeys.version(epi), lwm2mVersion, 'EX', VERSION_TTL_S);
  }

  /** True while the gateway instance refreshes its heartbeat key. */
  async gatewayAlive(gatewayId: string): Promise<boolean> {
    return (await this.redis.exists(opKeys.gateway(gatewayId))) > 0;
  }

  /**
   * Writes a new operation (see CREATE) in its first status; `seq` taken when `takeSeq`, the id
   * added to the device's queue when `enqueue`. → its seq, or undefined when the queue is full.
   */
  async createOp(
    r: Omit<OpRecord, 'seq' | 'updatedAt'>,
    opts: { extraTtlS: number; takeSeq: boolean; enqueue: boolean; queueMax: number },
  ): Promise<number | undefined> {
    const fields = flat({
      epi: r.epi,
      op: r.op,
      path: r.path,
      status: r.status,
      queue: r.queue ? 1 : 0,
      cmd: r.cmd,
      createdAt: r.createdAt,
      updatedAt: r.createdAt,
      expiresAt: r.expiresAt,
      token: r.token,
      error: r.error,
      reason: r.reason,
      gw: r.gatewayId,
      rep: r.replica,
    });
    const seq = Number(
      await this.scripts().run(
        CREATE,
        [opKeys.op(r.id), opKeys.queue(r.epi), opKeys.seq],
        [r.id, String(this.ttlS + opts.extraTtlS), opts.takeSeq ? '1' : '', opts.enqueue ? '1' : '', String(opts.enqueue ? opts.queueMax : 0), ...fields],
      ),
    );
    return seq < 0 ? undefined : seq;
  }

  /** The fields the result path needs (HMGET, not the whole hash with its command). */
  async meta(id: string): Promise<OpMeta | undefined> {
    const [epi, op, path, queue, seq, token, createdAt, expiresAt, rep] = await this.redis.hmget(
      opKeys.op(id),
      'epi',
      'op',
      'path',
      'queue',
      'seq',
      'token',
      'createdAt',
      'expiresAt',
      'rep',
    );
    if (!epi) return undefined;
    return {
      id,
      epi,
      op: op ?? '',
      path: path ?? '',
      queue: queue === '1',
      seq: Number(seq ?? 0),
      createdAt: Number(createdAt ?? 0),
      ...(token ? { token } : {}),
      ...(expiresAt ? { expiresAt: Number(expiresAt) } : {}),
      ...(rep ? { replica: rep } : {}),
    };
  }

  async get(id: string): Promise<OpRecord | undefined> {
    const h = await this.redis.hgetall(opKeys.op(id));
    if (!h['status'] || !h['epi']) return undefined;
    return {
      id,
      epi: h['epi'],
      op: h['op'] ?? '',
      path: h['path'] ?? '',
      status: h['status'] as OpStatus,
      code: h['code'],
      error: h['error'],
      reason: h['reason'],
      content: h['content'] !== undefined ? (JSON.parse(h['content']) as unknown) : undefined,
      contentFormat: h['cf'] !== undefined ? Number(h['cf']) : undefined,
      token: h['token'],
      gatewayId: h['gw'],
      queue: h['queue'] === '1',
      cmd: h['cmd'],
      seq: Number(h['seq'] ?? 0),
      createdAt: Number(h['createdAt'] ?? 0),
      updatedAt: Number(h['updatedAt'] ?? 0),
      expiresAt: h['expiresAt'] !== undefined ? Number(h['expiresAt']) : undefined,
      replica: h['rep'],
    };
  }

  /** Conditional transition (see SET_STATE); true when applied. */
  async setState(
    r: Pick<OpRecord, 'id' | 'epi'>,
    from: string,
    to: OpStatus,
    fields: Record<string, string | number | undefined>,
    opts: { queue?: 'add' | 'rem'; score?: number; inflight?: 'rem'; extraTtlS?: number } = {},
  ): Promise<boolean> {
    const res = (await this.scripts().run(
      SET_STATE,
      [opKeys.op(r.id), opKeys.queue(r.epi), opKeys.inflight(r.epi)],
      [r.id, from, to, String(this.ttlS + (opts.extraTtlS ?? 0)), opts.queue ?? '', String(opts.score ?? 0), opts.inflight ?? '', ...flat({ updatedAt: Date.now(), ...fields })],
    )) as unknown[];
    return Number(res[0]) === 1;
  }

  async queueLength(epi: string): Promise<number> {
    return this.redis.zcard(opKeys.queue(epi));
  }

  async queued(epi: string): Promise<string[]> {
    return this.redis.zrange(opKeys.queue(epi), '0', '-1');
  }

  async take(epi: string, maxInFlight: number, inflightTtlMs: number): Promise<string[]> {
    return (await this.scripts().run(TAKE, [opKeys.queue(epi), opKeys.inflight(epi)], [String(maxInFlight), String(inflightTtlMs)])) as string[];
  }

  async releaseInflight(epi: string, id: string): Promise<void> {
    await this.redis.srem(opKeys.inflight(epi), id);
  }

  /** Live observations of a device (the gateway's dmp:obs:{token}; stale set members dropped). */
  async observations(epi: string): Promise<Array<{ token: string; path: string; contentFormat?: number }>> {
    const tokens = await this.redis.smembers(opKeys.obsByEpi(epi));
    const out: Array<{ token: string; path: string; contentFormat?: number }> = [];
    for (const token of tokens.sort()) {
      const h = await this.redis.hgetall(opKeys.obs(token));
      if (h['epi'] !== epi || !h['path']) {
        await this.redis.srem(opKeys.obsByEpi(epi), token);
        continue;
      }
      out.push({ token, path: h['path'], ...(h['cf'] ? { contentFormat: Number(h['cf']) } : {}) });
    }
    return out;
  }
}
