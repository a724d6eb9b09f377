// Redis layout of the command service (next to the gateway's, decision 0005 / 0008):
//
//   dmp:op:{id}             hash  epi, op, path, status, code, error, content (JSON), cf, token,
//                                 gw, queue (0/1), cmd (DeviceCommand JSON), seq, createdAt,
//                                 updatedAt, expiresAt   — TTL COMMAND_OP_TTL_S (+ queue life)
//   dmp:cmdq:{epi}          zset  queued operation ids, score = seq (creation order; a command
//                                 put back after a timeout keeps its place)
//   dmp:cmdq:{epi}:inflight set   ids taken from the queue and sent, result not yet in
//   dmp:cmdq:seq            string global sequence for queue order
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
};

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

export const COMMAND_SCRIPTS = [SET_STATE, TAKE];

export interface OpRecord {
  id: string;
  epi: string;
  op: string;
  path: string;
  status: OpStatus;
  code?: string;
  error?: string;
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
    const h = await this.redis.hgetall(opKeys.reg(epi));
    if (!h['dl']) return undefined;
    return {
      gatewayId: h['gw'] ?? '',
      lwm2mVersion: h['v'] ?? '1.0',
      queueMode: h['q'] === '1',
      deadline: Number(h['dl']),
      lastSeen: Math.max(Number(h['ut'] ?? 0), Number(h['aw'] ?? 0), Number(h['rt'] ?? 0)),
    };
  }

  async known(epi: string): Promise<boolean> {
    return (await this.redis.exists(opKeys.known(epi), opKeys.reg(epi))) > 0;
  }

  async nextSeq(): Promise<number> {
    return this.redis.incr(opKeys.seq);
  }

  async create(r: OpRecord, extraTtlS = 0): Promise<void> {
    await this.redis
      .multi()
      .hset(opKeys.op(r.id), flat({ epi: r.epi, op: r.op, path: r.path, status: r.status, queue: r.queue ? 1 : 0, cmd: r.cmd, seq: r.seq, createdAt: r.createdAt, updatedAt: r.updatedAt, expiresAt: r.expiresAt, token: r.token }))
      .expire(opKeys.op(r.id), this.ttlS + extraTtlS)
      .exec();
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
