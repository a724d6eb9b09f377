#!/usr/bin/env node
// `npm start`: stack up → build → provision (topics, CQL) → start every app as its own
// process → write .dmp/endpoints.json → on Ctrl-C stop the apps (SIGTERM, drained) and
// the stack processes this run started.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICES, STACK_ENV } from '../deploy/local/services.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dmp = path.join(root, '.dmp');
const log = (...a) => console.log('[start]', ...a);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`[start] ${cmd} ${args.join(' ')} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

function stackRunning() {
  return spawnSync(process.execPath, ['deploy/local/stack.mjs', 'status'], { cwd: root, stdio: 'ignore' }).status === 0;
}

// 1. dependencies and stack
run('bash', ['scripts/ensure-deps.sh']);
const stackWasRunning = stackRunning();
run(process.execPath, ['deploy/local/stack.mjs', 'up']);

// 2. build and provision
log('building');
run('npm', ['run', '-s', 'build']);
log('provisioning Kafka topics and Cassandra migrations');
run(process.execPath, ['dist/apps/migrate/src/main.js'], { env: { ...process.env, ...STACK_ENV } });

// 3. admin token (generated once, kept in .dmp/admin-token, mode 0600)
const tokenFile = path.join(dmp, 'admin-token');
if (!fs.existsSync(tokenFile)) fs.writeFileSync(tokenFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
const token = fs.readFileSync(tokenFile, 'utf8').trim();

// 4. every app that exists (apps/<name>/src/main.ts), except one-shot tools
const present = SERVICES.filter((s) => fs.existsSync(path.join(root, 'apps', s.name, 'src', 'main.ts')));
const unknown = fs
  .readdirSync(path.join(root, 'apps'))
  .filter((d) => fs.existsSync(path.join(root, 'apps', d, 'src', 'main.ts')))
  .filter((d) => !SERVICES.some((s) => s.name === d) && !['migrate', 'simulator'].includes(d));
if (unknown.length) log(`not started (add them to deploy/local/services.mjs): ${unknown.join(', ')}`);

const upstreams = Object.fromEntries(
  present.flatMap((s) => (s.routes ?? []).map((prefix) => [prefix, `http://127.0.0.1:${s.httpPort}`])),
);
const children = new Map();
let stopping = false;

function startApp(s) {
  const env = {
    ...process.env,
    ...STACK_ENV,
    ...(s.env ?? {}),
    HTTP_PORT: String(s.httpPort),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    API_ADMIN_TOKEN: token,
    API_UPSTREAMS: JSON.stringify(upstreams),
  };
  const child = spawn(process.execPath, [path.join('dist/apps', s.name, 'src/main.js')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `${s.name.padEnd(12)}|`;
  const pipe = (stream, out) => {
    let buf = '';
    stream.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        out.write(`${prefix} ${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
      }
    });
  };
  pipe(child.stdout, process.stdout);
  pipe(child.stderr, process.stderr);
  child.on('exit', (code, signal) => {
    children.delete(s.name);
    if (!stopping) {
      console.error(`[start] ${s.name} exited (code ${code}, signal ${signal}); stopping everything`);
      void shutdown(1);
    }
  });
  children.set(s.name, child);
}

async function waitReady(s, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    const ok = await fetch(`http://127.0.0.1:${s.httpPort}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${s.name} not ready on :${s.httpPort} within ${timeoutMs / 1000}s`);
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping apps');
  const exits = [...children.values()].map((c) => new Promise((r) => c.once('exit', r)));
  for (const c of children.values()) c.kill('SIGTERM');
  await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 15000))]);
  for (const c of children.values()) c.kill('SIGKILL');
  if (!stackWasRunning) {
    log('stopping the stack (it was started by this run; `npm run stack -- up` keeps one running)');
    spawnSync(process.execPath, ['deploy/local/stack.mjs', 'down'], { cwd: root, stdio: 'inherit' });
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

for (const s of present) startApp(s);
try {
  await Promise.all(present.map((s) => waitReady(s)));
} catch (e) {
  console.error(`[start] ${e.message}`);
  await shutdown(1);
}

const coapUp = present.some((s) => s.name === 'coap-gateway');
const endpoints = {
  coap: coapUp ? 'coap://127.0.0.1:5683' : null,
  api: 'http://127.0.0.1:8080/api/v1',
  token,
  docs: 'http://127.0.0.1:8080/api/docs',
  metrics: Object.fromEntries(present.map((s) => [s.name, `http://127.0.0.1:${s.httpPort}/metrics`])),
  stack: {
    redis: STACK_ENV.REDIS_URL,
    kafka: STACK_ENV.KAFKA_BROKERS,
    cassandra: STACK_ENV.CASSANDRA_CONTACT_POINTS,
  },
  services: present.map((s) => s.name),
};
fs.writeFileSync(path.join(dmp, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
console.log(`
DMP is running (${present.map((s) => s.name).join(', ')}).
  HTTP API   ${endpoints.api}   (Authorization: Bearer $(cat .dmp/admin-token))
  API docs   ${endpoints.docs}
  CoAP       ${endpoints.coap ?? 'none yet (the CoAP gateway app does not exist in this version)'}
  Metrics    ${Object.entries(endpoints.metrics).map(([k, v]) => `${k} ${v}`).join('\n             ')}
  Stack      redis ${endpoints.stack.redis}, kafka ${endpoints.stack.kafka}, cassandra ${endpoints.stack.cassandra}
  All of it: .dmp/endpoints.json
Press Ctrl-C to stop.
`);
