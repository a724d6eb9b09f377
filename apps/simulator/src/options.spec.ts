import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OptionsError, parseCli, parseForms, validateConfig } from './options';
import { planPhases, workerConfigs } from './simulator';

const T = ['--target', 'coap://127.0.0.1:5683'];
const dir = mkdtempSync(path.join(tmpdir(), 'sim-opts-'));
const cfg = (args: string[]) => parseCli([...T, ...args], dir).config!;

describe('CLI options', () => {
  it('has the documented defaults', () => {
    const c = cfg([]);
    expect(c).toMatchObject({ ues: 1000, firstIndex: 0, seed: 1, rate: 500, lifetime: 300, jitter: 0.1, binding: 'U', notify: 'non', processes: 1, metricsPort: 9464, deregister: true, sendInterval: 0 });
    expect(c.forms).toEqual({ B: 6, C: 1, URN_IMEI: 1 });
  });

  it('parses every flag', () => {
    const c = cfg(['--ues', '5000', '--first-index', '7', '--rate', '2000', '--binding', 'uq', '--awake-ms', '3000', '--forms', 'B:6,A:2,C:1,URN_IMEI:1', '--appkey', 'Key1', '--password', 'pw', '--duration', '30', '--storm-at', '10', '--send-interval', '60', '--notify', 'con', '--processes', '2', '--sockets', '100', '--source-ips', '127.50.0.0/16', '--metrics-port', '0', '--report', 'x.json', '--no-deregister', '--progress-interval', '5']);
    expect(c).toMatchObject({ ues: 5000, firstIndex: 7, rate: 2000, binding: 'UQ', awakeMs: 3000, appKey: 'Key1', password: 'pw', duration: 30, stormAt: 10, sendInterval: 60, notify: 'con', processes: 2, sockets: 100, sourceIps: '127.50.0.0/16', metricsPort: 0, report: 'x.json', deregister: false, progressInterval: 5 });
    expect(c.forms).toEqual({ B: 6, A: 2, C: 1, URN_IMEI: 1 });
  });

  it('adds Form A to the default mix when an AppKey is given', () => {
    expect(cfg(['--appkey', 'K']).forms).toEqual({ B: 6, A: 2, C: 1, URN_IMEI: 1 });
  });

  it.each([
    [['--target', 'coaps://127.0.0.1:5684'], /coaps:\/\/ \(DTLS\) is not supported/],
    [['--target', 'http://x'], /coap:\/\/host:port/],
    [['--ues', '0'], /ues/],
    [['--ues', 'ten'], /not a number/],
    [['--binding', 'S'], /binding/],
    [['--forms', 'B:1,Z:2'], /not FORM/],
    [['--forms', 'A:1'], /Form A needs --appkey/],
    [['--sockets', '25000'], /sockets/],
    [['--bogus', '1'], /bogus/],
    [['--ues', '20000'], /binding U keeps one socket per UE.*--binding UQ.*--processes \(at least 2\)/],
  ])('rejects %j', (args, message) => {
    const run = () => parseCli([...T, ...args], dir);
    expect(run).toThrow(OptionsError);
    expect(run).toThrow(message);
  });

  it('accepts more UEs than sockets in queue mode or over several processes', () => {
    expect(cfg(['--ues', '100000', '--binding', 'UQ']).ues).toBe(100000);
    expect(cfg(['--ues', '30000', '--processes', '2']).processes).toBe(2);
  });

  it('takes the target from .dmp/endpoints.json, and says what to do without one', () => {
    expect(() => parseCli([], dir)).toThrow(/npm start/);
    const root = mkdtempSync(path.join(tmpdir(), 'sim-root-'));
    mkdirSync(path.join(root, '.dmp'));
    writeFileSync(path.join(root, '.dmp', 'endpoints.json'), JSON.stringify({ coap: 'coap://127.0.0.1:5999' }));
    expect(parseCli([], root).config!.target).toBe('coap://127.0.0.1:5999');
  });

  it('parses forms', () => {
    expect(parseForms('B:6, URN_IMEI')).toEqual({ B: 6, URN_IMEI: 1 });
    expect(() => validateConfig({ target: 'coap://h:1', forms: { B: 0 } })).toThrow(/weight > 0/);
  });
});

describe('scenario files', () => {
  it('reads YAML with phases, and CLI flags override its keys', () => {
    const f = path.join(dir, 's.yaml');
    writeFileSync(f, ['ues: 300', 'rate: 50', 'binding: UQ', 'forms: "B:1,C:1"', 'phases:', '  - { action: register, rate: 100 }', '  - { name: hold, action: steady, seconds: 5 }', '  - { action: storm }', '  - { action: deregister }'].join('\n'));
    const c = cfg(['--scenario', f, '--ues', '400']);
    expect(c.ues).toBe(400);
    expect(c.rate).toBe(50);
    expect(c.forms).toEqual({ B: 1, C: 1 });
    expect(c.phases!.map((p) => p.action)).toEqual(['register', 'steady', 'storm', 'deregister']);
    expect(planPhases(c)).toBe(c.phases);
  });

  it('reads JSON and rejects unknown keys and bad phases', () => {
    const good = path.join(dir, 'g.json');
    writeFileSync(good, JSON.stringify({ ues: 10, notify: 'con' }));
    expect(cfg(['--scenario', good]).notify).toBe('con');
    const bad = path.join(dir, 'b.json');
    writeFileSync(bad, JSON.stringify({ ues: 10, colour: 'red' }));
    expect(() => cfg(['--scenario', bad])).toThrow(/colour/);
    writeFileSync(bad, JSON.stringify({ phases: [{ action: 'dance' }] }));
    expect(() => cfg(['--scenario', bad])).toThrow(/phases/);
    writeFileSync(bad, '{ not json');
    expect(() => cfg(['--scenario', bad])).toThrow(/not valid JSON/);
    expect(() => cfg(['--scenario', path.join(dir, 'missing.yaml')])).toThrow(/cannot read/);
  });
});

describe('phase plan and worker slices', () => {
  it('splits the steady state around the storm and ends with de-registration', () => {
    const c = cfg(['--duration', '60', '--storm-at', '20']);
    expect(planPhases(c).map((p) => [p.action, p.seconds])).toEqual([['register', undefined], ['steady', 20], ['storm', undefined], ['steady', 40], ['deregister', undefined]]);
    expect(planPhases(cfg(['--no-deregister'])).map((p) => p.action)).toEqual(['register', 'steady']);
  });

  it('gives each worker a disjoint slice of indices, its share of the rate and its own process index', () => {
    const ws = workerConfigs(cfg(['--ues', '10001', '--processes', '3', '--rate', '900', '--first-index', '5', '--binding', 'UQ']));
    expect(ws.map((w) => [w.firstIndex, w.ues, w.rate, w.processIndex, w.processes, w.metricsPort])).toEqual([
      [5, 3334, 300, 0, 1, 0],
      [3339, 3334, 300, 1, 1, 0],
      [6673, 3333, 300, 2, 1, 0],
    ]);
  });
});
