#!/usr/bin/env node
// Installs the tools the Helm chart checks need into a cache (default ~/.cache/dmp) and
// prints `export` lines for them:
//   helm        built from the Go module proxy (go install helm.sh/helm/v3/cmd/helm@…)
//   kubeconform built from the Go module proxy (offline manifest validator)
//   schemas     JSON schemas of the Kubernetes API kinds (from the OpenAPI document in the
//               k8s.io/kubernetes Go module) and of the ServiceMonitor CRD (from the
//               prometheus-operator Go module), written in kubeconform's layout, strict
//               (unknown fields are errors).
//   compose     the Compose Specification JSON schema (compose-go Go module).
// Nothing is rebuilt when the cached binaries report the pinned versions.
//
//   eval "$(node deploy/helm-tools.mjs)"     # DMP_HELM, DMP_KUBECONFORM, DMP_K8S_SCHEMAS, DMP_COMPOSE_SCHEMA, PATH
//   node deploy/helm-tools.mjs --json        # the same as JSON
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const HELM_VERSION = 'v3.22.0';
export const KUBECONFORM_VERSION = 'v0.7.0';
/** Kubernetes API version the manifests are validated against. */
export const K8S_VERSION = 'v1.34.2';
export const PROMETHEUS_OPERATOR_VERSION = 'v0.85.0';
/** compose-go carries the Compose Specification JSON schema (deploy/docker-compose.yml is checked against it). */
export const COMPOSE_GO_VERSION = 'v2.16.2';

const cache = process.env.DMP_TOOLS_CACHE ?? path.join(os.homedir(), '.cache', 'dmp');
const bin = path.join(cache, 'bin');
const log = (msg) => process.stderr.write(`[helm-tools] ${msg}\n`);

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Module version a Go binary was built from (`go version -m`: "mod <path> <version> <sum>"); null when absent. */
function builtVersion(file, mod) {
  if (!fs.existsSync(file)) return null;
  const r = spawnSync('go', ['version', '-m', file], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.split('\n').find((l) => l.trim().startsWith(`mod\t${mod}\t`)) : undefined;
  return line ? line.trim().split('\t')[2] ?? null : null;
}

function goInstall(mod, pkg, version, file) {
  if (builtVersion(file, mod) === version) return;
  if (spawnSync('go', ['version']).status !== 0) throw new Error(`go is not installed: needed to build helm and kubeconform (Go ≥ 1.26 for helm ${HELM_VERSION})`);
  log(`go install ${pkg}@${version} (first time: a few minutes)`);
  const t0 = Date.now();
  run('go', ['install', `${pkg}@${version}`], { GOBIN: bin, CGO_ENABLED: '0', GOFLAGS: '-mod=mod -buildvcs=false', GOTOOLCHAIN: 'local' });
  log(`built ${path.basename(file)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** Directory of a Go module in the module cache (downloads it through the Go module proxy when missing). */
function goModuleDir(mod, version) {
  const out = run('go', ['mod', 'download', '-json', `${mod}@${version}`], { GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' });
  return JSON.parse(out).Dir;
}

// ---- OpenAPI v2 definitions → standalone strict JSON schemas (kubeconform layout) -----------

/** Kubernetes' own "string" types that also accept numbers in manifests. */
const NUMBER_OR_STRING = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { oneOf: [{ type: 'string' }, { type: 'integer' }] },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { oneOf: [{ type: 'string' }, { type: 'number' }] },
};

function strictify(node) {
  if (Array.isArray(node)) return node.map(strictify);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'description') continue;
    out[k] = strictify(v);
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  if (out.format === 'int-or-string') {
    delete out.type;
    delete out.format;
    out.oneOf = [{ type: 'string' }, { type: 'integer' }];
  }
  return out;
}

/** The definitions a definition refers to, transitively (keeps each kind's file small). */
function reachable(definitions, root) {
  const seen = new Set();
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        const name = v.replace('#/definitions/', '');
        if (!seen.has(name)) {
          seen.add(name);
          visit(definitions[name]);
        }
      } else visit(v);
    }
  };
  visit(definitions[root]);
  return Object.fromEntries([...seen].sort().map((n) => [n, definitions[n]]));
}

/** Every definition with a group/version/kind becomes `<kind>-<group>-<version>.json` (group omitted for core). */
function writeK8sSchemas(swaggerFile, outDir) {
  const swagger = JSON.parse(fs.readFileSync(swaggerFile, 'utf8'));
  const definitions = {};
  for (const [name, def] of Object.entries(swagger.definitions)) {
    definitions[name] = NUMBER_OR_STRING[name] ?? strictify(def);
  }
  let n = 0;
  for (const [name, def] of Object.entries(swagger.definitions)) {
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      if (!swagger.definitions[name].properties?.kind) continue;
      const group = gvk.group ? `-${gvk.group.split('.')[0]}` : '';
      const file = `${gvk.kind.toLowerCase()}${group}-${gvk.version}.json`;
      const schema = { $schema: 'http://json-schema.org/draft-07/schema#', ...definitions[name], definitions: reachable(definitions, name) };
      // apiVersion and kind must name this kind exactly
      schema.properties = {
        ...schema.properties,
        apiVersion: { type: 'string', enum: [gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version] },
        kind: { type: 'string', enum: [gvk.kind] },
      };
      fs.writeFileSync(path.join(outDir, file), JSON.stringify(schema));
      n++;
    }
  }
  return n;
}

/** A CRD's openAPIV3Schema (JSON form of the CRD) → `<kind>-<group prefix>-<version>.json`, strict. */
function writeCrdSchema(crdFile, outDir) {
  const crd = JSON.parse(fs.readFileSync(crdFile, 'utf8'));
  const { group, names, versions } = crd.spec;
  for (const v of versions) {
    const schema = strictify(v.schema.openAPIV3Schema);
    schema.properties.apiVersion = { type: 'string', enum: [`${group}/${v.name}`] };
    schema.properties.kind = { type: 'string', enum: [names.kind] };
    // metadata is `type: object` without properties in CRDs: validate it like any object's metadata
    const file = `${names.kind.toLowerCase()}-${group.split('.')[0]}-${v.name}.json`;
    fs.writeFileSync(path.join(outDir, file), JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...schema }));
  }
}

function ensureSchemas() {
  const dir = path.join(cache, 'k8s-schemas', `${K8S_VERSION}-standalone-strict`);
  const stamp = path.join(dir, '.complete');
  const want = `${K8S_VERSION} ${PROMETHEUS_OPERATOR_VERSION} 4`; // bump the last number when the generator changes
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return dir;
  // written aside and renamed, so that concurrent runs (parallel jest workers) never see half a set
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  log(`schemas: Kubernetes ${K8S_VERSION} OpenAPI and ServiceMonitor CRD ${PROMETHEUS_OPERATOR_VERSION} (Go module cache)`);
  const k8s = goModuleDir('k8s.io/kubernetes', K8S_VERSION);
  const kinds = writeK8sSchemas(path.join(k8s, 'api', 'openapi-spec', 'swagger.json'), tmp);
  const promOp = goModuleDir('github.com/prometheus-operator/prometheus-operator', PROMETHEUS_OPERATOR_VERSION);
  writeCrdSchema(path.join(promOp, 'jsonnet', 'prometheus-operator', 'servicemonitors-crd.json'), tmp);
  fs.writeFileSync(path.join(tmp, '.complete'), want);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) {
    fs.rmSync(tmp, { recursive: true, force: true }); // another run finished first
  } else {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  log(`schemas: ${kinds + 1} kinds in ${dir}`);
  return dir;
}

export function ensureHelmTools() {
  fs.mkdirSync(bin, { recursive: true });
  const helm = path.join(bin, 'helm');
  const kubeconform = path.join(bin, 'kubeconform');
  goInstall('helm.sh/helm/v3', 'helm.sh/helm/v3/cmd/helm', HELM_VERSION, helm);
  goInstall('github.com/yannh/kubeconform', 'github.com/yannh/kubeconform/cmd/kubeconform', KUBECONFORM_VERSION, kubeconform);
  const composeSchema = path.join(goModuleDir('github.com/compose-spec/compose-go/v2', COMPOSE_GO_VERSION), 'schema', 'compose-spec.json');
  return { helm, kubeconform, schemas: ensureSchemas(), composeSchema, bin };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const t = ensureHelmTools();
    if (process.argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify(t)}\n`);
    } else {
      process.stdout.write(
        `export DMP_HELM=${t.helm}\nexport DMP_KUBECONFORM=${t.kubeconform}\nexport DMP_K8S_SCHEMAS=${t.schemas}\nexport DMP_COMPOSE_SCHEMA=${t.composeSchema}\n` +
          `case ":$PATH:" in *":${t.bin}:"*) ;; *) export PATH="${t.bin}:$PATH" ;; esac\n`,
      );
    }
    log(`helm ${HELM_VERSION}, kubeconform ${KUBECONFORM_VERSION}, schemas of Kubernetes ${K8S_VERSION}`);
  } catch (e) {
    log(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}
