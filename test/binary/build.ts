// vitest globalSetup: the single executables exist and are up to date before any test runs
// (scripts/build-binary.mjs skips what has not changed; the first build compiles the SQLite addon
// twice, about two minutes). Building here rather than inside a test keeps that CPU away from the
// tests that run in parallel.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  execFileSync(process.execPath, [path.join(root, 'scripts/build-binary.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
