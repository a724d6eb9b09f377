/**
 * Process and machine helpers shared by the benchmark suites: the local stack's
 * environment, CPU pinning, /proc readings (CPU seconds, RSS, UDP receive-buffer drops),
 * starting the platform's apps and the Leshan baseline server as child processes, and
 * stopping them.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Repository root (suites run from dist/bench/<suite>/). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const LESHAN_VERSION = '2.0.0-M15';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** REDIS_URL, KAFKA_BROKERS, CASSANDRA_* of the local stack (`deploy/local/stack.mjs env`). */
export function stackEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const out = execFileSync(process.execPath, [path.join(ROOT, 'deploy/local/stack.mjs'), 'env'], { cwd: ROOT, encoding: 'utf8' });
  for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
  return env;
}

/** `taskset` prefixes for a server on core 0 and a load generator on core 1 (empty when unavailable). */
export function pinning(): { server: string[]; loadgen: string[]; label: string } {
  let taskset = '';
  try {
    taskset = execFileSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' }).trim();
  } catch {
    taskset = '';
  }
  if (taskset && os.cpus().length >= 2) return { server: [taskset, '-c', '0'], loadgen: [taskset, '-c', '1'], label: 'server taskset -c 0, loadgen taskset -c 1' };
  return { server: [], loadgen: [], label: 'none (taskset missing or 1 core)' };
}

/** Java binary and Leshan server jars (resolved and cached by deploy/local/peers.sh when missing). */
export function leshanPeers(): { java: string; lib: string } {
  const home = process.env['HOME'] ?? '/root';
  let lib = process.env['LESHAN_SERVER_LIB'] ?? path.join(home, `.cache/dmp/leshan-server-${LESHAN_VERSION}/lib`);
  let java = process.env['PEERS_JAVA'] ?? '/usr/lib/jvm/java-17-openjdk-amd64/bin/java';
  if (!fs.existsSync(path.join(lib, '.complete')) || !fs.existsSync(java)) {
    const out = execFileSync('bash', [path.join(ROOT, 'deploy/local/peers.sh')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    lib = /export LESHAN_SERVER_LIB=(\S+)/.exec(out)?.[1] ?? lib;
    java = /export PEERS_JAVA=(\S+)/.exec(out)?.[1] ?? java;
  }
  return { java, lib };
}

/** RcvbufErrors of the Udp line in /proc/net/snmp (system-wide). */
export function rcvbufErrors(): number {
  try {
    const lines = fs.readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const head = lines[0]!.split(/\s+/);
    const vals = lines[1]!.split(/\s+/);
    return Number(vals[head.indexOf('RcvbufErrors')] ?? 0);
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system, all threads) of a process. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15) in clock ticks
  } catch {
    return 0;
  }
}

/** Resident set size of a process in bytes (VmRSS), 0 when it is gone. */
export function rssBytes(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine (all cores), for a busy percentage between two readings. */
export function cpuTotals(): { busy: number; total: number } {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 1 };
  }
}

export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Server {
  name: string;
  /** UDP port (CoAP servers) or HTTP port (services). */
  port: number;
  pid: number | undefined;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export function spawnPinned(prefix: string[], cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const [bin, ...rest] = prefix.length ? [...prefix, cmd, ...args] : [cmd, ...args];
  return spawn(bin!, rest, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
}

export async function waitFor<T>(what: string, child: ChildProcess, out: () => string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (child.exitCode !== null) throw new Error(`${what}: process exited (${child.exitCode}): ${out().slice(-2000)}`);
    if (Date.now() > end) throw new Error(`${what}: not ready after ${timeoutMs} ms: ${out().slice(-2000)}`);
    await sleep(50);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export function stopper(child: ChildProcess, graceMs: number): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  };
}

/** Output collected from a child (bounded: the last 256 kB). */
function collect(child: ChildProcess): () => string {
  let out = '';
  const add = (d: Buffer) => {
    out += d.toString();
    if (out.length > 262144) out = out.slice(-131072);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
}

/** One of our CoAP gateways on an ephemeral UDP port (rate limit off, warn logs). */
export async function startGateway(pin: string[], stack: Record<string, string>, id: string, env: Record<string, string> = {}): Promise<Server> {
  const nodeArgs: string[] = [];
  const prof = process.env['BENCH_GATEWAY_CPU_PROF'];
  if (prof) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${prof}`);
  const child = spawnPinned(pin, process.execPath, [...nodeArgs, path.join(ROOT, 'dist/apps/coap-gateway/src/main.js')], {
    ...process.env,
    GATEWAY_ID: id,
    HTTP_PORT: '0',
    COAP_LISTEN: 'udp4://127.0.0.1:0',
    COAP_RATE_PER_SEC: '0',
    LOG_LEVEL: 'warn',
    REDIS_URL: stack['REDIS_URL'],
    KAFKA_BROKERS: stack['KAFKA_BROKERS'],
    ...env,
  });
  const output = collect(child);
  const port = await waitFor('gateway', child, output, () => {
    const m = /COAP LISTENING udp4:\/\/127\.0\.0\.1:(\d+)/.exec(output());
    return m ? Number(m[1]) : undefined;
  }, 60000);
  return { name: 'ours', port, pid: child.pid, child, output, stop: stopper(child, 15000) };
}

/** The Leshan server library behind bench/peers/LeshanServerBench.java (in-memory store, NoSec). */
export async function startLeshan(pin: string[]): Promise<Server> {
  const { java, lib } = leshanPeers();
  const port = await freeUdpPort();
  const child = spawnPinned(pin, java, ['-Xms512m', '-Xmx2g', '-cp', `${lib}/*`, path.join(ROOT, 'bench/peers/LeshanServerBench.java'), '-b', '127.0.0.1', '-p', String(port), '-t', '900'], process.env);
  const output = collect(child);
  await waitFor('leshan', child, output, () => (/LESHAN LISTENING/.test(output()) ? true : undefined), 60000);
  return { name: 'leshan', port, pid: child.pid, child, output, stop: stopper(child, 10000) };
}

/** One of our HTTP services (registry, storage, command, …) on an ephemeral port; resolves once it listens. */
export async function startService(app: string, pin: string[], env: Record<string, string>): Promise<Server> {
  const child = spawnPinned(pin, process.execPath, [path.join(ROOT, `dist/apps/${app}/src/main.js`)], {
    ...process.env,
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const output = collect(child);
  const port = await waitFor(app, child, output, () => {
    const m = /HTTP LISTENING http:\/\/[^:]+:(\d+)/.exec(output());
    return m ? Number(m[1]) : undefined;
  }, 90000);
  return { name: app, port, pid: child.pid, child, output, stop: stopper(child, 15000) };
}
