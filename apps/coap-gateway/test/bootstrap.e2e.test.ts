// Spec §7.1 LwM2M Bootstrap (R-BS-1..3) against a real gateway, Redis and Kafka:
// (a) the Eclipse Leshan client (test/interop/LeshanInteropClient.java in bootstrap mode)
//     bootstraps through the gateway and registers to the server URI it was written;
// (b) libcoap's coap-client: bad Bootstrap-Requests → 4.00, a valid one → 2.04, and the
//     writes it never answers end as `timeout` in dmp:bs:{epi};
// (c) the configuration levels: per EPI beats per AppKey beats the env default.
import { type ChildProcess, spawn } from 'node:child_process';
import type { DeviceEvent } from '@dmp/contracts';
import { encodeEpn } from '@dmp/identity';
import { ROOT, waitUntil } from '@dmp/testing';
import { coapClient, deviceEvents, type GatewayProcess, peers, redisClient, responseLine, startGateway, testImei, type TopicCollector } from './harness';

let gw: GatewayProcess;
let events: TopicCollector<DeviceEvent>;
const redis = redisClient();
const cleanup: string[] = [];
let leshan: ChildProcess | undefined;
let leshanOut = '';

const ENV_SERVER = 'coap://127.0.0.1:5999';

beforeAll(async () => {
  [gw, events] = await Promise.all([
    startGateway(undefined, { COAP_ACK_TIMEOUT_MS: '300', COAP_MAX_RETRANSMIT: '1', BOOTSTRAP_DEFAULT_SERVERS: ENV_SERVER }),
    deviceEvents(),
    redis.connect(),
  ]).then(([g, e]) => [g, e] as const);
});

afterAll(async () => {
  if (leshan && leshan.exitCode === null) {
    const exited = new Promise((r) => leshan?.once('exit', r));
    leshan.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
  }
  if (cleanup.length) await redis.del(...cleanup);
  await Promise.allSettled([gw?.stop(), events?.close(), redis.quit()]);
});

const uri = (p: string) => `coap://127.0.0.1:${gw.coapPort}${p}`;

async function setConfig(key: string, value: object): Promise<void> {
  cleanup.push(key);
  await redis.set(key, JSON.stringify(value), 'EX', 600);
}

/** Waits until the gateway has recorded a final outcome for the EPI. */
function outcome(epi: string, timeoutMs = 15000): Promise<Record<string, string>> {
  cleanup.push(`dmp:bs:${epi}`);
  return waitUntil(`dmp:bs:${epi}`, async () => {
    const h = await redis.hgetall(`dmp:bs:${epi}`);
    return h['status'] ? h : undefined;
  }, timeoutMs, 50);
}

describe('spec §7.1 bootstrap (R-BS-1..3)', () => {
  it('spec §7.1 bootstrap: the Leshan client bootstraps through the gateway (delete, write /0 /1, finish) and registers at the written URI', async () => {
    const imei = testImei();
    // per-EPI configuration: the server account points back at this same gateway
    await setConfig(`dmp:bootstrap:epi:${imei}`, { servers: [{ uri: `coap://127.0.0.1:${gw.coapPort}`, weight: 1 }], securityMode: 'nosec', lifetime: 120, shortServerId: 77 });
    leshan = spawn(
      peers.java,
      ['-cp', `${peers.leshanLib}/*`, 'test/interop/LeshanInteropClient.java', '-bs', `coap://127.0.0.1:${gw.coapPort}`, '-n', `urn:imei:${imei}`, '-t', '60', '-b', '127.0.0.1'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    leshan.stdout?.on('data', (d: Buffer) => (leshanOut += d.toString()));
    leshan.stderr?.on('data', (d: Buffer) => (leshanOut += d.toString()));

    const bs = await outcome(imei, 60000).catch((e: Error) => {
      throw new Error(`${e.message}\nleshan: ${leshanOut.slice(-3000)}\ngateway: ${gw.output().slice(-3000)}`);
    });
    expect(bs).toMatchObject({ status: 'success', server: `coap://127.0.0.1:${gw.coapPort}`, source: 'epi', endpoint: `urn:imei:${imei}`, gw: gw.id, ip: '127.0.0.1' });
    const reg = await events.waitFor('Leshan registered after bootstrap', (e) => e.epi === imei && e.type === 'registered', 30000).catch((e: Error) => {
      throw new Error(`${e.message}\nleshan: ${leshanOut.slice(-3000)}`);
    });
    // the lifetime and binding come from the Server object the gateway wrote
    expect(reg).toMatchObject({ type: 'registered', endpoint: `urn:imei:${imei}`, lifetime: 120, binding: 'U', gatewayId: gw.id });
    // Leshan lists the Server instance the gateway created (/1/0) next to its Device
    if (reg.type === 'registered') expect(reg.links).toMatch(/<\/1\/0>.*<\/3\/0>/);
    expect(leshanOut).toContain(`Bootstrap finished coap://127.0.0.1:${gw.coapPort}`);
    expect(leshanOut).toContain(`Trying to register to coap://127.0.0.1:${gw.coapPort}`);
    // the structured log line
    expect(gw.output()).toMatch(new RegExp(`"event":"bootstrap","epi":"${imei}","outcome":"success"`));
  }, 90000);

  it('spec §7.1 bootstrap: coap-client POST /bs with an EPN without EPI → 4.00; a bad query → 4.00', async () => {
    expect(responseLine(await coapClient(['-m', 'post', uri('/bs?ep=not-valid')]))).toMatch(/c:4\.00 .*no EPI/);
    expect(responseLine(await coapClient(['-m', 'post', uri('/bs')]))).toMatch(/c:4\.00/);
    expect(responseLine(await coapClient(['-m', 'post', uri(`/bs?ep=urn:imei:${testImei()}&lt=60`)]))).toMatch(/c:4\.00/);
  });

  it('spec §7.1 bootstrap: coap-client POST /bs?ep=<valid> → 2.04; the unanswered Bootstrap-Delete ends as timeout in dmp:bs:{epi} (env default server)', async () => {
    const imei = testImei();
    const out = await coapClient(['-m', 'post', uri(`/bs?ep=urn:imei:${imei}`)], 1);
    expect(responseLine(out)).toMatch(/c:2\.04/);
    const bs = await outcome(imei);
    expect(bs).toMatchObject({ status: 'timeout', step: 'bootstrap-delete /0', server: ENV_SERVER, source: 'env', gw: gw.id });
    expect(Number(bs['ms'])).toBeGreaterThanOrEqual(300);
  });

  it('spec §7.1 bootstrap: per-EPI configuration wins over the AppKey one, which wins over the default', async () => {
    const appKey = `M${String(Date.now()).slice(-9)}`;
    const [imeiA, imeiB] = [testImei(), testImei()];
    const epn = (imei: string) => encodeEpn({ form: 'D', brand: 'acme', model: 'm1', appKey, sdkVersion: '4.0', apiVersion: '4.0', terminalType: 'A', templateId: 'TPL1', imei1: imei });
    await setConfig(`dmp:bootstrap:appkey:${appKey}`, { servers: [{ uri: 'coap://127.0.0.1:6001' }] });
    await setConfig(`dmp:bootstrap:epi:${imeiA}`, { servers: [{ uri: 'coap://127.0.0.1:6002' }] });
    expect(responseLine(await coapClient(['-m', 'post', uri(`/bs?ep=${encodeURIComponent(epn(imeiA))}`)], 1))).toMatch(/c:2\.04/);
    expect(responseLine(await coapClient(['-m', 'post', uri(`/bs?ep=${encodeURIComponent(epn(imeiB))}`)], 1))).toMatch(/c:2\.04/);
    expect(await outcome(imeiA)).toMatchObject({ server: 'coap://127.0.0.1:6002', source: 'epi' });
    expect(await outcome(imeiB)).toMatchObject({ server: 'coap://127.0.0.1:6001', source: 'appkey' });
  });

  it('counts outcomes in dmp_gateway_bootstrap_total', async () => {
    const body = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(body).toMatch(/dmp_gateway_bootstrap_total\{outcome="success"[^}]*\} [1-9]/);
    expect(body).toMatch(/dmp_gateway_bootstrap_total\{outcome="timeout"[^}]*\} [1-9]/);
  });
});
