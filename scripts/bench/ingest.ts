// Ingest benchmark: records/s of the whole agent path (the built CLI: tail, parse, profile, SQLite
// commit) on a generated JSONL file, beside a bare loop that only reads the same file and
// JSON.parses each line, measured in the same run, alternating. Prints one JSON object.
//
//   node --import tsx scripts/bench/ingest.ts [--records 1000000] [--reps 3] [--keep] [--with-baseline]
//
// --with-baseline stores a baseline built from the same file before each timed run (not timed), so
// every window counts its numeric features exactly on the baseline's deciles, as in production.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encode } from 'cbor-x';
import { NumericSummary, WindowProfile } from '../../agent/profile/index.js';
import { AgentStore } from '../../agent/store/index.js';
import { writeLogFile } from '../gen-logs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const AGENT = path.join(ROOT, 'dist/edgewatch-agent.js');

/** The Node flags the bundle's shebang starts the agent with (as the service and `./edgewatch-agent` do). */
function shebangFlags(): string[] {
  const first = fs.readFileSync(AGENT, 'utf8').split('\n', 1)[0] ?? '';
  const words = first.replace(/^#!\S+(\s+-S)?\s+/, '').split(/\s+/);
  // NAME=VALUE words before `node` are environment for it (env -S): applied to this process's
  // environment, which the measured children inherit.
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split('=');
    process.env[name!] = value.join('=');
  }
  return words[0] === 'node' ? words.slice(1) : [];
}

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    'with-baseline': { type: 'boolean', default: false },
  },
});
const RECORDS = Number(args.records);
const REPS = Number(args.reps);

// The bare loop: read 1 MiB chunks, cut lines, JSON.parse each. Nothing else.
const BARE = `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[1], 'r');
const buf = Buffer.allocUnsafe(1 << 20);
let pos = 0, rest = null, n = 0;
for (;;) {
  const got = fs.readSync(fd, buf, 0, buf.length, pos);
  if (got === 0) break;
  pos += got;
  const data = rest ? Buffer.concat([rest, buf.subarray(0, got)]) : buf.subarray(0, got);
  let start = 0, nl;
  while ((nl = data.indexOf(10, start)) !== -1) {
    if (nl > start) { try { JSON.parse(data.toString('utf8', start, nl)); n++; } catch {} }
    start = nl + 1;
  }
  rest = start < data.length ? Buffer.from(data.subarray(start)) : null;
}
process.stdout.write(String(n));
`;

interface Run {
  seconds: number;
  peak_rss_mb: number;
  stdout: string;
}

/** Runs a child, timing it and sampling its peak RSS (VmHWM) from /proc until it exits. */
function measure(argv: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let hwmKb = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
      } catch {
        // exited between samples
      }
    };
    const timer = setInterval(sample, 20);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited ${code}`));
      else resolve({ seconds, peak_rss_mb: hwmKb / 1024, stdout });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  if (!fs.existsSync(AGENT)) throw new Error('dist/edgewatch-agent.js is missing: run npm run build first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-bench-ingest-'));
  const logFile = path.join(dir, 'logs', 'app.jsonl');
  const gen = writeLogFile(logFile, { seed: 11, records: RECORDS, numericFeatures: 16, categoricalFeatures: 4 });
  const configPath = path.join(dir, 'agent.yaml');

  const bare: Run[] = [];
  const agent: Run[] = [];
  let dataDir = '';
  const writeConfig = (dir: string) =>
    fs.writeFileSync(
      configPath,
      `device: {id: bench, site: bench}\ndata_dir: ${dir}\nmodels:\n  - name: fraud\n    task: classification\n    logs: ["${logFile}"]\n    window: 60s\n`,
    );
  const agentArgs = [AGENT, 'run', '--config', configPath, '--once', '--log-level', 'warn'];
  // Once without the shebang's flags, to show what they are worth.
  writeConfig(path.join(dir, 'data-plain'));
  const plainNode = await measure(agentArgs);
  for (let rep = 0; rep < REPS; rep++) {
    bare.push(await measure(['-e', BARE, logFile]));
    dataDir = path.join(dir, `data-${rep}`);
    writeConfig(dataDir);
    if (args['with-baseline']) await measure([AGENT, 'baseline', '--config', configPath, '--model', 'fraud', '--from', logFile]);
    agent.push(await measure([...shebangFlags(), ...agentArgs]));
  }

  // Size of each numeric feature's summary per closed window, as it is encoded in the profile.
  const store = AgentStore.openForReading(dataDir);
  const sizes: number[] = [];
  let windows = 0;
  let accepted = 0;
  for (const w of store.closedWindows('fraud')) {
    const p = WindowProfile.decode(w.profile);
    windows++;
    accepted += p.count;
    for (const name of p.featureNames()) {
      const f = p.feature(name);
      if (f instanceof NumericSummary) sizes.push(encode(f.toWire()).length);
    }
  }
  const dbBytes = fs.statSync(path.join(dataDir, 'edgewatch.db')).size;
  store.close();

  const bareRate = gen.good / median(bare.map((r) => r.seconds));
  const agentRate = gen.good / median(agent.map((r) => r.seconds));
  const result = {
    bench: 'ingest',
    node: process.version,
    cpus: os.cpus().length,
    records: gen.good,
    file_mb: +(gen.bytes / 1e6).toFixed(1),
    features: { numeric: 16, categorical: 4 },
    reps: REPS,
    with_baseline: args['with-baseline'],
    bare_loop: {
      records_per_s: Math.round(bareRate),
      seconds: bare.map((r) => +r.seconds.toFixed(2)),
      peak_rss_mb: +median(bare.map((r) => r.peak_rss_mb)).toFixed(1),
    },
    agent: {
      records_per_s: Math.round(agentRate),
      seconds: agent.map((r) => +r.seconds.toFixed(2)),
      peak_rss_mb: +Math.max(...agent.map((r) => r.peak_rss_mb)).toFixed(1),
      node_flags: shebangFlags(),
      peak_rss_mb_without_flags: +plainNode.peak_rss_mb.toFixed(1),
      accepted,
      windows,
      db_mb: +(dbBytes / 1e6).toFixed(2),
    },
    ratio_agent_to_bare: +(agentRate / bareRate).toFixed(3),
    numeric_feature_window_bytes: {
      mean: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length),
      max: Math.max(...sizes),
      samples: sizes.length,
    },
    marks: { ratio_min: 0.5, peak_rss_mb_max: 100, numeric_feature_window_bytes_max: 1024 },
  };
  console.log(JSON.stringify(result, null, 2));
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
}

await main();
