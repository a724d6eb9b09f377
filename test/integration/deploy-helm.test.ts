// Helm chart checks (issue 8), offline: helm lint --strict and helm template for every
// helm/dmp/ci/*-values.yaml, every rendered manifest validated with kubeconform against
// strict JSON schemas of the Kubernetes API (deploy/helm-tools.mjs builds the tools and
// schemas into ~/.cache/dmp), the deployment invariants, the apps' own env schemas, the
// values schema and the generated README table.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { cassandraEnv, kafkaEnv } from '@dmp/config';

const ROOT = path.resolve(__dirname, '..', '..');
const CHART = path.join(ROOT, 'helm', 'dmp');
const KUBE_VERSION = '1.34.2';
const CI_FILES = fs
  .readdirSync(path.join(CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();

interface Tools {
  helm: string;
  kubeconform: string;
  schemas: string;
}
type Json = Record<string, any>;

let tools: Tools;

/** The zod env schema an app exports from apps/<app>/src/config.ts (the one named *Env), if any. */
async function appEnvSchema(app: string): Promise<z.ZodType | undefined> {
  const file = path.join(ROOT, 'apps', app, 'src', 'config.ts');
  if (!fs.existsSync(file)) return undefined;
  const mod = (await import(file)) as Record<string, unknown>;
  const found = Object.entries(mod).find(([name, v]) => name.endsWith('Env') && v instanceof z.ZodType);
  return found?.[1] as z.ZodType | undefined;
}

function run(cmd: string, args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { cwd: CHART, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function helm(args: string[]): { code: number; out: string; err: string } {
  return run(tools.helm, args);
}

/** `helm template` → the rendered YAML text (throws with helm's message on failure). */
function renderText(valueFiles: string[] = [], set: string[] = [], chart = CHART): string {
  const args = ['template', 't', chart, '--namespace', 'dmp', '--kube-version', KUBE_VERSION];
  for (const f of valueFiles) args.push('-f', path.join(CHART, 'ci', f));
  for (const s of set) args.push('--set', s);
  const r = helm(args);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.err}`);
  return r.out;
}

function parseDocs(text: string): Json[] {
  return YAML.parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
      return d.toJSON() as Json | null;
    })
    .filter((d): d is Json => d !== null && typeof d === 'object');
}

const render = (valueFiles: string[] = [], set: string[] = []) => parseDocs(renderText(valueFiles, set));
const ofKind = (docs: Json[], kind: string) => docs.filter((d) => d.kind === kind);
const named = (docs: Json[], kind: string, name: string) => {
  const d = docs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!d) throw new Error(`no ${kind} ${name} in ${docs.map((x) => `${x.kind}/${x.metadata?.name}`).join(', ')}`);
  return d;
};

function kubeconform(manifests: string): { valid: number; problems: string[] } {
  const r = run(
    tools.kubeconform,
    ['-strict', '-summary', '-output', 'json', '-schema-location', `${tools.schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`, '-'],
    manifests,
  );
  const report = JSON.parse(r.out) as { resources?: { kind: string; name: string; status: string; msg: string }[]; summary: { valid: number; invalid: number; errors: number; skipped: number } };
  const problems = (report.resources ?? []).filter((x) => x.status !== 'statusValid').map((x) => `${x.kind}/${x.name}: ${x.status} ${x.msg}`);
  if (r.code !== 0 && problems.length === 0) problems.push(`kubeconform exited ${r.code}: ${r.err}`);
  if (report.summary.skipped > 0) problems.push(`${report.summary.skipped} resources skipped (no schema)`);
  return { valid: report.summary.valid, problems };
}

/** The environment a container would see, secrets and downward API filled with stand-ins. */
function containerEnv(container: Json, docs: Json[], podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, named(docs, 'ConfigMap', from.configMapRef.name).data);
    else if (from.secretRef) {
      const data = named(docs, 'Secret', from.secretRef.name).data as Record<string, string>;
      for (const [k, v] of Object.entries(data)) env[k] = Buffer.from(v, 'base64').toString('utf8');
    }
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.fieldRef) env[e.name] = e.valueFrom.fieldRef.fieldPath === 'metadata.name' ? podName : 'dmp';
    else if (e.valueFrom?.secretKeyRef) env[e.name] = 's3cret'.repeat(8);
    else env[e.name] = String(e.value).replace(/\$\(([A-Z0-9_]+)\)/g, (m, v: string) => env[v] ?? m);
  }
  return env;
}

beforeAll(() => {
  const out = execFileSync(process.execPath, [path.join(ROOT, 'deploy', 'helm-tools.mjs'), '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  tools = JSON.parse(out) as Tools;
}, 20 * 60 * 1000);

describe('helm chart helm/dmp', () => {
  it('has the CI values files the issue asks for', () => {
    expect(CI_FILES).toEqual(expect.arrayContaining(['minimal-values.yaml', 'ha-values.yaml', 'tls-values.yaml', 'external-secrets-values.yaml']));
  });

  describe.each(['(defaults)', ...CI_FILES])('%s', (file) => {
    const files = file === '(defaults)' ? [] : [file];
    let text = '';
    let docs: Json[] = [];
    beforeAll(() => {
      text = renderText(files);
      docs = parseDocs(text);
    });

    it('passes helm lint --strict', () => {
      const args = ['lint', CHART, '--strict', '--kube-version', KUBE_VERSION, ...files.flatMap((f) => ['-f', path.join(CHART, 'ci', f)])];
      const r = helm(args);
      expect(`${r.out}${r.err}`).toContain('0 chart(s) failed');
      expect(r.code).toBe(0);
    });

    it('renders manifests that the Kubernetes API schemas accept (kubeconform -strict)', () => {
      const { valid, problems } = kubeconform(text);
      expect(problems).toEqual([]);
      expect(valid).toBe(docs.length);
    });

    it('runs every container as non-root on a read-only root filesystem, with resources, pinned images', () => {
      const pods = [...ofKind(docs, 'Deployment'), ...ofKind(docs, 'Job')].map((w) => ({ name: `${w.kind}/${w.metadata.name}`, spec: w.spec.template.spec }));
      expect(pods.length).toBeGreaterThanOrEqual(3);
      for (const { name, spec } of pods) {
        expect([name, spec.securityContext?.runAsNonRoot]).toEqual([name, true]);
        expect(spec.securityContext?.runAsUser).toBeGreaterThan(0);
        expect(spec.automountServiceAccountToken).toBe(false);
        for (const c of spec.containers as Json[]) {
          const where = `${name} ${c.name}`;
          const sc = c.securityContext ?? {};
          expect([where, sc.runAsNonRoot, sc.readOnlyRootFilesystem, sc.allowPrivilegeEscalation, sc.privileged]).toEqual([where, true, true, false, false]);
          expect([where, sc.capabilities?.drop]).toEqual([where, ['ALL']]);
          for (const kind of ['requests', 'limits']) {
            expect([where, kind, Boolean(c.resources?.[kind]?.cpu), Boolean(c.resources?.[kind]?.memory)]).toEqual([where, kind, true, true]);
          }
          expect(c.image).toMatch(/^[^\s]+(:[\w][\w.-]*|@sha256:[a-f0-9]{64})$/);
          expect(c.image).not.toMatch(/:latest$/);
          // /tmp is the only writable path
          expect((c.volumeMounts as Json[]).map((m) => m.mountPath)).toContain('/tmp');
        }
      }
    });

    it('probes every app container on /health/live and /health/ready', () => {
      for (const d of ofKind(docs, 'Deployment')) {
        for (const c of d.spec.template.spec.containers as Json[]) {
          const httpPort = (c.ports as Json[]).find((p) => p.name === 'http');
          expect(httpPort?.protocol).toBe('TCP');
          expect(c.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
          expect(c.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
          expect(c.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
          const env = Object.fromEntries((c.env as Json[]).filter((e) => 'value' in e).map((e) => [e.name, e.value]));
          expect(Number(env.HTTP_PORT)).toBe(httpPort!.containerPort);
          expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(10);
        }
      }
    });

    it('exposes the gateway on UDP 5683 and 5684, keeping source addresses and client affinity', () => {
      const svc = named(docs, 'Service', 't-dmp-coap');
      expect((svc.spec.ports as Json[]).map((p) => [p.name, p.port, p.protocol])).toEqual([
        ['coap', 5683, 'UDP'],
        ['coaps', 5684, 'UDP'],
      ]);
      if (svc.spec.type !== 'ClusterIP') expect(svc.spec.externalTrafficPolicy).toBe('Local');
      expect(svc.spec.sessionAffinity).toBe('ClientIP');
      // longer than half of the longest registration lifetime (86400 s by default)
      expect(svc.spec.sessionAffinityConfig.clientIP.timeoutSeconds).toBeGreaterThan(86400 / 2);
      const gw = named(docs, 'Deployment', 't-dmp-coap-gateway').spec.template.spec.containers[0];
      expect((gw.ports as Json[]).filter((p) => p.protocol === 'UDP').map((p) => p.containerPort)).toEqual([5683, 5684]);
      expect((gw.env as Json[]).find((e) => e.name === 'GATEWAY_ID')).toEqual({ name: 'GATEWAY_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    });

    it('gives each app an environment its own config schema accepts', async () => {
      let checked = 0;
      const configs: Record<string, Json> = {};
      for (const d of ofKind(docs, 'Deployment')) {
        const app = d.metadata.labels['app.kubernetes.io/component'] as string;
        const schema = await appEnvSchema(app);
        if (!schema) continue; // planned apps: no config schema yet
        checked++;
        const env = containerEnv(d.spec.template.spec.containers[0], docs, `${d.metadata.name}-7d9c8f6b5-x2x4q`);
        const parsed = schema.safeParse(env);
        expect([app, parsed.success ? 'ok' : parsed.error.message]).toEqual([app, 'ok']);
        const cfg = parsed.data as Json;
        configs[app] = cfg;
        expect(cfg.HTTP_HOST).toBe('0.0.0.0');
        if (app === 'coap-gateway') {
          expect(cfg.GATEWAY_ID).toBe(`${d.metadata.name}-7d9c8f6b5-x2x4q`);
          expect(cfg.COAP_LISTEN[0]).toMatch(/^udp4:\/\/0\.0\.0\.0:5683$/);
        }
      }
      expect(checked).toBeGreaterThanOrEqual(2);
      // the registry sweeps exactly the deadline shards the gateways write
      if (configs.registry && configs['coap-gateway']) expect(configs.registry.REGISTRY_DEADLINE_SHARDS).toBe(configs['coap-gateway'].GATEWAY_DEADLINE_SHARDS);
      const job = ofKind(docs, 'Job')[0]!;
      const migrate = z.object({ ...kafkaEnv, ...cassandraEnv }).safeParse(containerEnv(job.spec.template.spec.containers[0], docs, 'migrate'));
      expect(migrate.success ? 'ok' : migrate.error.message).toBe('ok');
    });

    it('runs migrations as a pre-install/pre-upgrade Job that needs nothing the release creates', () => {
      const jobs = ofKind(docs, 'Job');
      expect(jobs).toHaveLength(1);
      const job = jobs[0]!;
      expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      expect(job.metadata.annotations['helm.sh/hook-delete-policy']).toContain('before-hook-creation');
      const spec = job.spec.template.spec;
      expect(spec.restartPolicy).toBe('Never');
      expect(spec.containers[0].image).toMatch(/-migrate[:@]/);
      expect(spec.containers[0].envFrom).toBeUndefined(); // the ConfigMap does not exist yet at pre-install
      const own = new Set(docs.filter((d) => d.kind === 'ServiceAccount' || d.kind === 'Secret').map((d) => d.metadata.name));
      if (spec.serviceAccountName) expect(own.has(spec.serviceAccountName)).toBe(false);
      for (const e of spec.containers[0].env as Json[]) if (e.valueFrom?.secretKeyRef) expect(own.has(e.valueFrom.secretKeyRef.name)).toBe(false);
    });
  });

  describe('values', () => {
    it('enables by default exactly the long-running apps that exist, with the ports and routes of deploy/local', () => {
      const values = YAML.parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Json;
      const local = JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('./deploy/local/services.mjs'); console.log(JSON.stringify(m.SERVICES))"], { cwd: ROOT, encoding: 'utf8' }),
      ) as { name: string; httpPort: number; routes?: string[] }[];
      for (const s of local) {
        const entry = values.services[s.name];
        expect([s.name, entry?.httpPort, entry?.routes ?? []]).toEqual([s.name, s.httpPort, s.routes ?? []]);
        const exists = fs.existsSync(path.join(ROOT, 'apps', s.name, 'src', 'main.ts'));
        // a new app in apps/ is enabled in helm/dmp/values.yaml (services.<app>.enabled) in the same change
        expect([`services.${s.name}.enabled (apps/${s.name} ${exists ? 'exists' : 'does not exist yet'})`, entry.enabled]).toEqual([
          `services.${s.name}.enabled (apps/${s.name} ${exists ? 'exists' : 'does not exist yet'})`,
          exists,
        ]);
      }
      expect(Object.keys(values.services).sort()).toEqual(local.map((s) => s.name).sort());
      const deployments = ofKind(render(), 'Deployment').map((d) => d.metadata.labels['app.kubernetes.io/component']);
      expect(deployments.sort()).toEqual(local.filter((s) => values.services[s.name].enabled).map((s) => s.name).sort());
    });

    it('adds a service and its routes by values alone', () => {
      const docs = render([], [
        'services.registry.enabled=true',
        'services.command.enabled=true',
        'services.command.autoscaling.enabled=true',
        'services.alarms.enabled=true',
        'services.alarms.httpPort=8085',
        'services.alarms.routes={alarms}',
      ]);
      expect(named(docs, 'Deployment', 't-dmp-command').spec.replicas).toBeUndefined();
      named(docs, 'HorizontalPodAutoscaler', 't-dmp-command');
      named(docs, 'PodDisruptionBudget', 't-dmp-command');
      expect(named(docs, 'Service', 't-dmp-command').spec.ports[0].port).toBe(8083);
      expect(named(docs, 'Deployment', 't-dmp-alarms').spec.template.spec.containers[0].image).toBe('ghcr.io/dmp-platform/dmp-alarms:0.1.0');
      const api = named(docs, 'Deployment', 't-dmp-api-gateway').spec.template.spec.containers[0];
      const upstreams = JSON.parse((api.env as Json[]).find((e) => e.name === 'API_UPSTREAMS')!.value);
      expect(upstreams).toEqual({
        devices: 'http://t-dmp-registry:8081',
        operations: 'http://t-dmp-command:8083',
        'devices/*/operations': 'http://t-dmp-command:8083',
        'devices/*/observations': 'http://t-dmp-command:8083',
        bootstrap: 'http://t-dmp-command:8083',
        appkeys: 'http://t-dmp-command:8083',
        alarms: 'http://t-dmp-alarms:8085',
      });
      expect(kubeconform(YAML.stringify(docs[0])).problems).toEqual([]);
    });

    it.each([
      ['an unknown top-level key', ['colour=blue']],
      ['an unknown key in a service entry', ['services.api-gateway.replica=3']],
      ['an unknown key in defaults', ['defaults.pdb.minAvailable=1']],
      ['a wrong type', ['services.api-gateway.replicas=two']],
      ['a wrong type (string for boolean)', ['kafka.tls.enabled=yes']],
      ['the latest tag', ['image.tag=latest']],
      ['a per-service latest tag', ['services.coap-gateway.image.tag=latest']],
      ['a broker without a port', ['kafka.brokers={kafka}']],
      ['a short admin token', ['api.adminToken=short']],
      ['an affinity timeout above the Kubernetes maximum', ['coapGateway.service.sessionAffinityTimeoutSeconds=90000']],
      ['an affinity timeout not above lifetime/2', ['coapGateway.service.sessionAffinityTimeoutSeconds=3600']],
      ['SASL without a Secret', ['kafka.sasl.enabled=true']],
      ['DTLS without a Secret', ['coapGateway.dtls.enabled=true']],
      ['a bad service name', ['services.Bad_Name.enabled=true', 'services.Bad_Name.httpPort=1']],
    ])('rejects %s', (_what, set) => {
      expect(() => renderText([], set)).toThrow(/helm template failed/);
    });

    it('is checked strictly by kubeconform (an unknown field fails)', () => {
      const docs = render();
      const d = named(docs, 'Deployment', 't-dmp-api-gateway');
      d.spec.template.spec.containers[0].readinesProbe = { httpGet: { path: '/', port: 'http' } };
      expect(kubeconform(YAML.stringify(d)).problems.join('\n')).toMatch(/readinesProbe/);
      const s = named(docs, 'Service', 't-dmp-coap');
      s.spec.ports[0].port = '5683';
      expect(kubeconform(YAML.stringify(s)).problems).toHaveLength(1);
    });
  });

  describe('documentation', () => {
    it('has an up-to-date values table in the chart README', () => {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'helm-readme.mjs'), '--check'], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`).toContain('up to date');
      expect(r.status).toBe(0);
    });

    it('documents every value with an @param comment', () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dmp-chart-'));
      try {
        fs.cpSync(CHART, tmp, { recursive: true });
        fs.appendFileSync(path.join(tmp, 'values.yaml'), '\nundocumented: 1\n');
        const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'helm-readme.mjs'), '--check'], { encoding: 'utf8', env: { ...process.env, DMP_CHART_DIR: tmp } });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('undocumented: no @param comment');
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    it.each([
      ['minimal-values.yaml', /port-forward svc\/t-dmp-api-gateway 8080:80[\s\S]*coap:\/\/t-dmp-coap\.dmp\.svc:5683/],
      ['ha-values.yaml', /get svc t-dmp-api-gateway -o jsonpath=[\s\S]*get svc t-dmp-coap -o jsonpath=[\s\S]*coap:\/\/coap\.example\.net:5683/],
    ])('prints how to reach the API and the CoAP endpoint (NOTES.txt, %s)', (file, expected) => {
      // helm template does not render NOTES.txt: render it as a value of a scratch copy
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dmp-notes-'));
      try {
        fs.cpSync(CHART, tmp, { recursive: true });
        const notes = fs.readFileSync(path.join(tmp, 'templates', 'NOTES.txt'), 'utf8');
        fs.rmSync(path.join(tmp, 'templates', 'NOTES.txt'));
        fs.writeFileSync(path.join(tmp, 'templates', 'zz-notes.yaml'), `{{- define "test.notes" }}${notes}{{ end }}\nnotes: {{ include "test.notes" . | toJson }}\n`);
        const out = parseDocs(renderText([file], [], tmp)).find((d) => 'notes' in d)!.notes as string;
        expect(out).toMatch(expected);
        expect(out).toContain('Authorization: Bearer $DMP_TOKEN');
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  });
});
