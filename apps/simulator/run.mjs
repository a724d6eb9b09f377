// `npm run sim -- …`: rebuilds dist/ when a source of the simulator or of a library it uses
// is newer than the compiled entry, then runs the compiled CLI in this process.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = path.join(root, 'dist/apps/simulator/src/main.js');

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

const sources = [path.join(root, 'apps/simulator/src'), ...readdirSync(path.join(root, 'libs')).map((l) => path.join(root, 'libs', l, 'src'))];
const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
if (sources.some((d) => newest(d) > built)) {
  process.stderr.write('simulator: dist/ is stale, running npm run build…\n');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
await import(pathToFileURL(entry).href);
