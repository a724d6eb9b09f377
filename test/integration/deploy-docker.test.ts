// Image and compose definitions (issue 8). No Docker engine here: the Dockerfile is checked
// as text against what the build needs, and deploy/docker-compose.yml against the Compose
// Specification JSON schema (from the compose-go Go module, validated by helm's JSON-schema
// validator through a scratch chart) plus its structure and the apps' own env schemas.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { cassandraEnv, kafkaEnv } from '@dmp/config';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCKERFILE = path.join(ROOT, 'deploy', 'docker', 'Dockerfile');
const COMPOSE_FILE = path.join(ROOT, 'deploy', 'docker-compose.yml');
type Json = Record<string, any>;

/** Apps with an entry point: every one needs an image and a compose service. */
const APPS = fs
  .readdirSync(path.join(ROOT, 'apps'))
  .filter((a) => fs.existsSync(path.join(ROOT, 'apps', a, 'src', 'main.ts')))
  .sort();
/** Apps that are tools run on demand (compose profile `tools`), not platform services. */
const TOOLS = ['simulator'];

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** `${VAR:-default}` / `${VAR}` as compose resolves them with an empty environment. */
const interpolate = (v: string) => v.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, _name: string, dflt?: string) => dflt ?? '');

async function appEnvSchema(app: string): Promise<z.ZodType | undefined> {
  const file = path.join(ROOT, 'apps', app, 'src', 'config.ts');
  if (!fs.existsSync(file)) return undefined;
  const mod = (await import(file)) as Record<string, unknown>;
  return Object.entries(mod).find(([name, v]) => name.endsWith('Env') && v instanceof z.ZodType)?.[1] as z.ZodType | undefined;
}

describe('image build definition (deploy/docker/Dockerfile)', () => {
  const text = fs.readFileSync(DOCKERFILE, 'utf8');
  const ins = instructions(text);
  const froms = ins.filter((i) => i.op === 'FROM');
  const runtimeAt = ins.lastIndexOf(froms[froms.length - 1]!);
  const runtime = ins.slice(runtimeAt);

  it('is multi-stage on a pinned slim Node 20 base', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
    expect(base).toMatch(/^node:20(\.\d+){1,2}-[a-z]+-slim$/);
    for (const f of froms) expect(f.args).toMatch(/^\$\{NODE_IMAGE\} AS [a-z-]+$/);
  });

  it('runs as a non-root user under tini, with no HEALTHCHECK and exec-form entry point', () => {
    const user = runtime.filter((i) => i.op === 'USER').pop()?.args;
    expect(user).toMatch(/^[1-9]\d{3,}(:[1-9]\d{3,})?$/);
    expect(ins.some((i) => i.op === 'HEALTHCHECK')).toBe(false);
    expect(JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['/usr/bin/tini', '--']);
    expect(JSON.parse(runtime.find((i) => i.op === 'CMD')!.args)).toEqual(['node', 'dist/apps/current/src/main.js']);
    expect(runtime.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))?.args).toContain('tini');
  });

  it('carries the OCI annotations as labels', () => {
    const labels = runtime.filter((i) => i.op === 'LABEL').map((i) => i.args).join(' ');
    for (const k of ['title', 'description', 'version', 'revision', 'created', 'source', 'licenses', 'url', 'documentation', 'vendor']) {
      expect(labels).toContain(`org.opencontainers.image.${k}=`);
    }
    expect(labels).toContain('org.opencontainers.image.licenses="Apache-2.0"');
  });

  it('copies what `npm run build` compiles, and the runtime stage only dist + production node_modules', () => {
    const copied = ins
      .slice(0, runtimeAt)
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const src of copied) expect([src, fs.existsSync(path.join(ROOT, src))]).toEqual([src, true]);
    const build = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    for (const glob of build.include) {
      const top = glob.split('/')[0]!;
      expect([glob, copied.includes(top)]).toEqual([glob, true]);
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const script of pkg.scripts.build!.match(/scripts\/[\w.-]+/g) ?? []) expect(copied).toContain(script);
    expect(text).toMatch(/npm ci --omit=dev/);
    const fromBuild = runtime.filter((i) => i.op === 'COPY' && i.args.includes('--from=build')).map((i) => i.args.split(/\s+/).slice(-2, -1)[0]);
    expect(fromBuild.sort()).toEqual(['/src/dist/apps/${APP}', '/src/dist/libs', '/src/package.json']);
  });

  it('builds any app of apps/ by --build-arg APP (dist layout the image expects)', () => {
    expect(APPS).toEqual(expect.arrayContaining(['api-gateway', 'coap-gateway', 'migrate']));
    expect(text).toContain('test -f "apps/${APP}/src/main.ts"');
    // tsc keeps apps/<app>/src/main.ts at dist/apps/<app>/src/main.js (rootDir ".")
    const build = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: Json };
    expect(build.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: '.' });
  });

  it('keeps the build context small (.dockerignore)', () => {
    const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split(/\r?\n/).map((l) => l.trim());
    for (const p of ['.git', '.dmp', 'dist', '**/node_modules']) expect(ignore).toContain(p);
    for (const p of ['apps', 'libs', 'scripts', 'package.json']) expect(ignore).not.toContain(p);
  });
});

describe('deploy/docker-compose.yml', () => {
  const compose = YAML.parse(fs.readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as Json;
  const services = compose.services as Record<string, Json>;

  it('follows the Compose Specification schema', () => {
    const tools = JSON.parse(
      execFileSync(process.execPath, [path.join(ROOT, 'deploy', 'helm-tools.mjs'), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
    ) as { helm: string; composeSchema: string };
    // a scratch chart whose values schema is the compose schema: helm validates the compose file as its values
    const chart = fs.mkdtempSync(path.join(os.tmpdir(), 'dmp-compose-'));
    try {
      fs.mkdirSync(path.join(chart, 'templates'));
      fs.writeFileSync(path.join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: compose-check\nversion: 0.0.0\n');
      fs.copyFileSync(tools.composeSchema, path.join(chart, 'values.schema.json'));
      const check = (file: string) => spawnSync(tools.helm, ['template', 'x', chart, '-f', file], { encoding: 'utf8' });
      const ok = check(COMPOSE_FILE);
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      const bad = path.join(chart, 'bad-compose.yml');
      fs.writeFileSync(bad, fs.readFileSync(COMPOSE_FILE, 'utf8').replace('    image: redis:', '    imgae: x\n    image: redis:'));
      expect(check(bad).stderr).toMatch(/services\/redis\/imgae/);
    } finally {
      fs.rmSync(chart, { recursive: true, force: true });
    }
  }, 10 * 60 * 1000);

  it('runs Redis, Kafka in KRaft mode (no ZooKeeper) and Cassandra with pinned images', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', 'kafka', 'cassandra']));
    expect(Object.keys(services).some((s) => /zookeeper/i.test(s))).toBe(false);
    const kafka = services.kafka!.environment as Record<string, string>;
    expect(kafka.KAFKA_PROCESS_ROLES!.split(',').sort()).toEqual(['broker', 'controller']);
    expect(kafka.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(/^1@kafka:\d+$/);
    expect(Object.keys(kafka).some((k) => k.includes('ZOOKEEPER'))).toBe(false);
    for (const [name, s] of Object.entries(services)) {
      expect([name, s.image]).toEqual([name, expect.stringMatching(/^[\w./-]+:[\w.${}:-]+$/)]);
      expect(interpolate(s.image)).not.toMatch(/:latest$/);
    }
  });

  it('has a service per app, built from deploy/docker/Dockerfile with APP=<app>', () => {
    const planned = ['registry', 'storage', 'command', 'query'];
    for (const app of [...APPS, ...planned]) {
      const s = services[app];
      expect([app, Boolean(s)]).toEqual([app, true]);
      expect(path.resolve(path.dirname(COMPOSE_FILE), s!.build.context)).toBe(ROOT);
      expect(s!.build.dockerfile).toBe('deploy/docker/Dockerfile');
      expect(s!.build.args.APP).toBe(app);
      // apps that do not exist yet stay out of a plain `up`
      expect([app, s!.profiles ?? []]).toEqual([app, TOOLS.includes(app) ? ['tools'] : APPS.includes(app) ? [] : ['planned']]);
    }
  });

  it('runs the apps read-only, non-root, without capabilities, after the migrate job', () => {
    for (const app of Object.keys(services).filter((s) => services[s]!.build)) {
      const s = services[app]!;
      expect([app, s.read_only, s.tmpfs, s.cap_drop]).toEqual([app, true, ['/tmp'], ['ALL']]);
      expect(s.user).toMatch(/^[1-9]\d{3,}:[1-9]\d{3,}$/);
      expect(s.healthcheck).toBeUndefined();
      if (app !== 'migrate') expect([app, s.depends_on?.migrate]).toEqual([app, { condition: 'service_completed_successfully' }]);
      for (const dep of Object.keys(s.depends_on ?? {})) expect(services[dep]).toBeDefined();
    }
    expect(services['migrate']!.depends_on).toEqual({ kafka: { condition: 'service_healthy' }, cassandra: { condition: 'service_healthy' } });
    expect(services['coap-gateway']!.ports).toContain('5683:5683/udp');
  });

  it("gives each app an environment its config schema accepts, on deploy/local's ports", async () => {
    const local = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('./deploy/local/services.mjs'); console.log(JSON.stringify(m.SERVICES))"], { cwd: ROOT, encoding: 'utf8' }),
    ) as { name: string; httpPort: number }[];
    const hosts = new Set(Object.keys(services));
    let checked = 0;
    for (const app of APPS) {
      const env = Object.fromEntries(Object.entries(services[app]!.environment as Record<string, string>).map(([k, v]) => [k, interpolate(String(v))]));
      for (const k of ['KAFKA_BROKERS', 'CASSANDRA_CONTACT_POINTS']) for (const hp of env[k]?.split(',') ?? []) expect(hosts.has(hp.split(':')[0]!)).toBe(true);
      if (env.REDIS_URL) expect(hosts.has(new URL(env.REDIS_URL).hostname)).toBe(true);
      const schema = app === 'migrate' ? z.object({ ...kafkaEnv, ...cassandraEnv }) : await appEnvSchema(app);
      if (!schema) continue;
      const parsed = schema.safeParse(env);
      expect([app, parsed.success ? 'ok' : parsed.error.message]).toEqual([app, 'ok']);
      checked++;
      const port = local.find((s) => s.name === app)?.httpPort;
      if (port !== undefined) expect([app, Number(env.HTTP_PORT), env.HTTP_HOST]).toEqual([app, port, '0.0.0.0']);
    }
    expect(checked).toBeGreaterThanOrEqual(3);
    const upstreams = JSON.parse(services['api-gateway']!.environment.API_UPSTREAMS) as Record<string, string>;
    for (const url of Object.values(upstreams)) expect(hosts.has(new URL(url).hostname)).toBe(true);
  });
});
