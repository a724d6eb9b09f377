import { createHash } from 'node:crypto';
import { defineScript, type Redis, type ScriptRunner } from '@dmp/redis';

/**
 * Redis layout of live registrations (shared with the registry and command services):
 *
 *   dmp:reg:{epi}        hash   loc, lt, v, b, q, gw, a (ip:port), rt, ut, dl (deadline ms), aw
 *                               (every field ≤ 64 bytes: Redis keeps it a compact listpack)
 *   dmp:links:{epi}      string the object links payload as registered (kept out of the hash)
 *   dmp:deadlines:{n}    zset   member epi, score deadline ms; n = shard(epi)
 *   dmp:addr:{ip:port}   string epi owning that address (TTL = lifetime), for uplinks that
 *                               carry no endpoint (notifications, responses)
 *   dmp:known:{epi}      string first registration time: absent ⇒ activation needed (R-ACT-1)
 *   dmp:devices:denied   set    EPIs refused on Register
 *   dmp:devices:known    set    EPIs allowed under policy `known`
 *   dmp:appkey:{key}:allow set  EPIs allowed for an AppKey under policy `appkey`
 *   dmp:appkey:{key}:password      string  Form A password of the AppKey (else devices use 32 × '0')
 *   dmp:appkey:{key}:clear-fallback string '1' | '0': accept Form A 5-part names from their clear
 *                               fields when they do not decrypt (absent ⇒ GATEWAY_FORM_A_CLEAR_FALLBACK)
 *   dmp:obs:{token hex}  hash   epi, path, cf (observation, for notification matching)
 *   dmp:obs-by-epi:{epi} set    tokens of the device's observations. Every observation belongs to
 *                               one registration: Register (a new registration), De-register and
 *                               the registry's expiry remove them in the same script (R-OFF-2).
 */
export const keys = {
  reg: (epi: string) => `dmp:reg:${epi}`,
  links: (epi: string) => `dmp:links:${epi}`,
  deadlines: (shard: number) => `dmp:deadlines:${shard}`,
  addr: (addr: string) => `dmp:addr:${addr}`,
  known: (epi: string) => `dmp:known:${epi}`,
  denied: 'dmp:devices:denied',
  knownSet: 'dmp:devices:known',
  appkeyAllow: (appKey: string) => `dmp:appkey:${appKey}:allow`,
  appkeyPassword: (appKey: string) => `dmp:appkey:${appKey}:password`,
  appkeyClearFallback: (appKey: string) => `dmp:appkey:${appKey}:clear-fallback`,
  obs: (tokenHex: string) => `dmp:obs:${tokenHex}`,
  obsByEpi: (epi: string) => `dmp:obs-by-epi:${epi}`,
};

/** Seconds an observation is kept without a notification reading it (it ends with its registration anyway). */
export const OBSERVATION_TTL_S = 7 * 86400;

/**
 * Lua: removes every observation of the device whose `dmp:obs-by-epi` set is KEYS[n]
 * (the token keys are derived from the set's members) and leaves the count in `removed`.
 */
const DROP_OBSERVATIONS = (setKey: string) => `
local removed = 0
for _, t in ipairs(redis.call('SMEMBERS', ${setKey})) do
  removed = removed + redis.call('DEL', 'dmp:obs:' .. t)
end
redis.call('DEL', ${setKey})
`;

export function deadlineShard(epi: string, shards: number): number {
  return createHash('sha1').update(epi).digest().readUInt32BE(0) % shards;
}

// KEYS: reg, links, deadlines shard, known, denied set, allow set, addr (new address), observations of the epi
// ARGV: epi, loc, lt, v, b, q, gw, addr, now, links, policy
// → { status, replaced, first, oldGw, oldAddr, observationsRemoved }  status: 1 ok, -1 denied, -2 not allowed;
// replaced = a live (not timed-out) registration existed. A Register starts a new registration:
// the observations of the previous one end with it. The previous address's `dmp:addr:` key is derived from the stored field (single Redis
// primary assumed, decision 0005), so the whole registration is one round trip.
export const REGISTER = defineScript(
  'gateway-register',
  8,
  `
local epi = ARGV[1]
if redis.call('SISMEMBER', KEYS[5], epi) == 1 then return {-1, 0, 0, '', ''} end
local policy = ARGV[11]
if policy ~= 'open' and redis.call('SISMEMBER', KEYS[6], epi) == 0 then return {-2, 0, 0, '', ''} end
local old = redis.call('HMGET', KEYS[1], 'gw', 'a', 'dl')
local now = tonumber(ARGV[9])
local replaced = 0
if old[1] and tonumber(old[3]) >= now then replaced = 1 end
local lt = tonumber(ARGV[3])
local deadline = now + lt * 1000
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'loc', ARGV[2], 'lt', ARGV[3], 'v', ARGV[4], 'b', ARGV[5], 'q', ARGV[6],
  'gw', ARGV[7], 'a', ARGV[8], 'rt', ARGV[9], 'ut', ARGV[9], 'dl', deadline, 'aw', ARGV[9])
redis.call('SET', KEYS[2], ARGV[10])
redis.call('ZADD', KEYS[3], deadline, epi)
local first = 0
if redis.call('SET', KEYS[4], ARGV[9], 'NX') then first = 1 end
if old[2] and old[2] ~= ARGV[8] then redis.call('DEL', 'dmp:addr:' .. old[2]) end
redis.call('SET', KEYS[7], epi, 'EX', lt)
${DROP_OBSERVATIONS('KEYS[8]')}
return {1, replaced, first, old[1] or '', old[2] or '', removed}
`,
);

// KEYS: reg, links, deadlines shard, addr (new address)
// ARGV: epi, now, lt ('' = keep), b ('' = keep), links ('' = keep), gw, addr
// → { status, lt, oldAddr, loc }  status: 1 ok, 0 unknown or expired
export const UPDATE = defineScript(
  'gateway-update',
  4,
  `
local cur = redis.call('HMGET', KEYS[1], 'dl', 'lt', 'a', 'loc')
local now = tonumber(ARGV[2])
if not cur[1] or tonumber(cur[1]) < now then return {0, 0, '', ''} end
local lt = cur[2]
if ARGV[3] ~= '' then lt = ARGV[3] end
local deadline = now + tonumber(lt) * 1000
redis.call('HSET', KEYS[1], 'lt', lt, 'ut', ARGV[2], 'dl', deadline, 'gw', ARGV[6], 'a', ARGV[7], 'aw', ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'b', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], ARGV[5]) end
redis.call('ZADD', KEYS[3], deadline, ARGV[1])
if cur[3] and cur[3] ~= ARGV[7] then redis.call('DEL', 'dmp:addr:' .. cur[3]) end
redis.call('SET', KEYS[4], ARGV[1], 'EX', tonumber(lt))
return {1, tonumber(lt), cur[3], cur[4]}
`,
);

// KEYS: reg, links, deadlines shard, observations of the epi   ARGV: epi, now
// → { status, addr, gw, observationsRemoved }  status 1 removed, 0 unknown or expired (R-OFF-2: the registry sweeps it)
export const DEREGISTER = defineScript(
  'gateway-deregister',
  4,
  `
local cur = redis.call('HMGET', KEYS[1], 'a', 'gw', 'dl')
if not cur[1] or tonumber(cur[3]) < tonumber(ARGV[2]) then return {0, '', '', 0} end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('GET', 'dmp:addr:' .. cur[1]) == ARGV[1] then redis.call('DEL', 'dmp:addr:' .. cur[1]) end
${DROP_OBSERVATIONS('KEYS[4]')}
return {1, cur[1], cur[2], removed}
`,
);

// KEYS: reg   ARGV: now, gw, addr, minIntervalMs
// → { status, publish, loc }  status 1 live, 0 unknown (no registration), -1 expired (deadline passed, not
// swept yet); publish 1 when an `awake` event is due;
// loc = the registration's location (`EPI;version`: the version travels with the device's data, R-EPI-2)
export const TOUCH = defineScript(
  'gateway-touch',
  1,
  `
local cur = redis.call('HMGET', KEYS[1], 'dl', 'aw', 'a', 'gw', 'loc')
local now = tonumber(ARGV[1])
if not cur[1] then return {0, 0, ''} end
if tonumber(cur[1]) < now then return {-1, 0, ''} end
if cur[3] ~= ARGV[3] or cur[4] ~= ARGV[2] then redis.call('HSET', KEYS[1], 'a', ARGV[3], 'gw', ARGV[2]) end
if now - tonumber(cur[2] or '0') >= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'aw', ARGV[1])
  return {1, 1, cur[5] or ''}
end
return {1, 0, cur[5] or ''}
`,
);

// KEYS: reg, obs (token), observations of the epi   ARGV: now, tokenHex, epi, path, cf ('' = none), ttlSeconds
// → 1 saved, 0 not saved: the registration is gone or expired, so the observation would outlive it
export const SAVE_OBSERVATION = defineScript(
  'gateway-save-observation',
  3,
  `
local dl = redis.call('HGET', KEYS[1], 'dl')
if not dl or tonumber(dl) < tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'epi', ARGV[3], 'path', ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'cf', ARGV[5]) end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
return 1
`,
);

export const GATEWAY_SCRIPTS = [REGISTER, UPDATE, DEREGISTER, TOUCH, SAVE_OBSERVATION];

/** The version part of a registration location `EPI;version` (undefined without one). */
export function versionOfLocation(location: string | undefined): string | undefined {
  if (!location) return undefined;
  const i = location.indexOf(';');
  return i >= 0 && i < location.length - 1 ? location.slice(i + 1) : undefined;
}

export interface RegisterInput {
  epi: string;
  location: string;
  lifetime: number;
  lwm2mVersion: string;
  binding: string;
  queueMode: boolean;
  gatewayId: string;
  address: string;
  now: number;
  links: string;
  policy: 'open' | 'known' | 'appkey';
  appKey?: string;
}

export type RegisterOutcome =
  | { status: 'ok'; replaced: boolean; first: boolean; oldGatewayId?: string; oldAddress?: string; observationsRemoved: number }
  | { status: 'denied' | 'not-allowed' };

export interface Registration {
  epi: string;
  location: string;
  lifetime: number;
  lwm2mVersion: string;
  binding: string;
  queueMode: boolean;
  gatewayId: string;
  address: string;
  registeredAt: number;
  updatedAt: number;
  deadline: number;
}

const asArray = (r: unknown): unknown[] => (Array.isArray(r) ? r : []);

/** The gateway's Redis operations; every multi-key change is one Lua script. */
export class RegistrationStore {
  constructor(
    private readonly redis: Redis,
    private readonly scripts: ScriptRunner,
    private readonly shards: number,
  ) {}

  async register(r: RegisterInput): Promise<RegisterOutcome> {
    const allowKey =
      r.policy === 'known' ? keys.knownSet : r.policy === 'appkey' ? keys.appkeyAllow(r.appKey ?? '-') : keys.knownSet;
    const res = asArray(
      await this.scripts.run(
        REGISTER,
        [
          keys.reg(r.epi),
          keys.links(r.epi),
          keys.deadlines(deadlineShard(r.epi, this.shards)),
          keys.known(r.epi),
          keys.denied,
          allowKey,
          keys.addr(r.address),
          keys.obsByEpi(r.epi),
        ],
        [r.epi, r.location, r.lifetime, r.lwm2mVersion, r.binding, r.queueMode ? 1 : 0, r.gatewayId, r.address, r.now, r.links, r.policy],
      ),
    );
    const status = Number(res[0]);
    if (status === -1) return { status: 'denied' };
    if (status === -2) return { status: 'not-allowed' };
    return {
      status: 'ok',
      replaced: Number(res[1]) === 1,
      first: Number(res[2]) === 1,
      oldGatewayId: String(res[3] ?? '') || undefined,
      oldAddress: String(res[4] ?? '') || undefined,
      observationsRemoved: Number(res[5] ?? 0),
    };
  }

  async update(
    epi: string,
    u: { now: number; lifetime?: number; binding?: string; links?: string; gatewayId: string; address: string },
  ): Promise<{ lifetime: number; oldAddress: string; location: string } | undefined> {
    const res = asArray(
      await this.scripts.run(
        UPDATE,
        [keys.reg(epi), keys.links(epi), keys.deadlines(deadlineShard(epi, this.shards)), keys.addr(u.address)],
        [epi, u.now, u.lifetime ?? '', u.binding ?? '', u.links ?? '', u.gatewayId, u.address],
      ),
    );
    if (Number(res[0]) !== 1) return undefined;
    return { lifetime: Number(res[1]), oldAddress: String(res[2] ?? ''), location: String(res[3] ?? '') };
  }

  async deregister(epi: string): Promise<{ address: string; observationsRemoved: number } | undefined> {
    const res = asArray(
      await this.scripts.run(
        DEREGISTER,
        [keys.reg(epi), keys.links(epi), keys.deadlines(deadlineShard(epi, this.shards)), keys.obsByEpi(epi)],
        [epi, Date.now()],
      ),
    );
    if (Number(res[0]) !== 1) return undefined;
    return { address: String(res[1]), observationsRemoved: Number(res[3] ?? 0) };
  }

  /**
   * Any other uplink: refresh the owner and address; true in `publish` when an awake event
   * is due; `location` of the live registration (empty when not live). `expired`: the
   * registration is still there but its deadline has passed (the sweep will remove it).
   */
  async touch(
    epi: string,
    now: number,
    gatewayId: string,
    address: string,
    minIntervalMs: number,
  ): Promise<{ live: boolean; expired: boolean; publish: boolean; location: string }> {
    const res = asArray(await this.scripts.run(TOUCH, [keys.reg(epi)], [now, gatewayId, address, minIntervalMs]));
    return { live: Number(res[0]) === 1, expired: Number(res[0]) === -1, publish: Number(res[1]) === 1, location: String(res[2] ?? '') };
  }

  /** EPI registered at this address, if its registration is still there. */
  async epiAt(address: string): Promise<string | undefined> {
    return (await this.redis.get(keys.addr(address))) ?? undefined;
  }

  async get(epi: string): Promise<Registration | undefined> {
    const h = await this.redis.hgetall(keys.reg(epi));
    if (!h['dl']) return undefined;
    return {
      epi,
      location: h['loc'] ?? epi,
      lifetime: Number(h['lt']),
      lwm2mVersion: h['v'] ?? '1.0',
      binding: h['b'] ?? 'U',
      queueMode: h['q'] === '1',
      gatewayId: h['gw'] ?? '',
      address: h['a'] ?? '',
      registeredAt: Number(h['rt']),
      updatedAt: Number(h['ut']),
      deadline: Number(h['dl']),
    };
  }

  async observation(tokenHex: string): Promise<{ epi: string; path: string; contentFormat?: number } | undefined> {
    const h = await this.redis.hgetall(keys.obs(tokenHex));
    if (!h['epi'] || !h['path']) return undefined;
    return { epi: h['epi'], path: h['path'], contentFormat: h['cf'] ? Number(h['cf']) : undefined };
  }

  /**
   * Records an observation of the device's live registration; false (nothing written) when
   * that registration is gone or expired, so no observation outlives its registration.
   */
  async saveObservation(tokenHex: string, o: { epi: string; path: string; contentFormat?: number; ttlSeconds: number }): Promise<boolean> {
    const res = await this.scripts.run(
      SAVE_OBSERVATION,
      [keys.reg(o.epi), keys.obs(tokenHex), keys.obsByEpi(o.epi)],
      [Date.now(), tokenHex, o.epi, o.path, o.contentFormat ?? '', o.ttlSeconds],
    );
    return Number(res) === 1;
  }

  async deleteObservation(tokenHex: string, epi: string): Promise<void> {
    await this.redis.multi().del(keys.obs(tokenHex)).srem(keys.obsByEpi(epi), tokenHex).exec();
  }

  /** Form A settings of an AppKey: its password (if configured) and its clear-field fallback override (if set). */
  async appKeySettings(appKey: string): Promise<{ password?: string; clearFallback?: boolean }> {
    const [password, fallback] = await this.redis.mget(keys.appkeyPassword(appKey), keys.appkeyClearFallback(appKey));
    return {
      ...(password ? { password } : {}),
      ...(fallback === '1' || fallback === '0' ? { clearFallback: fallback === '1' } : {}),
    };
  }
}
