import { createRedis, defineScript, ScriptRunner } from '@dmp/redis';
import { stack, uniqueName } from '@dmp/testing';

const redis = createRedis(stack.redisUrl);
beforeAll(() => redis.connect());
afterAll(() => redis.quit());

// Sets a hash field and a sorted-set deadline atomically; returns 1 when the entry is new.
const upsert = defineScript(
  'test-upsert',
  2,
  `local isNew = redis.call('HSET', KEYS[1], 'addr', ARGV[1])
   redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
   return isNew`,
);

describe('Redis (real server)', () => {
  it('loads Lua scripts by SHA and runs them atomically', async () => {
    const runner = new ScriptRunner(redis, [upsert]);
    await runner.load();
    expect(await redis.script('EXISTS', runner.sha(upsert))).toEqual([1]);
    const h = uniqueName('reg');
    const z = uniqueName('deadlines');
    expect(await runner.run(upsert, [h, z], ['10.0.0.1:5683', 1000])).toBe(1);
    expect(await runner.run(upsert, [h, z], ['10.0.0.2:5683', 2000])).toBe(0);
    expect(await redis.hget(h, 'addr')).toBe('10.0.0.2:5683');
    expect(await redis.zscore(z, h)).toBe('2000');
    await redis.del(h, z);
  });

  it('reloads a script transparently after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const runner = new ScriptRunner(redis, [upsert]);
    await runner.load();
    await redis.script('FLUSH');
    const h = uniqueName('reg');
    const z = uniqueName('deadlines');
    expect(await runner.run(upsert, [h, z], ['a', 1])).toBe(1);
    expect(await redis.script('EXISTS', runner.sha(upsert))).toEqual([1]);
    await redis.del(h, z);
  });

  it('refuses a call with the wrong number of keys', async () => {
    const runner = new ScriptRunner(redis, [upsert]);
    await expect(runner.run(upsert, ['only-one'], [])).rejects.toThrow(/takes 2 keys/);
  });

  it('runs with AOF persistence on', async () => {
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
  });
});
