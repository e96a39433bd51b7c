// Bundles the agent into dist/edgewatch-agent.js (CommonJS, one file; better-sqlite3, a native addon,
// and mqtt, loaded only to sync over MQTT, stay in node_modules). Run by `npm run build` and by
// `npm install` (prepare).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { AGENT_MALLOC_ENV, AGENT_V8_FLAGS } from './agent-runtime.mjs';
import { assertLatin1 } from './latin1.mjs';

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
  // better-sqlite3 is a native addon. mqtt (with ws, socks, ip-address, ...: ~1.1 MB of source) is
  // only loaded by `sync.mode: mqtt` through `await import('mqtt')`; bundled, V8 would hold its
  // source in every agent's heap whether or not it syncs (docs/footprint.md). Both resolve from
  // node_modules beside dist/, where `npm install` puts them.
  external: ['better-sqlite3', 'mqtt'],
  // The memory settings of scripts/agent-runtime.mjs (docs/footprint.md). Linux reads at most 255
  // bytes of this line: keep it short.
  banner: {
    js: `#!/usr/bin/env -S ${Object.entries(AGENT_MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} node ${AGENT_V8_FLAGS.join(' ')}`,
  },
  define: {
    __EW_VERSION__: JSON.stringify(`${pkg.version} (${commit})`),
    // cbor-x probes for its native extractor with child_process at load; from the bundle the probe
    // can never succeed (docs/footprint.md), so it is turned off at build time.
    'process.env.CBOR_NATIVE_ACCELERATION_DISABLED': '"true"',
    'import.meta.url': '__ew_import_meta_url',
  },
  inject: [path.join(root, 'scripts/import-meta-url.js')],
  sourcemap: 'linked',
  logLevel: 'warning',
});
const bundle = path.join(root, 'dist/edgewatch-agent.js');
assertLatin1(bundle, 'dist/edgewatch-agent.js');
fs.chmodSync(bundle, 0o755);
// The repository is ESM ("type": "module"); the bundles in dist/ are CommonJS.
fs.writeFileSync(path.join(root, 'dist/package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
