// The single executables beside the bundle run by node, in the same run (docs/binary.md):
//   - file size and gzip -9 size of each executable;
//   - start to first record: wall time of `run --once` on a one-record log (start, open the store,
//     read the record, commit it, close the window, exit): an upper bound on the time to the first
//     record ingested; median of N runs;
//   - idle RSS: `run` on a 2,000-record log, 5 s after it went idle (VmRSS from /proc).
// Each is measured for dist/edgewatch-agent-linux-x64 and for `node dist/edgewatch-agent.js` (the
// machine's node) and `dist/edgewatch-agent.js` through its shebang (node with the bundle's memory
// flags). JSON on stdout.
//
//   npm run build && npm run build:binary && node --import tsx scripts/bench/binary.ts [--runs 15]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { writeLogFile } from '../gen-logs/write.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = path.join(ROOT, 'dist');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 15;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-bench-binary-'));

interface Variant {
  name: string;
  cmd: string;
  args: string[];
}
const variants: Variant[] = [
  { name: 'executable (x64)', cmd: path.join(DIST, 'edgewatch-agent-linux-x64'), args: [] },
  { name: 'node dist/edgewatch-agent.js', cmd: process.execPath, args: [path.join(DIST, 'edgewatch-agent.js')] },
  { name: 'dist/edgewatch-agent.js (shebang flags)', cmd: path.join(DIST, 'edgewatch-agent.js'), args: [] },
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

async function idleRssMb(v: Variant): Promise<number> {
  const base = path.join(dir, `idle-${v.name.replace(/\W+/g, '-')}`);
  const cfg = config(base, 2_000);
  const child = spawn(v.cmd, [...v.args, 'run', '--config', cfg], { cwd: base, stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 7_000));
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
    return +(kb / 1024).toFixed(1);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const files = ['edgewatch-agent-linux-x64', 'edgewatch-agent-linux-arm64', 'edgewatch-collector-linux-x64'].map((f) => {
  const bytes = fs.readFileSync(path.join(DIST, f));
  const gz = zlib.gzipSync(bytes, { level: 9 }).length;
  return { file: `dist/${f}`, bytes: bytes.length, mib: +(bytes.length / 1048576).toFixed(1), gzip_bytes: gz, gzip_mib: +(gz / 1048576).toFixed(1), gzip_mb: +(gz / 1e6).toFixed(1) };
});

const results = [];
for (const v of variants) {
  results.push({ variant: v.name, first_record: firstRecordMs(v), idle_rss_mb: await idleRssMb(v) });
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ node: process.version, cpus: os.cpus().length, files, results, marks: { first_record_ms: 200, idle_rss: 'no higher than node dist/edgewatch-agent.js', gzip_mb: 40 } }, null, 2));
