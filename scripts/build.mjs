// Bundles the agent into dist/edgewatch-agent.js (CommonJS, one file; better-sqlite3 stays external
// because it is a native addon). Run by `npm run build` and by `npm install` (prepare).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {
  // not a git checkout (a tarball): the version alone
}

await esbuild.build({
  entryPoints: [path.join(root, 'agent/cli/bin.ts')],
  outfile: path.join(root, 'dist/edgewatch-agent.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['better-sqlite3'],
  // V8 grows its young generation to 32 MiB under a full-speed ingest; 2 MiB semi-spaces keep the
  // agent's peak RSS under 100 MB at no measurable throughput cost (scripts/bench/ingest.ts).
  // Memory on a small device (docs/footprint.md): young generation 2 MB, two malloc arenas instead
  // of one per thread, one V8 platform worker, V8 heuristics that favour size (same ingest speed).
  banner: { js: '#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --v8-pool-size=1 --optimize-for-size' },
  define: {
    __EW_VERSION__: JSON.stringify(`${pkg.version} (${commit})`),
    'import.meta.url': '__ew_import_meta_url',
  },
  inject: [path.join(root, 'scripts/import-meta-url.js')],
  sourcemap: 'linked',
  logLevel: 'warning',
});
fs.chmodSync(path.join(root, 'dist/edgewatch-agent.js'), 0o755);
// The repository is ESM ("type": "module"); the bundles in dist/ are CommonJS.
fs.writeFileSync(path.join(root, 'dist/package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
