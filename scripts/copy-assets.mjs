// Copies non-TypeScript runtime assets next to the compiled output in dist/ so that
// `__dirname`-relative lookups (CQL migrations, LwM2M object models) work after build.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const assets = ['libs/cassandra/migrations', 'libs/lwm2m/models'];
for (const rel of assets) {
  const src = path.join(root, rel);
  if (!fs.existsSync(src)) continue;
  const dst = path.join(root, 'dist', rel);
  fs.rmSync(dst, { recursive: true, force: true });
  fs.cpSync(src, dst, { recursive: true });
}
