// The single executables beside the bundle run by node, in the same run (docs/binary.md):
//   - file size of each executable, and its gzip size: GNU `gzip -9` (what an operator gets), and
//     Node's zlib at level 9 (Chromium's zlib, which trades ratio for speed: about 3% larger);
//   - start to first record: wall time of `run --once` on a one-record log (start, open the store,
//     read the record, commit it, close the window, exit): an upper bound on the time to the first
//     record ingested; median of N runs;
//   - idle RSS: `run` on a 2,000-record log, 7 s after start (VmRSS, with its anonymous and
//     file-backed parts, from /proc), median of 3 runs. Before each run the executable's, Node's and
//     the bundle's pages are dropped from the page cache (`dd iflag=nocache`): a file just written
//     sits in the cache in large folios, and every page of a folio the process touches counts in
//     its RSS (a freshly built executable showed 15 MB more file-backed RSS than the same file read
//     back from disk).
// Variants: dist/edgewatch-agent-linux-x64; `node dist/edgewatch-agent.js` (the machine's node, no
// flags: the mark's baseline); `dist/edgewatch-agent.js` through its shebang (the machine's node
// with the agent's memory settings, scripts/agent-runtime.mjs); and the executable's own Node
// (from the build's cache) running the bundle with the same V8 flags: what packing costs, the
// Node release aside. JSON on stdout.
//
//   npm run build && npm run build:binary && npm run bench:binary [-- --runs 15]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { writeLogFile } from '../gen-logs/write.js';
import { AGENT_V8_FLAGS } from '../agent-runtime.mjs';
import { NODE_VERSION } from '../binary-node.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = path.join(ROOT, 'dist');
const CACHE = path.join(ROOT, '.cache', 'binary');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 15;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-bench-binary-'));

interface Variant {
  name: string;
  cmd: string;
  args: string[];
  /** Files whose pages are dropped from the cache before each idle run. */
  files: string[];
}

/** The bundle beside a node_modules holding better-sqlite3 with the addon built for the executable's Node. */
function bundleForPackedNode(): { node: string; bundle: string; addon: string } {
  const node = path.join(CACHE, `node-${NODE_VERSION}-x64`, 'bin', 'node');
  const addon = fs.readdirSync(CACHE).find((f) => f.startsWith('better-sqlite3-') && f.endsWith(`-node${NODE_VERSION}-x64.node`));
  if (!fs.existsSync(node) || addon === undefined) throw new Error(`${CACHE} lacks Node ${NODE_VERSION} or its addon: run npm run build:binary first`);
  const base = path.join(dir, 'packed-node');
  fs.mkdirSync(path.join(base, 'dist'), { recursive: true });
  for (const f of ['edgewatch-agent.js', 'package.json']) fs.copyFileSync(path.join(DIST, f), path.join(base, 'dist', f));
  for (const mod of ['bindings', 'file-uri-to-path']) fs.cpSync(path.join(ROOT, 'node_modules', mod), path.join(base, 'node_modules', mod), { recursive: true });
  const sqlite = path.join(base, 'node_modules', 'better-sqlite3');
  for (const part of ['package.json', 'lib']) fs.cpSync(path.join(ROOT, 'node_modules', 'better-sqlite3', part), path.join(sqlite, part), { recursive: true });
  fs.mkdirSync(path.join(sqlite, 'build', 'Release'), { recursive: true });
  fs.copyFileSync(path.join(CACHE, addon), path.join(sqlite, 'build', 'Release', 'better_sqlite3.node'));
  return { node, bundle: path.join(base, 'dist', 'edgewatch-agent.js'), addon: path.join(sqlite, 'build', 'Release', 'better_sqlite3.node') };
}

const exe = path.join(DIST, 'edgewatch-agent-linux-x64');
const bundle = path.join(DIST, 'edgewatch-agent.js');
const packed = bundleForPackedNode();
const variants: Variant[] = [
  { name: 'executable (x64)', cmd: exe, args: [], files: [exe] },
  { name: 'node dist/edgewatch-agent.js', cmd: process.execPath, args: [bundle], files: [process.execPath, bundle] },
  { name: 'dist/edgewatch-agent.js (shebang)', cmd: bundle, args: [], files: [process.execPath, bundle] },
  { name: `node ${NODE_VERSION} (the executable's) with the same flags, the bundle`, cmd: packed.node, args: [...AGENT_V8_FLAGS, packed.bundle], files: [packed.node, packed.bundle, packed.addon] },
];

function config(base: string, records: number): string {
  fs.mkdirSync(path.join(base, 'logs'), { recursive: true });
  writeLogFile(path.join(base, 'logs', 'app.jsonl'), { seed: 3, records, rate: 100, arrivals: 'even' });
  const file = path.join(base, 'agent.yaml');
  fs.writeFileSync(file, ['device: {id: bench, site: lab}', 'data_dir: ./data', 'system: {enabled: false}', 'sync: {mode: manual}', 'models:', '  - {name: fraud, task: classification, logs: [./logs/*.jsonl], window: 1m}', ''].join('\n'));
  return file;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function firstRecordMs(v: Variant): { median_ms: number; min_ms: number; runs: number } {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const base = path.join(dir, `first-${v.name.replace(/\W+/g, '-')}-${i}`);
    const cfg = config(base, 1);
    const t0 = performance.now();
    execFileSync(v.cmd, [...v.args, 'run', '--config', cfg, '--once'], { cwd: base, stdio: 'ignore' });
    const ms = performance.now() - t0;
    if (i > 0) times.push(ms); // the first run writes the addon to the cache and warms the page cache
    const accepted = JSON.parse(execFileSync(v.cmd, [...v.args, 'status', '--config', cfg, '--json'], { cwd: base, encoding: 'utf8' })).models.fraud.accepted;
    if (accepted !== 1) throw new Error(`${v.name}: ${accepted} records accepted, expected 1`);
  }
  return { median_ms: +median(times).toFixed(1), min_ms: +Math.min(...times).toFixed(1), runs: times.length };
}

const kb = (status: string, field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024;

async function idleRss(v: Variant): Promise<{ rss_mb: number; anon_mb: number; file_mb: number; runs: number }> {
  const samples: { rss: number; anon: number; file: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const base = path.join(dir, `idle-${v.name.replace(/\W+/g, '-')}-${i}`);
    const cfg = config(base, 2_000);
    for (const f of v.files) execFileSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
    const child = spawn(v.cmd, [...v.args, 'run', '--config', cfg], { cwd: base, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 7_000));
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      samples.push({ rss: kb(status, 'VmRSS'), anon: kb(status, 'RssAnon'), file: kb(status, 'RssFile') + kb(status, 'RssShmem') });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }
  const mid = samples.sort((a, b) => a.rss - b.rss)[1]!;
  return { rss_mb: +mid.rss.toFixed(1), anon_mb: +mid.anon.toFixed(1), file_mb: +mid.file.toFixed(1), runs: samples.length };
}

/** Bytes of `gzip -9` of a file, counted as they stream. */
function gnuGzipBytes(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const gz = spawn('gzip', ['-9c', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let n = 0;
    gz.stdout.on('data', (b: Buffer) => (n += b.length));
    gz.once('error', reject);
    gz.once('close', (code) => (code === 0 ? resolve(n) : reject(new Error(`gzip exited ${code}`))));
  });
}

const files = [];
for (const f of ['edgewatch-agent-linux-x64', 'edgewatch-agent-linux-arm64', 'edgewatch-collector-linux-x64']) {
  const bytes = fs.readFileSync(path.join(DIST, f));
  const gz = await gnuGzipBytes(path.join(DIST, f));
  const zl = zlib.gzipSync(bytes, { level: 9 }).length;
  files.push({ file: `dist/${f}`, bytes: bytes.length, mib: +(bytes.length / 1048576).toFixed(1), gzip_9_bytes: gz, gzip_9_mb: +(gz / 1e6).toFixed(2), gzip_9_mib: +(gz / 1048576).toFixed(2), node_zlib_9_bytes: zl });
}

const results = [];
for (const v of variants) {
  results.push({ variant: v.name, first_record: firstRecordMs(v), idle: await idleRss(v) });
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ node: process.version, executable_node: NODE_VERSION, cpus: os.cpus().length, files, results, marks: { first_record_ms: 200, idle_rss: 'no higher than node dist/edgewatch-agent.js', gzip_mb: 40 } }, null, 2));
