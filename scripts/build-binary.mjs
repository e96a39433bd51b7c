// Builds the single executables (docs/binary.md): dist/edgewatch-agent-linux-x64,
// dist/edgewatch-agent-linux-arm64 and dist/edgewatch-collector-linux-x64. Each is an official Node.js
// binary of a supported LTS line (from the npm registry's node-linux-* packages, checked against a
// pinned hash), stripped, with a single-executable-application blob injected by postject: the
// CommonJS bundle, and as assets the better-sqlite3 addon compiled against that Node's headers
// (cross-compiled for arm64 with Debian's g++-aarch64-linux-gnu) and, for the collector, the web page.
//
//   node scripts/build-binary.mjs [--arch x64,arm64] [--only agent|collector]
//
// Downloads and addon builds are cached in .cache/binary/ (keyed by versions and arch).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { AGENT_V8_FLAGS } from './agent-runtime.mjs';
import { NODE_DIST, NODE_VERSION } from './binary-node.mjs';
import { assertLatin1 } from './latin1.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = (await import('node:module')).createRequire(import.meta.url);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const TOOLCHAIN = {
  x64: { env: {}, strip: 'strip' },
  arm64: {
    env: { CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++', AR: 'aarch64-linux-gnu-ar', CC_host: 'gcc', CXX_host: 'g++' },
    strip: 'aarch64-linux-gnu-strip',
  },
};
/** postject's default sentinel: Node looks for this fuse to know a blob was injected. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const cache = path.join(root, '.cache', 'binary');
const dist = path.join(root, 'dist');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
}

function commitOf() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

/** The official Node binary and headers for `arch`, fetched once and checked against the pinned hash. */
function nodeDist(arch) {
  const { name, integrity } = NODE_DIST[arch];
  const dir = path.join(cache, `node-${NODE_VERSION}-${arch}`);
  if (fs.existsSync(path.join(dir, 'bin', 'node'))) return dir;
  fs.mkdirSync(cache, { recursive: true });
  const tgz = path.join(cache, `${name}-${NODE_VERSION}.tgz`);
  if (!fs.existsSync(tgz)) {
    console.error(`fetching ${name}@${NODE_VERSION} from the npm registry`);
    run('npm', ['pack', `${name}@${NODE_VERSION}`, '--pack-destination', cache, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const [algo, expected] = integrity.split('-');
  const actual = crypto.createHash(algo).update(fs.readFileSync(tgz)).digest('base64');
  if (actual !== expected) {
    fs.rmSync(tgz);
    throw new Error(`${tgz}: ${algo} ${actual} is not the pinned ${expected}`);
  }
  const tmp = fs.mkdtempSync(path.join(cache, 'extract-'));
  run('tar', ['xzf', tgz, '-C', tmp]);
  fs.renameSync(path.join(tmp, 'package'), dir);
  fs.rmSync(tmp, { recursive: true, force: true });
  return dir;
}

/** better-sqlite3's addon compiled against the Node of `arch`, stripped; built once per version pair. */
function sqliteAddon(arch, nodeDir) {
  const src = path.dirname(require.resolve('better-sqlite3/package.json'));
  const version = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8')).version;
  const out = path.join(cache, `better-sqlite3-${version}-node${NODE_VERSION}-${arch}.node`);
  if (fs.existsSync(out)) return out;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `ew-addon-${arch}-`));
  try {
    for (const part of ['binding.gyp', 'package.json', 'src', 'deps']) fs.cpSync(path.join(src, part), path.join(work, part), { recursive: true });
    const gyp = path.join(execFileSync('npm', ['root', '-g'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    console.error(`compiling better-sqlite3 ${version} for Node ${NODE_VERSION} ${arch} (about a minute)`);
    const t0 = Date.now();
    // Under `npm run`, npm_config_nodedir (this machine's npmrc says /usr: Node 20's headers) and
    // its kin reach node-gyp as settings of their own; none may choose the headers but --nodedir.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_config_')));
    run(process.execPath, [gyp, 'rebuild', '--release', `--nodedir=${nodeDir}`, `--arch=${arch}`, '-j', String(os.availableParallelism())], {
      cwd: work,
      env: { ...env, ...TOOLCHAIN[arch].env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const built = path.join(work, 'build', 'Release', 'better_sqlite3.node');
    run(TOOLCHAIN[arch].strip, ['--strip-unneeded', '-o', `${out}.tmp`, built]);
    // The target Node loads it (where it can run here): the wrong headers fail now, not at a user's.
    if (arch === (process.arch === 'arm64' ? 'arm64' : 'x64')) {
      run(path.join(nodeDir, 'bin', 'node'), ['-e', `process.dlopen({ exports: {} }, ${JSON.stringify(`${out}.tmp`)})`]);
    }
    fs.renameSync(`${out}.tmp`, out);
    console.error(`  done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return out;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * In source, `createRequire(import.meta.url)('x')` keeps a module out of the startup path and
 * resolves it from node_modules. An executable has no node_modules: the call becomes a plain
 * require, which esbuild bundles and still runs only when reached.
 */
const lazyRequires = {
  name: 'lazy-requires',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      if (!text.includes('createRequire(import.meta.url)(')) return undefined;
      return { contents: text.replaceAll('createRequire(import.meta.url)(', 'require('), loader: 'ts' };
    });
  },
};

/** The agent's MQTT client as an asset of its own (agent/sync/publisher.ts imports it lazily). */
const MQTT_ASSET = 'mqtt.cjs';

/**
 * mqtt with what it pulls in (ws, socks, ...) is about 475 kB of source that only `sync.mode: mqtt`
 * runs. Inside the main script, V8 would keep it in every agent's heap; as an asset it is read and
 * compiled when the publisher first connects, as `import('mqtt')` from node_modules does for the
 * bundle under node (scripts/build.mjs, docs/footprint.md).
 */
const mqttFromAsset = {
  name: 'mqtt-from-asset',
  setup(build) {
    build.onResolve({ filter: /^mqtt$/ }, () => ({ path: 'mqtt', namespace: 'sea-asset' }));
    build.onLoad({ filter: /.*/, namespace: 'sea-asset' }, () => ({ loader: 'js', contents: runAsset(MQTT_ASSET) }));
  },
};

/**
 * CommonJS source that runs a script asset as a module and exports what it exported: read from the
 * executable and compiled when first reached, with builtin `require`, a working `import()` and the
 * executable as `__filename`.
 */
function runAsset(asset) {
  return [
    "const vm = require('node:vm');",
    `const source = require('node:sea').getAsset(${JSON.stringify(asset)}, 'utf8');`,
    "const params = ['exports', 'require', 'module', '__filename', '__dirname'];",
    `const run = vm.compileFunction(source, params, { filename: ${JSON.stringify(asset)}, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });`,
    'const mod = { exports: {} };',
    "run(mod.exports, require, mod, process.execPath, require('node:path').dirname(process.execPath));",
    'module.exports = mod.exports;',
    '',
  ].join('\n');
}

/** The CommonJS bundle an executable runs: everything inside, nothing looked up on disk. */
async function bundle(entry, outfile, defines, plugins = []) {
  await esbuild.build({
    ...(typeof entry === 'string' ? { entryPoints: [path.join(root, entry)] } : { stdin: entry }),
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    plugins: [lazyRequires, ...plugins],
    define: {
      __EW_VERSION__: JSON.stringify(`${pkg.version} (${commitOf()})`),
      'process.env.CBOR_NATIVE_ACCELERATION_DISABLED': '"true"',
      'import.meta.url': '__ew_import_meta_url',
      ...defines,
    },
    inject: [path.join(root, 'scripts/import-meta-url.js')],
    logLevel: 'warning',
  });
  assertLatin1(outfile, path.relative(root, outfile));
  return outfile;
}

/** Injects the blob made from `main` and `assets` into a stripped copy of the arch's Node binary. */
async function executable({ name, arch, main, assets, execArgv = [] }) {
  const nodeDir = nodeDist(arch);
  const host = nodeDist(process.arch === 'arm64' ? 'arm64' : 'x64');
  const out = path.join(dist, `${name}-linux-${arch}`);
  // Up to date when nothing that goes in changed: the bundle, the assets, the Node release.
  const key = crypto.createHash('sha256').update(NODE_DIST[arch].integrity).update(JSON.stringify(execArgv));
  for (const file of [main, ...Object.values(assets)]) key.update(fs.readFileSync(file));
  const digest = key.digest('hex');
  const keyFile = path.join(dist, 'sea', `${name}-linux-${arch}.key`);
  if (fs.existsSync(out) && fs.existsSync(keyFile) && fs.readFileSync(keyFile, 'utf8') === digest) {
    console.error(`${path.relative(root, out)}: up to date`);
    return out;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `ew-sea-${arch}-`));
  try {
    const blob = path.join(work, 'sea.blob');
    const config = { main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, execArgv, assets };
    fs.writeFileSync(path.join(work, 'sea-config.json'), JSON.stringify(config));
    // The blob (without snapshot or code cache) does not depend on the architecture; the host's
    // Node of the same version writes it.
    run(path.join(host, 'bin', 'node'), ['--experimental-sea-config', path.join(work, 'sea-config.json')], { stdio: ['ignore', 'ignore', 'inherit'], cwd: work });
    const tmp = `${out}.tmp`;
    run(TOOLCHAIN[arch].strip, ['-o', tmp, path.join(nodeDir, 'bin', 'node')]);
    const { inject } = require('postject');
    await quietly(() => inject(tmp, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SEA_FUSE }));
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, out);
    fs.writeFileSync(keyFile, digest);
    const size = fs.statSync(out).size;
    console.error(`${path.relative(root, out)}: ${(size / 1048576).toFixed(1)} MiB`);
    return out;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * postject's ELF library warns once per note section of Node's binary (256 of them, all harmless);
 * its output is kept and shown only if the injection fails.
 */
async function quietly(fn) {
  const write = process.stderr.write.bind(process.stderr);
  const held = [];
  process.stderr.write = (chunk, ...rest) => (held.push(String(chunk)), true);
  try {
    return await fn();
  } catch (err) {
    write(held.join(''));
    throw err;
  } finally {
    process.stderr.write = write;
  }
}

const arches = arg('--arch', 'x64,arm64').split(',');
const only = arg('--only', 'all');
fs.mkdirSync(path.join(dist, 'sea'), { recursive: true });

/** The addon and, beside it, its identity (agent/store/sqlite.ts reads the one before the other). */
function sqliteAssets(arch) {
  const addon = sqliteAddon(arch, nodeDist(arch));
  const bytes = fs.readFileSync(addon);
  const id = path.join(dist, 'sea', `better_sqlite3-${arch}.id.json`);
  fs.writeFileSync(id, JSON.stringify({ sha256: crypto.createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }));
  return { 'better_sqlite3.node': addon, 'better_sqlite3.node.id': id };
}

if (only === 'all' || only === 'agent') {
  const main = await bundle('agent/cli/bin.ts', path.join(dist, 'sea', 'edgewatch-agent.cjs'), {}, [mqttFromAsset]);
  const mqtt = await bundle({ contents: "module.exports = require('mqtt');", resolveDir: root, sourcefile: 'mqtt-entry.cjs' }, path.join(dist, 'sea', MQTT_ASSET), {});
  for (const arch of arches) {
    await executable({ name: 'edgewatch-agent', arch, main, assets: { ...sqliteAssets(arch), [MQTT_ASSET]: mqtt }, execArgv: AGENT_V8_FLAGS });
  }
}
if (only === 'all' || only === 'collector') {
  const main = await bundle('collector/cli/bin.ts', path.join(dist, 'sea', 'edgewatch-collector.cjs'), { __EW_COLLECTOR_BUNDLE__: 'true' });
  const web = path.join(dist, 'web');
  if (!fs.existsSync(path.join(web, 'index.html'))) run(process.execPath, [path.join(root, 'scripts', 'build-web.mjs')]);
  // The page as one asset (collector/http/routes/web.ts WEB_PAGE_ASSET): name -> base64.
  const page = Object.fromEntries(fs.readdirSync(web).map((f) => [f, fs.readFileSync(path.join(web, f)).toString('base64')]));
  const pageFile = path.join(dist, 'sea', 'web-page.json');
  fs.writeFileSync(pageFile, JSON.stringify(page));
  // The bundle is an asset, run by a small main script and by the worker threads
  // (collector/threads.ts): one copy of its 2 MB, not two.
  const stub = path.join(dist, 'sea', 'edgewatch-collector-main.cjs');
  fs.writeFileSync(stub, `// The collector executable's main script: its bundle is the collector.cjs asset.\n${runAsset('collector.cjs')}`);
  await executable({
    name: 'edgewatch-collector',
    arch: 'x64',
    main: stub,
    assets: { ...sqliteAssets('x64'), 'collector.cjs': main, 'web-page.json': pageFile },
  });
}
