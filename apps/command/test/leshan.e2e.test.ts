// The command service's HTTP API end to end: a real CoAP gateway, real Kafka and Redis, and
// the Eclipse Leshan client library (test/interop/LeshanInteropClient.java) as the device.
import { type ChildProcess, spawn } from 'node:child_process';
import { createCassandra } from '@dmp/cassandra';
import { ROOT, type Service, stack, startStorage, uniqueName, waitUntil } from '@dmp/testing';
import { call, type CommandProcess, dataEvents, type GatewayProcess, peers, post, redisClient, startCommand, startGateway, testImei } from './support';

let gw: GatewayProcess;
let cmd: CommandProcess;
let data: Awaited<ReturnType<typeof dataEvents>>;
let storage: Service & { epiHash: (epi: string) => Buffer };
const keyspace = uniqueName('cmdleshan').toLowerCase();
const db = createCassandra({ contactPoints: stack.cassandraContactPoints, localDataCenter: stack.cassandraDc });
let leshan: ChildProcess | undefined;
let leshanOut = '';
const redis = redisClient();
const imei = testImei();
const op = (body: Record<string, unknown>) => post(cmd.url, `/devices/${imei}/operations`, body);

beforeAll(async () => {
  [gw, cmd, data, storage] = await Promise.all([startGateway(), startCommand(), dataEvents(), startStorage(keyspace), redis.connect()]).then(
    ([a, b, c, d]) => [a, b, c, d] as const,
  );
  leshan = spawn(
    peers.java,
    ['-cp', `${peers.leshanLib}/*`, 'test/interop/LeshanInteropClient.java', '-u', `coap://127.0.0.1:${gw.coapPort}`, '-n', `urn:imei:${imei}`, '-l', '300', '-t', '110', '-b', '127.0.0.1'],
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
  await Promise.allSettled([gw?.stop(), cmd?.stop(), storage?.stop(), data?.close(), redis.quit()]);
  await db.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
  await db.shutdown();
});

describe('command service → gateway → Eclipse Leshan client', () => {
  it('read /3/0 in TLV and SenML JSON → 200 SUCCESS 2.05 with the content as a map of resources', async () => {
    for (const [format, cf] of [['tlv', 11542], ['senml-json', 110]] as const) {
      const r = await op({ op: 'read', path: '/3/0', format });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'SUCCESS', code: '2.05', contentFormat: cf });
      expect(r.body.content).toMatchObject({ '0': 'Eclipse Leshan', '2': 'DMP-INTEROP-0001' });
      // the final state is readable afterwards
      const again = await call(cmd.url, 'GET', `/operations/${r.body.id}`);
      expect(again.body).toMatchObject({ id: r.body.id, status: 'SUCCESS', code: '2.05', content: r.body.content });
    }
    const one = await op({ op: 'read', path: '/3/0/0' });
    expect(one.body).toMatchObject({ status: 'SUCCESS', content: 'Eclipse Leshan' });
  });

  it('write /3/0/14 (UTC offset) then read it back', async () => {
    const offset = `+0${1 + Math.floor(Math.random() * 8)}:00`;
    const w = await op({ op: 'write', path: '/3/0/14', value: offset, format: 'tlv' });
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({ status: 'SUCCESS', code: '2.04' });
    const r = await op({ op: 'read', path: '/3/0/14' });
    expect(r.body).toMatchObject({ status: 'SUCCESS', content: offset });
  });

  it('execute /1/0/8 → 2.04; execute /3/0/4 (reboot) → 2.04 and the client registers again', async () => {
    expect((await op({ op: 'execute', path: '/1/0/8' })).body).toMatchObject({ status: 'SUCCESS', code: '2.04' });
    const registeredAt = await redis.hget(`dmp:reg:${imei}`, 'rt');
    expect(registeredAt).toBeTruthy();
    const reboot = await op({ op: 'execute', path: '/3/0/4' });
    expect(reboot.status).toBe(200);
    expect(reboot.body).toMatchObject({ status: 'SUCCESS', code: '2.04' });
    // a new Register (not an Update): the registration time changes
    await waitUntil('Leshan registered again after reboot', async () => {
      const rt = await redis.hget(`dmp:reg:${imei}`, 'rt');
      return rt !== null && rt !== registeredAt;
    }, 20000);
    expect((await op({ op: 'read', path: '/3/0/0' })).body).toMatchObject({ status: 'SUCCESS', content: 'Eclipse Leshan' });
  });

  it('discover /3 → link-format text', async () => {
    const r = await op({ op: 'discover', path: '/3' });
    expect(r.body).toMatchObject({ status: 'SUCCESS', code: '2.05', contentFormat: 40 });
    expect(r.body.content).toEqual(expect.stringContaining('</3/0/13>'));
  });

  it('write-attributes + observe /3/0/13 → data events stored by the storage service; listed; DELETE observations cancels and they stop', async () => {
    expect((await op({ op: 'write-attributes', path: '/3/0/13', attributes: { pmin: 1, pmax: 5 } })).body).toMatchObject({ status: 'SUCCESS', code: '2.04' });
    const o = await op({ op: 'observe', path: '/3/0/13', format: 'tlv' });
    expect(o.body).toMatchObject({ status: 'SUCCESS', code: '2.05' });
    expect(typeof o.body.content).toBe('number');
    const token = o.body.token;
    expect(token).toMatch(/^[0-9a-f]+$/);
    const list = await call<{ observations: Array<{ token: string; path: string }> }>(cmd.url, 'GET', `/devices/${imei}/observations`);
    expect(list.body.observations).toEqual([expect.objectContaining({ token, path: '/3/0/13' })]);

    const notes = () => data.items.filter((d) => d.epi === imei && d.source === 'notify' && d.path === '/3/0/13');
    await waitUntil('two notifications', async () => notes().length >= 2, 8000);
    // … and the storage service wrote them to Cassandra (data_raw: one row per notification)
    const day = Math.floor(Date.now() / 86_400_000);
    await waitUntil(
      'notifications stored by the storage service',
      async () => {
        const r = await db.execute(`SELECT source, path FROM ${keyspace}.data_raw WHERE epi_h = ? AND day IN (?, ?)`, [storage.epiHash(imei), day - 1, day], { prepare: true });
        return r.rows.filter((row) => row['source'] === 'notify' && row['path'] === '/3/0/13').length >= 1 || undefined;
      },
      15000,
      300,
    );

    const cancel = await call<{ operations: Array<{ status: string; op: string }> }>(cmd.url, 'DELETE', `/devices/${imei}/observations`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.operations).toEqual([expect.objectContaining({ op: 'cancel-observe', status: 'SUCCESS' })]);
    expect((await call<{ observations: unknown[] }>(cmd.url, 'GET', `/devices/${imei}/observations`)).body.observations).toEqual([]);
    await new Promise((r) => setTimeout(r, 1500));
    const settled = notes().length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(notes().length).toBe(settled);
  });

  it('refuses bad requests with 400 and the reason, before sending anything', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ op: 'frobnicate', path: '/3/0' }, /op/],
      [{ op: 'read', path: '3/0' }, /path/],
      [{ op: 'write', path: '/3/0/0', value: 'x' }, /NOT_WRITABLE/],
      [{ op: 'execute', path: '/3/0/0' }, /NOT_EXECUTABLE/],
      [{ op: 'write', path: '/3/0/14', value: 12 }, /expected a string/],
      [{ op: 'write', path: '/3/0/13', value: 'not a time' }, /TIME/],
      [{ op: 'write', path: '/3/0/14' }, /needs a value/],
      [{ op: 'read', path: '/3/0', extra: 1 }, /extra/],
      [{ op: 'cancel-observe', path: '/3/0/9' }, /no observation/],
    ];
    for (const [body, reason] of cases) {
      const r = await op(body);
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expect(r.body.message).toMatch(reason);
    }
  });

  it('unknown EPI → 404', async () => {
    const r = await post(cmd.url, `/devices/${testImei()}/operations`, { op: 'read', path: '/3/0' });
    expect(r.status).toBe(404);
    expect((await call(cmd.url, 'GET', '/operations/no-such-operation')).status).toBe(404);
  });
});
