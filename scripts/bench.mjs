#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only <text>]`: builds, runs every benchmark suite
// (dist/bench/**/*.bench.js exporting `suite`), writes bench/results/<date>-<sha>.json
// and appends a Markdown table (with the previous run beside it) to bench/README.md.
// Benchmarks report; they never fail on a missed target (that is what the table shows).
import { execSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const resultsDir = path.join(root, 'bench', 'results');
const runStart = Date.now();

if (!args.includes('--no-build')) {
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function findSuites(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return findSuites(p);
    return e.name.endsWith('.bench.js') ? [p] : [];
  });
}

const sh = (cmd) => {
  try {
    return execSync(cmd, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
};
const sha = sh('git rev-parse --short HEAD');
const dirty = sh('git status --porcelain --untracked-files=no') !== '';
const started = new Date();
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  loadavg: os.loadavg().map((l) => Number(l.toFixed(2))),
};

const rows = [];
const failures = [];
/** Wall-clock seconds per suite (the whole run must stay under 15 min, --quick under 3). */
const durations = {};
const files = findSuites(path.join(root, 'dist', 'bench')).sort();
for (const file of files) {
  const mod = require(file);
  const suite = mod.suite;
  if (!suite || typeof suite.run !== 'function') continue;
  if (only && !suite.name.includes(only) && !file.includes(only)) continue;
  process.stdout.write(`[bench] ${suite.name} (${path.relative(root, file)})${quick ? ' --quick' : ''}\n`);
  const t0 = Date.now();
  try {
    const got = await suite.run({ quick });
    for (const r of got) rows.push({ suite: suite.name, ...r });
    durations[suite.name] = Number(((Date.now() - t0) / 1000).toFixed(1));
    process.stdout.write(`[bench]   ${got.length} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  } catch (e) {
    // one failing suite must not lose the others' results: record it and go on
    failures.push(suite.name);
    durations[suite.name] = Number(((Date.now() - t0) / 1000).toFixed(1));
    rows.push({ suite: suite.name, group: 'error', name: `${suite.name} FAILED: ${String(e?.message ?? e).slice(0, 200)}`, opsPerSec: 0 });
    process.stdout.write(`[bench]   FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${e?.stack ?? e}\n`);
  }
}

const fmt = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1));

// previous run, for the comparison column
fs.mkdirSync(resultsDir, { recursive: true });
const previousFile = fs
  .readdirSync(resultsDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .at(-1);
const previous = previousFile ? JSON.parse(fs.readFileSync(path.join(resultsDir, previousFile), 'utf8')) : undefined;
const prevOps = new Map((previous?.rows ?? []).map((r) => [`${r.group}|${r.name}`, r.opsPerSec]));

const totalSeconds = Number(((Date.now() - runStart) / 1000).toFixed(1));
const result = { date: started.toISOString(), git: { sha, dirty }, quick, machine, totalSeconds, durations, rows };
const stamp = started.toISOString().slice(0, 19).replace(/[:T]/g, '-');
const outFile = path.join(resultsDir, `${stamp}-${sha}${quick ? '-quick' : ''}.json`);
fs.writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);

const lines = [
  `### ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${sha}${dirty ? ' (dirty)' : ''}${quick ? ' · quick' : ''}`,
  '',
  `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadavg.join(' ')}` +
    (previous ? ` · previous: ${previous.git.sha} (${previous.date.slice(0, 10)})` : ''),
  '',
  `Run time ${totalSeconds} s (build included; budget ${quick ? '180' : '900'} s): ${Object.entries(durations).map(([k, v]) => `${k} ${v} s`).join(', ')}`,
  '',
  '| group | benchmark | ours ops/s | baseline | baseline ops/s | ratio | target | previous ops/s | extra |',
  '|---|---|---:|---|---:|---:|---|---:|---|',
  ...rows.map((r) => {
    const ratio = r.baseline ? `${(r.opsPerSec / r.baseline.opsPerSec).toFixed(2)}×` : '';
    const target = r.target ? `${fmt(r.target)} ${r.opsPerSec >= r.target ? 'met' : '**missed**'}` : '';
    const prev = prevOps.get(`${r.group}|${r.name}`);
    const extra = r.extra ? Object.entries(r.extra).map(([k, v]) => `${k}=${v}`).join(', ') : '';
    return `| ${r.group} | ${r.name} | ${fmt(r.opsPerSec)}${r.rme ? ` ±${r.rme.toFixed(1)}%` : ''} | ${r.baseline?.name ?? ''} | ${r.baseline ? fmt(r.baseline.opsPerSec) : ''} | ${ratio} | ${target} | ${prev ? fmt(prev) : ''} | ${extra} |`;
  }),
  '',
];
const readme = path.join(root, 'bench', 'README.md');
fs.appendFileSync(readme, `${lines.join('\n')}\n`);
console.log(`\n${lines.join('\n')}`);
console.log(`[bench] wrote ${path.relative(root, outFile)} and appended the table to bench/README.md`);
if (failures.length) console.error(`[bench] failed suites: ${failures.join(', ')}`);
process.exit(failures.length ? 1 : 0);
