// Observations end with their registration (R-OFF-2), end to end against the Eclipse Leshan
// client library (test/interop/LeshanInteropClient.java): a real CoAP gateway, the command
// service, the storage service (own keyspace), a registry (lifetime sweep with a short grace)
// and a collector of dmp.data.v1. A device whose registration ended (De-register, or its
// lifetime expired) keeps notifying on its old token: the gateway answers RST
// (`dmp_gateway_rejects_total{reason="unknown_token"}`), publishes nothing and so the storage
// service writes no row. Also: a Read result and the first value of an Observe are stored in
// data_raw with source `read` / `observe`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { createCassandra } from '@dmp/cassandra';
import { ROOT, type Service, serviceEnv, spawnService, stack, startStorage, uniqueName, waitUntil } from '@dmp/testing';
import { call, type CommandProcess, dataEvents, type GatewayProcess, metricSum, peers, post, redisClient, startCommand, startGateway, testImei } from './support';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const LIFETIME_B_S = 10; // device B: short lifetime (Leshan then sends an Update every ≈ 2 s)
const GRACE_MS = 500; // registry grace (REGISTRY_GRACE_PERCENT 0)
const CUTOFF_MARGIN_MS = 300; // events already in flight when a registration ended

let gw: GatewayProcess;
let cmd: CommandProcess;
let data: Awaited<ReturnType<typeof dataEvents>>;
let storage: Service & { epiHash: (epi: string) => Buffer };
let registry: Service;
const keyspace = uniqueName('obsclean').toLowerCase();
const registryKeyspace = uniqueName('obsreg').toLowerCase();
const db = createCassandra({ contactPoints: stack.cassandraContactPoints, localDataCenter: stack.cassandraDc });
const redis = redisClient();
const imeiA = testImei(); // Read / Observe sources, then De-register
const imeiB = testImei(); // lifetime expiry

interface Leshan {
  proc: ChildProcess;
  out: () => string;
  stopped: boolean;
}
const leshans: Leshan[] = [];
let leshanA: Leshan;
let leshanB: Leshan;

function startLeshan(imei: string, lifetimeS: number): Leshan {
  let out = '';
  const proc = spawn(
    peers.java,
    ['-cp', `${peers.leshanLib}/*`, 'test/interop/LeshanInteropClient.java', '-u', `coap://127.0.0.1:${gw.coapPort}`, '-n', `urn:imei:${imei}`, '-l', String(lifetimeS), '-t', '150', '-b', '127.0.0.1'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const l = { proc, out: () => out, stopped: false };
  leshans.push(l);
  return l;
}

const registered = (imei: string, l: Leshan) =>
  waitUntil(`Leshan ${imei} registered`, async () => (await redis.hget(`dmp:reg:${imei}`, 'gw')) === gw.id, 60000).catch((e: unknown) => {
    throw new Error(`${String(e)}\nleshan:\n${l.out().slice(-3000)}`);
  });

const op = (imei: string, body: Record<string, unknown>) => post(cmd.url, `/devices/${imei}/operations`, body);
/** Californium's log line when a notification of this observation got RST (it then drops the observe relation). */
const rstLogged = (l: Leshan, token: string) => l.out().toLowerCase().includes(`notification for token [token=${token.toLowerCase()}] failed`);
const observations = async (imei: string) => (await call<{ observations: Array<{ token: string; path: string }> }>(cmd.url, 'GET', `/devices/${imei}/observations`)).body.observations;
const unknownTokenRejects = () => metricSum(gw.httpUrl, 'dmp_gateway_rejects_total', ['reason="unknown_token"']);
const notifyNotRegistered = () => metricSum(gw.httpUrl, 'dmp_gateway_rejects_total', ['reason="notify_registration_expired"']);
const observationsEnded = (reason: string) => metricSum(gw.httpUrl, 'dmp_gateway_observations_ended_total', [`reason="${reason}"`]);
const notifyEvents = (imei: string, path = '/3/0/13') => data.items.filter((d) => d.epi === imei && d.source === 'notify' && d.path === path);

/** data_raw rows of a device (today and yesterday: the partition key is (epi_h, day)). */
async function rawRows(imei: string): Promise<Array<{ source: string; path: string; ts: number }>> {
  const day = Math.floor(Date.now() / 86_400_000);
  const r = await db.execute(`SELECT ts, source, path FROM ${keyspace}.data_raw WHERE epi_h = ? AND day IN (?, ?)`, [storage.epiHash(imei), day - 1, day], { prepare: true });
  return r.rows.map((row) => ({ source: String(row['source']), path: String(row['path']), ts: (row['ts'] as Date).getTime() }));
}

/** libcoap's coap-client (a CoAP stack we did not write); its verbose output. */
async function coapClient(args: string[], timeoutS = 5): Promise<string> {
  const { stdout, stderr } = await execFileP(peers.coapClient, ['-v', '6', '-B', String(timeoutS), ...args], { timeout: (timeoutS + 5) * 1000 }).catch(
    (e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
  return `${stdout}\n${stderr}`;
}
const responseLine = (out: string) => out.split('\n').find((l) => /t:(ACK|CON|NON) c:[2-5]\.\d\d/.test(l));

/** write-attributes pmin=1,pmax=2 on /3/0/13, then observe it: the observation's token. */
async function observeTime(imei: string): Promise<string> {
  expect((await op(imei, { op: 'write-attributes', path: '/3/0/13', attributes: { pmin: 1, pmax: 2 } })).body).toMatchObject({ status: 'SUCCESS', code: '2.04' });
  const o = await op(imei, { op: 'observe', path: '/3/0/13', format: 'tlv' });
  expect(o.body).toMatchObject({ status: 'SUCCESS', code: '2.05' });
  const token = o.body.token ?? '';
  expect(token).toMatch(/^[0-9a-f]+$/);
  expect(await observations(imei)).toEqual([expect.objectContaining({ token, path: '/3/0/13' })]);
  expect(await redis.exists(`dmp:obs:${token}`)).toBe(1);
  expect(await redis.sismember(`dmp:obs-by-epi:${imei}`, token)).toBe(1);
  return token;
}

beforeAll(async () => {
  [gw, cmd, data, storage, registry] = await Promise.all([
    startGateway(),
    startCommand(),
    dataEvents(),
    startStorage(keyspace),
    spawnService(
      'apps/registry/src/main.ts',
      {
        ...serviceEnv,
        CASSANDRA_KEYSPACE: registryKeyspace,
        REGISTRY_GROUP_ID: uniqueName('registry'),
        REGISTRY_GRACE_MIN_MS: String(GRACE_MS),
        REGISTRY_GRACE_PERCENT: '0',
        REGISTRY_SWEEP_INTERVAL_MS: '100',
      },
      /HTTP LISTENING (http:\/\/\S+)/,
      'the registry to listen',
    ),
    redis.connect(),
  ]).then(([a, b, c, d, e]) => [a, b, c, d, e] as const);
  leshanA = startLeshan(imeiA, 300);
  leshanB = startLeshan(imeiB, LIFETIME_B_S);
  await Promise.all([registered(imeiA, leshanA), registered(imeiB, leshanB)]);
}, 120000);

afterAll(async () => {
  await Promise.allSettled(
    leshans.map(async (l) => {
      if (l.proc.exitCode !== null || l.proc.signalCode !== null) return;
      const exited = new Promise((r) => l.proc.once('exit', r));
      if (l.stopped) l.proc.kill('SIGCONT'); // a stopped JVM does not act on SIGTERM
      l.proc.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (l.proc.exitCode === null && l.proc.signalCode === null) l.proc.kill('SIGKILL');
    }),
  );
  await Promise.allSettled([gw?.stop(), cmd?.stop(), storage?.stop(), registry?.stop(), data?.close()]);
  const p = redis.pipeline();
  for (const e of [imeiA, imeiB]) {
    p.del(`dmp:reg:${e}`, `dmp:links:${e}`, `dmp:known:${e}`, `dmp:obs-by-epi:${e}`).zrem(`dmp:deadlines:${createHash('sha1').update(e).digest().readUInt32BE(0) % 16}`, e);
  }
  await p.exec().catch(() => undefined);
  await redis.quit().catch(() => undefined);
  await db.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
  await db.execute(`DROP KEYSPACE IF EXISTS ${registryKeyspace}`).catch(() => undefined);
  await db.shutdown();
});

describe('Read result and the first observe value appear in data_raw with their source', () => {
  it('read /3/0 → source read (path /3/0); observe /3/0/13 → source observe (path /3/0/13); in dmp.data.v1 and in data_raw', async () => {
    const t0 = Date.now();
    const r = await op(imeiA, { op: 'read', path: '/3/0', format: 'tlv' });
    expect(r.body).toMatchObject({ status: 'SUCCESS', code: '2.05' });
    const o = await op(imeiA, { op: 'observe', path: '/3/0/13', format: 'tlv' });
    expect(o.body).toMatchObject({ status: 'SUCCESS', code: '2.05' });
    expect(typeof o.body.content).toBe('number');

    const read = await waitUntil('read data event', async () => data.items.find((d) => d.epi === imeiA && d.source === 'read'), 8000);
    expect(read).toMatchObject({ path: '/3/0', contentFormat: 11542 });
    expect(read.values).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/3/0/0', value: 'Eclipse Leshan' })]));
    const first = await waitUntil('observe data event', async () => data.items.find((d) => d.epi === imeiA && d.source === 'observe'), 8000);
    expect(first).toMatchObject({ path: '/3/0/13' });
    expect(first.values).toEqual([expect.objectContaining({ path: '/3/0/13', type: 'time', value: o.body.content })]);
    // exactly one `observe` event per Observe; what follows are notifications
    expect(data.items.filter((d) => d.epi === imeiA && d.source === 'observe')).toHaveLength(1);

    const rows = await waitUntil(
      'read and observe rows in data_raw',
      async () => {
        const rs = (await rawRows(imeiA)).filter((x) => x.ts >= t0 - 1000);
        return rs.some((x) => x.source === 'read') && rs.some((x) => x.source === 'observe') ? rs : undefined;
      },
      15000,
      300,
    );
    expect(rows.filter((x) => x.source === 'read')).toEqual([expect.objectContaining({ path: '/3/0' })]);
    expect(rows.filter((x) => x.source === 'observe')).toEqual([expect.objectContaining({ path: '/3/0/13' })]);

    // leave the device without observations for the next test
    const cancel = await call<{ operations: Array<{ status: string; op: string }> }>(cmd.url, 'DELETE', `/devices/${imeiA}/observations`);
    expect(cancel.body.operations).toEqual([expect.objectContaining({ op: 'cancel-observe', status: 'SUCCESS' })]);
    expect(await observations(imeiA)).toEqual([]);
  });
});

describe('Observation cleanup', () => {
  it('observe through the command API against the Leshan client, de-register: the next notification is answered RST and no row is written; the observation list for that device is empty', async () => {
    const token = await observeTime(imeiA);
    await waitUntil('two notifications', async () => notifyEvents(imeiA).length >= 2, 10000);
    // the storage service writes notifications (so "no row" below means something)
    await waitUntil('a notify row in data_raw', async () => (await rawRows(imeiA)).some((x) => x.source === 'notify' && x.path === '/3/0/13') || undefined, 15000, 300);

    const rejectsBefore = await unknownTokenRejects();
    const lateBefore = await notifyNotRegistered();
    const endedBefore = await observationsEnded('deregistered');
    // De-register the device's registration the way any CoAP client can (libcoap coap-client,
    // another socket); the Leshan client keeps running and keeps its observe relation
    const location = await redis.hget(`dmp:reg:${imeiA}`, 'loc');
    expect(location).toBeTruthy();
    const out = await coapClient(['-m', 'delete', `coap://127.0.0.1:${gw.coapPort}/rd/${location}`]);
    expect(responseLine(out)).toMatch(/c:2\.02/);
    const cutoff = Date.now() + CUTOFF_MARGIN_MS;
    expect(leshanA.proc.exitCode).toBeNull();

    // the observation ended with the registration, in Redis and in the command API
    expect(await redis.exists(`dmp:reg:${imeiA}`)).toBe(0);
    expect(await redis.exists(`dmp:obs:${token}`)).toBe(0);
    expect(await redis.exists(`dmp:obs-by-epi:${imeiA}`)).toBe(0);
    expect(await observations(imeiA)).toEqual([]);
    expect(await observationsEnded('deregistered')).toBeGreaterThanOrEqual(endedBefore + 1);

    // the client's next notification (pmax 2 s) carries the old token: RST
    await waitUntil('an unknown_token RST', async () => (await unknownTokenRejects()) > rejectsBefore, 10000, 200);
    // … because the token was gone, not caught late by the gateway's liveness check
    expect(await notifyNotRegistered()).toBe(lateBefore);
    // … and it was this observation's notification (the client logs the RST of that token)
    await waitUntil('the client to log the RST of its notification', async () => rstLogged(leshanA, token), 3000, 100).catch((e: unknown) => {
      throw new Error(`${String(e)}\nleshan A:\n${leshanA.out().slice(-3000)}`);
    });
    await sleep(2500); // anything accepted would have reached Kafka and Cassandra by now
    expect(notifyEvents(imeiA).filter((d) => d.ts > cutoff)).toEqual([]);
    expect((await rawRows(imeiA)).filter((x) => x.source === 'notify' && x.ts > cutoff)).toEqual([]);
    expect(await redis.exists(`dmp:obs:${token}`)).toBe(0);
  });

  it('(and, separately, let the lifetime expire): the registry sweep removes the observations; the frozen client’s notifications on the old token are answered RST and stored nowhere; its new registration has none', async () => {
    const token = await observeTime(imeiB);
    await waitUntil('a notification from B', async () => notifyEvents(imeiB).length >= 1, 10000);
    const rtBefore = await redis.hget(`dmp:reg:${imeiB}`, 'rt');

    // freeze the JVM: no Update, no notification, while its registration runs out
    leshanB.proc.kill('SIGSTOP');
    leshanB.stopped = true;
    await sleep(300); // an Update already on the wire is processed
    const deadline = Number(await redis.hget(`dmp:reg:${imeiB}`, 'dl'));
    expect(deadline).toBeGreaterThan(Date.now());
    expect(await redis.exists(`dmp:obs:${token}`)).toBe(1); // still there: only the sweep removes it
    await waitUntil('the registry sweep to remove dmp:reg (lifetime + grace)', async () => (await redis.exists(`dmp:reg:${imeiB}`)) === 0 || undefined, LIFETIME_B_S * 1000 + GRACE_MS + 5000, 100);
    const expiredAt = Date.now();
    const cutoff = expiredAt + CUTOFF_MARGIN_MS;
    // removed by the lifetime sweep, once deadline + grace had passed (not earlier, by something else)
    expect(expiredAt).toBeGreaterThanOrEqual(deadline + GRACE_MS);
    expect(await redis.exists(`dmp:obs:${token}`)).toBe(0);
    expect(await redis.exists(`dmp:obs-by-epi:${imeiB}`)).toBe(0);
    expect(await observations(imeiB)).toEqual([]);

    const rejectsBefore = await unknownTokenRejects();
    const lateBefore = await notifyNotRegistered();
    leshanB.proc.kill('SIGCONT');
    leshanB.stopped = false;
    // its pending notifications on the old token: RST
    await waitUntil('an unknown_token RST after SIGCONT', async () => (await unknownTokenRejects()) > rejectsBefore, 10000, 200).catch((e: unknown) => {
      throw new Error(`${String(e)}\nleshan B:\n${leshanB.out().slice(-3000)}`);
    });
    await waitUntil('the client to log the RST of its old-token notification', async () => rstLogged(leshanB, token), 3000, 100).catch((e: unknown) => {
      throw new Error(`${String(e)}\nleshan B:\n${leshanB.out().slice(-3000)}`);
    });
    // its Update gets 4.04 and it registers again: a new registration, without observations
    await waitUntil(
      'B registered again',
      async () => {
        const rt = await redis.hget(`dmp:reg:${imeiB}`, 'rt');
        return rt !== null && rt !== rtBefore;
      },
      15000,
      200,
    );
    expect(leshanB.out()).toMatch(/Registration update failed: NOT_FOUND\(404\)/);
    expect(await notifyNotRegistered()).toBe(lateBefore);
    expect(await observations(imeiB)).toEqual([]);
    expect(await redis.exists(`dmp:obs-by-epi:${imeiB}`)).toBe(0);
    expect(await redis.exists(`dmp:obs:${token}`)).toBe(0);

    await sleep(2500);
    expect(notifyEvents(imeiB).filter((d) => d.ts > cutoff)).toEqual([]);
    expect((await rawRows(imeiB)).filter((x) => x.source === 'notify' && x.path === '/3/0/13' && x.ts > cutoff)).toEqual([]);
  });
});
