import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Endpoints of the local stack (same defaults and env overrides as deploy/local/stack-config.mjs). */
export const stack = {
  redisUrl: `redis://127.0.0.1:${process.env.DMP_REDIS_PORT ?? 6380}`,
  kafkaBrokers: [`127.0.0.1:${process.env.DMP_KAFKA_PORT ?? 9092}`],
  cassandraContactPoints: [`127.0.0.1:${process.env.DMP_CASSANDRA_PORT ?? 9042}`],
  cassandraDc: 'datacenter1',
};

/** A name unique to this test run, for topics, groups, keyspaces and Redis prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function waitUntil<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Runs a TypeScript entry point in a child process (swc on the fly, tsconfig paths honoured). */
export function spawnTs(entry: string, env: Record<string, string>, onOutput?: (s: string) => void): ChildProcess {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', entry], {
    cwd: ROOT,
    env: { ...process.env, SWC_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => onOutput?.(d.toString()));
  child.stderr?.on('data', (d: Buffer) => onOutput?.(d.toString()));
  return child;
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}
