// The gateway's Redis scripts against the real Redis: every observation belongs to one
// registration and ends with it, atomically (R-OFF-2); the location (and its version) is
// kept by Update and returned by touch.
import { ScriptRunner } from '@dmp/redis';
import { GATEWAY_SCRIPTS, type RegisterInput, RegistrationStore } from '../src/registration-store';
import { redisClient, testImei } from './harness';

const redis = redisClient();
const scripts = new ScriptRunner(redis, GATEWAY_SCRIPTS);
const store = new RegistrationStore(redis, scripts, 16);

beforeAll(async () => {
  await redis.connect();
  await scripts.load();
});
afterAll(async () => {
  await redis.quit();
});

const input = (epi: string, now = Date.now()): RegisterInput => ({
  epi,
  location: `${epi};v2.0`,
  lifetime: 60,
  lwm2mVersion: '1.1',
  binding: 'U',
  queueMode: false,
  gatewayId: 'gw-store-test',
  address: `127.0.0.1:${10000 + Math.floor(Math.random() * 50000)}`,
  now,
  links: '</3/0>',
  policy: 'open',
});

async function observe(epi: string, token: string): Promise<boolean> {
  return store.saveObservation(token, { epi, path: '/3/0/13', contentFormat: 11542, ttlSeconds: 600 });
}

describe('observations end with their registration', () => {
  it('an observation is saved only for a live registration, with its set, both with a TTL', async () => {
    const epi = testImei();
    expect(await observe(epi, 'aa01')).toBe(false);
    expect(await redis.exists(`dmp:obs:aa01`, `dmp:obs-by-epi:${epi}`)).toBe(0);
    await store.register(input(epi));
    expect(await observe(epi, 'aa01')).toBe(true);
    expect(await store.observation('aa01')).toEqual({ epi, path: '/3/0/13', contentFormat: 11542 });
    expect(await redis.smembers(`dmp:obs-by-epi:${epi}`)).toEqual(['aa01']);
    expect(await redis.ttl(`dmp:obs-by-epi:${epi}`)).toBeGreaterThan(0);
    // an expired registration (deadline passed) takes no new observation either
    const old = testImei();
    await store.register(input(old, Date.now() - 120_000));
    expect(await observe(old, 'aa02')).toBe(false);
  });

  it('De-register removes every observation of the device, and only its own', async () => {
    const epi = testImei();
    const other = testImei();
    await store.register(input(epi));
    await store.register(input(other));
    await observe(epi, 'bb01');
    await observe(epi, 'bb02');
    await observe(other, 'bb03');
    expect(await store.deregister(epi)).toMatchObject({ observationsRemoved: 2 });
    expect(await redis.exists('dmp:obs:bb01', 'dmp:obs:bb02', `dmp:obs-by-epi:${epi}`)).toBe(0);
    expect(await store.observation('bb03')).toMatchObject({ epi: other });
  });

  it('a new Register ends the previous registration’s observations', async () => {
    const epi = testImei();
    await store.register(input(epi));
    await observe(epi, 'cc01');
    const again = await store.register(input(epi));
    expect(again).toMatchObject({ status: 'ok', replaced: true, observationsRemoved: 1 });
    expect(await store.observation('cc01')).toBeUndefined();
    expect(await redis.exists(`dmp:obs-by-epi:${epi}`)).toBe(0);
  });

  it('Update keeps the stored location (and version); touch returns it while live, nothing after', async () => {
    const epi = testImei();
    const r = input(epi);
    await store.register(r);
    expect(await store.update(epi, { now: Date.now(), gatewayId: r.gatewayId, address: r.address })).toMatchObject({ location: `${epi};v2.0` });
    expect(await store.touch(epi, Date.now(), r.gatewayId, r.address, 60_000)).toMatchObject({ live: true, location: `${epi};v2.0` });
    // deadline passed, not swept yet: expired (takes no data); removed: gone
    expect(await store.touch(epi, Date.now() + 61_000, r.gatewayId, r.address, 60_000)).toEqual({ live: false, expired: true, publish: false, location: '' });
    await store.deregister(epi);
    expect(await store.touch(epi, Date.now(), r.gatewayId, r.address, 60_000)).toEqual({ live: false, expired: false, publish: false, location: '' });
  });
});
