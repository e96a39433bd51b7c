// Bundles the collector into dist/edgewatch-collector.js (CommonJS, one file). better-sqlite3 stays
// external (a native addon, resolved from node_modules beside dist/). Run by `npm run build`.
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
const outfile = path.join(root, 'dist/edgewatch-collector.js');
await esbuild.build({
  entryPoints: [path.join(root, 'collector/cli/bin.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['better-sqlite3'],
  banner: { js: '#!/usr/bin/env node' },
  define: {
    __EW_VERSION__: JSON.stringify(`${pkg.version} (${commit})`),
    // The ingest worker thread is started from the bundle's own file (collector/ingest/worker.ts).
    __EW_COLLECTOR_BUNDLE__: 'true',
    'import.meta.url': '__ew_import_meta_url',
  },
  inject: [path.join(root, 'scripts/import-meta-url.js')],
  sourcemap: 'linked',
  logLevel: 'warning',
});
fs.chmodSync(outfile, 0o755);
fs.writeFileSync(path.join(root, 'dist/package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
