// write-partial, create and delete through the command service's HTTP API, end to end: a real
// CoAP gateway, real Kafka and Redis, and the Eclipse Leshan client library as the device,
// started with `-o 3303` (IPSO Temperature served by Leshan's SimpleInstanceEnabler, model
// read by Leshan from libs/lwm2m/models/3303.xml: multiple instances, Create/Delete allowed).
import { type ChildProcess, spawn } from 'node:child_process';
import { ROOT, waitUntil } from '@dmp/testing';
import { type CommandProcess, type GatewayProcess, peers, post, redisClient, startCommand, startGateway, testImei } from './support';

let gw: GatewayProcess;
let cmd: CommandProcess;
let leshan: ChildProcess | undefined;
let leshanOut = '';
const redis = redisClient();
const imei = testImei();
const op = (body: Record<string, unknown>) => post(cmd.url, `/devices/${imei}/operations`, body);

beforeAll(async () => {
  [gw, cmd] = await Promise.all([startGateway(), startCommand(), redis.connect()]).then(([a, b]) => [a, b] as const);
  leshan = spawn(
    peers.java,
    [
      '-cp',
      `${peers.leshanLib}/*`,
      'test/interop/LeshanInteropClient.java',
      '-u',
      `coap://127.0.0.1:${gw.coapPort}`,
      '-n',
      `urn:imei:${imei}`,
      '-l',
      '300',
      '-t',
      '110',
      '-b',
      '127.0.0.1',
      '-o',
      '3303',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  leshan.stdout?.on('data', (d: Buffer) => (leshanOut += d.toString()));
  leshan.stderr?.on('data', (d: Buffer) => (leshanOut += d.toString()));
  await waitUntil('Leshan registered', async () => (await redis.hget(`dmp:reg:${imei}`, 'gw')) === gw.id, 60000).catch((e: unknown) => {
    throw new Error(`${String(e)}\nleshan:\n${leshanOut.slice(-3000)}`);
  });
}, 120000);

afterAll(async () => {
  if (leshan && leshan.exitCode === null) {
    const exited = new Promise((r) => leshan?.once('exit', r));
    leshan.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  await Promise.allSettled([gw?.stop(), cmd?.stop(), redis.quit()]);
});

/** Instance ids of /3303 from a Discover of the object (`</3303/1>` entries). */
async function instancesOf3303(): Promise<number[]> {
  const d = await op({ op: 'discover', path: '/3303' });
  expect(d.body).toMatchObject({ status: 'SUCCESS', code: '2.05', contentFormat: 40 });
  return [...String(d.body.content).matchAll(/<\/3303\/(\d+)>/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

describe('command service → gateway → Eclipse Leshan client: instances of a multi-instance object', () => {
  it('the device registered /3303/0 (links in Redis) and Discover lists only instance 0', async () => {
    expect(await redis.get(`dmp:links:${imei}`)).toEqual(expect.stringContaining('</3303/0>'));
    expect(await instancesOf3303()).toEqual([0]);
  });

  it('write-partial (POST) /3303/0 changes the written resource only; a read shows it', async () => {
    for (const format of ['tlv', 'senml-json'] as const) {
      const before = await op({ op: 'read', path: '/3303/0', format });
      expect(before.body).toMatchObject({ status: 'SUCCESS', code: '2.05' });
      const kept = before.body.content as Record<string, unknown>;
      expect(kept).toHaveProperty('5700');

      const appType = `dmp-${format}-${Math.random().toString(36).slice(2, 8)}`;
      const w = await op({ op: 'write-partial', path: '/3303/0', value: { '5750': appType }, format });
      expect(w.status).toBe(200);
      expect(w.body).toMatchObject({ status: 'SUCCESS', code: '2.04' });

      const after = await op({ op: 'read', path: '/3303/0', format });
      expect(after.body).toMatchObject({ status: 'SUCCESS', code: '2.05' });
      // the written resource changed; the others are what they were (a partial update, not a replace)
      expect(after.body.content).toEqual({ ...kept, '5750': appType });
      expect((await op({ op: 'read', path: '/3303/0/5750' })).body).toMatchObject({ status: 'SUCCESS', content: appType });
    }
  });

  it('write-partial on a read-only resource is refused with 400 before anything is sent', async () => {
    const r = await op({ op: 'write-partial', path: '/3303/0', value: { '5700': 1.5 } });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/NOT_WRITABLE|writ/i);
  });

  it('create /3303 with instance 7 → 2.01; read and discover show it; delete → 2.02; gone afterwards', async () => {
    const c = await op({ op: 'create', path: '/3303/7', value: { '5700': 21.5, '5750': 'created-by-dmp' }, format: 'tlv' });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'SUCCESS', code: '2.01' });
    expect(await instancesOf3303()).toEqual([0, 7]);
    const r = await op({ op: 'read', path: '/3303/7' });
    expect(r.body).toMatchObject({ status: 'SUCCESS', code: '2.05' });
    expect(r.body.content).toMatchObject({ '5700': 21.5, '5750': 'created-by-dmp' });

    // creating the same instance again is refused by the device
    const again = await op({ op: 'create', path: '/3303/7', value: { '5700': 1 }, format: 'tlv' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'FAILED', code: '4.00' });

    const d = await op({ op: 'delete', path: '/3303/7' });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ status: 'SUCCESS', code: '2.02' });
    expect(await instancesOf3303()).toEqual([0]);
    expect((await op({ op: 'read', path: '/3303/7' })).body).toMatchObject({ status: 'FAILED', code: '4.04' });
    expect((await op({ op: 'delete', path: '/3303/7' })).body).toMatchObject({ status: 'FAILED', code: '4.04' });
    // instance 0 untouched
    expect((await op({ op: 'read', path: '/3303/0' })).body).toMatchObject({ status: 'SUCCESS', code: '2.05' });
  });

  // TLV only: with SenML, @dmp/lwm2m's createRequest encodes an id-less Create as /3303/0/…
  // (instance 0 named explicitly) and refuses an instance id (see the issue 6 report).
  it('create /3303 without an instance id (TLV) → 2.01; the device picks the id; delete it', async () => {
    const c = await op({ op: 'create', path: '/3303', value: { '5700': -4.25, '5701': 'Cel' }, format: 'tlv' });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'SUCCESS', code: '2.01' });
    const ids = await instancesOf3303();
    expect(ids).toHaveLength(2);
    const created = ids.find((i) => i !== 0);
    expect(created).toBeDefined();
    expect((await op({ op: 'read', path: `/3303/${created}` })).body.content).toMatchObject({ '5700': -4.25, '5701': 'Cel' });
    expect((await op({ op: 'delete', path: `/3303/${created}` })).body).toMatchObject({ status: 'SUCCESS', code: '2.02' });
    expect(await instancesOf3303()).toEqual([0]);
  });
});
