import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Integration tests run against the real local stack: bring it up (a no-op when it runs). */
export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  execFileSync(process.execPath, [path.join(root, 'deploy/local/stack.mjs'), 'up'], { stdio: 'inherit', cwd: root });
}
