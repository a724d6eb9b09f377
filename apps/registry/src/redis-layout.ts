import { createHash } from 'node:crypto';
import { defineScript } from '@dmp/redis';

/**
 * The registration keys written by the CoAP gateway (apps/coap-gateway/src/registration-store.ts,
 * decision 0005), as the registry reads and removes them, plus the registry's own key:
 *
 *   dmp:reg:{epi}          hash   loc, lt, v, b, q, gw, a, rt, ut, dl, aw   (gateway)
 *   dmp:links:{epi}        string object links                             (gateway)
 *   dmp:deadlines:{n}      zset   member epi; score = deadline ms, written by the gateway.
 *                                 The registry may raise the score of an entry whose
 *                                 deadline has passed but whose grace has not, to
 *                                 deadline + grace − GRACE_MIN (decision 0006).
 *   dmp:addr:{ip:port}     string epi at that address                      (gateway)
 *   dmp:obs-by-epi:{epi}   set    observation tokens of the registration; each dmp:obs:{token}
 *                                 hash ends with it (gateway; removed here on expiry, R-OFF-2)
 *   dmp:offline:pending    zset   registry: timed-out registrations removed from Redis whose
 *                                 `offline` event is not acknowledged yet;
 *                                 member `epi|deadline|lifetime|gateway|ip:port`, score = claim time
 */
export const regKeys = {
  reg: (epi: string) => `dmp:reg:${epi}`,
  links: (epi: string) => `dmp:links:${epi}`,
  deadlines: (shard: number) => `dmp:deadlines:${shard}`,
  addr: (addr: string) => `dmp:addr:${addr}`,
  known: (epi: string) => `dmp:known:${epi}`,
  appkeyPassword: (appKey: string) => `dmp:appkey:${appKey}:password`,
  pending: 'dmp:offline:pending',
};

/** Same function as the gateway's: shard = first 4 bytes of sha1(epi), big-endian, mod shards. */
export function deadlineShard(epi: string, shards: number): number {
  return createHash('sha1').update(epi).digest().readUInt32BE(0) % shards;
}

/** Grace of a registration: max(min, percent of the lifetime), in ms (same formula as the Lua script). */
export function graceMs(lifetimeS: number, minMs: number, percent: number): number {
  return Math.max(minMs, Math.floor(lifetimeS * percent * 10));
}

// KEYS: deadlines shard, pending   ARGV: now, graceMinMs, gracePercent, limit
// → { examined, { record, ... } }   record = epi|deadline|lifetime|gateway|address
//
// Candidates: entries with score ≤ now − graceMin (every grace is ≥ graceMin). For each,
// the hash is the truth: a registration refreshed since (Register/Update rewrite `dl`) is
// never removed. Expired (dl + grace(lt) ≤ now): hash, links, observations and address key
// (when it still points at this EPI) deleted, entry removed from the index, record parked in `pending`
// (the `offline` event is published after the script; `pending` is the outbox). Not yet
// (deadline passed, grace not): the score is raised to dl + grace − graceMin, so the entry
// is examined once more, exactly when it is due; the gateway's next ZADD overwrites it.
// Cost: at most two visits per expiring registration, none for live ones.
export const EXPIRE = defineScript(
  'registry-expire',
  2,
  `
local now = tonumber(ARGV[1])
local gmin = tonumber(ARGV[2])
local pct = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local cands = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - gmin), 'LIMIT', 0, limit)
local out = {}
local gone = {}
local parked = {}
local nowstr = string.format('%.0f', now)
for _, epi in ipairs(cands) do
  local reg = 'dmp:reg:' .. epi
  local h = redis.call('HMGET', reg, 'dl', 'lt', 'a', 'gw')
  if not h[1] then
    gone[#gone + 1] = epi
  else
    local dl = tonumber(h[1])
    local lt = tonumber(h[2] or '0') or 0
    local grace = math.max(gmin, math.floor(lt * pct * 10))
    if dl + grace <= now then
      redis.call('DEL', reg, 'dmp:links:' .. epi)
      local obs = 'dmp:obs-by-epi:' .. epi
      for _, t in ipairs(redis.call('SMEMBERS', obs)) do redis.call('DEL', 'dmp:obs:' .. t) end
      redis.call('DEL', obs)
      if h[3] and redis.call('GET', 'dmp:addr:' .. h[3]) == epi then redis.call('DEL', 'dmp:addr:' .. h[3]) end
      gone[#gone + 1] = epi
      local rec = epi .. '|' .. h[1] .. '|' .. (h[2] or '0') .. '|' .. (h[4] or '') .. '|' .. (h[3] or '')
      parked[#parked + 1] = nowstr
      parked[#parked + 1] = rec
      out[#out + 1] = rec
    else
      redis.call('ZADD', KEYS[1], string.format('%.0f', dl + grace - gmin), epi)
    end
  end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
if #parked > 0 then redis.call('ZADD', KEYS[2], unpack(parked)) end
return {#cands, out}
`,
);

// KEYS: pending   ARGV: now, olderThanMs, limit
// → { record, ... } claimed again (score := now) for another publication attempt
export const RECLAIM = defineScript(
  'registry-reclaim',
  1,
  `
local now = tonumber(ARGV[1])
local recs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - tonumber(ARGV[2])), 'LIMIT', 0, tonumber(ARGV[3]))
for _, r in ipairs(recs) do redis.call('ZADD', KEYS[1], string.format('%.0f', now), r) end
return recs
`,
);

export const REGISTRY_SCRIPTS = [EXPIRE, RECLAIM];

export interface ExpiredRecord {
  raw: string;
  epi: string;
  deadline: number;
  lifetime: number;
  gatewayId: string;
  address?: { ip: string; port: number };
}

/** `ip:port` (IPv6 without brackets, as the gateway writes it) → parts. */
export function splitAddress(a: string): { ip: string; port: number } | undefined {
  const i = a.lastIndexOf(':');
  if (i <= 0) return undefined;
  const port = Number(a.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { ip: a.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

export function parseRecord(raw: string): ExpiredRecord | undefined {
  const [epi, dl, lt, gw, ...rest] = raw.split('|');
  if (!epi || !dl) return undefined;
  const a = rest.join('|');
  return { raw, epi, deadline: Number(dl), lifetime: Number(lt ?? 0), gatewayId: gw ?? '', address: a ? splitAddress(a) : undefined };
}

/** A deterministic, uuid-shaped id: the same input gives the same event id (idempotent re-publication). */
export function stableEventId(...parts: Array<string | number>): string {
  const h = createHash('sha1').update(parts.join('|')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}
