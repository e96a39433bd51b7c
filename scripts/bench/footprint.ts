// Footprint benchmark: the bundled agent following a log that a writer in this process appends to at
// --rate records/s, with system sampling every 10 s, for --minutes; beside a bare Node process
// (`node -e "setInterval(()=>{},1000)"`) started at the same moment. Both children's CPU time and RSS
// are read from /proc every second. Also the CPU cost of one sampling round, measured in this
// process on the same sources the agent builds. Prints one JSON object (docs/footprint.md).
//
//   node --import tsx scripts/bench/footprint.ts [--minutes 5] [--rate 100] [--rounds 200] [--keep] [--series OUT.json]
//
// --series writes every per-second reading of both processes (t s, CPU ticks, RSS kB) for plotting.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAgentConfig } from '../../agent/config/index.js';
import { silentLogger } from '../../agent/log.js';
import { SystemSampler, systemSources, type AgentHealth } from '../../agent/system/index.js';
import { generateLines, type GenLine } from '../gen-logs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const AGENT = path.join(ROOT, 'dist/edgewatch-agent.js');
/** /proc/<pid>/stat counts CPU time in clock ticks; USER_HZ is 100 on every Linux we ship to. */
const CLOCK_TICKS = 100;

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    rate: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
    series: { type: 'string' },
  },
});
const SECONDS = Math.round(Number(args.minutes) * 60);
const RATE = Number(args.rate);
const ROUNDS = Number(args.rounds);
if (!(SECONDS >= 10) || !(RATE > 0) || !(ROUNDS >= 1)) throw new Error('--minutes must give at least 10 s, --rate and --rounds must be positive');
// Start-up (bundle load, SQLite open, the first windows, V8 heap growth) is not the steady state.
const WARMUP_S = Math.min(60, Math.round(SECONDS * 0.2));
// The RSS mark is judged on the last 2 minutes of the steady span (all of it in a shorter run): while
// RSS still creeps up, a median over the whole span would sit below where the agent has got to.
const TAIL_S = 120;
const MARKS = { cpu_percent_max: 1, rss_ratio_max: 1.5 };
// ~10 features as a typical tabular model logs them: f0..f6 numeric, c0, c1 and region categorical.
const GEN = { numericFeatures: 7, categoricalFeatures: 2 } as const;

interface Reading {
  /** Seconds since both children were started. */
  t: number;
  ticks: number;
  rssKb: number;
}

/** utime + stime (ticks) and VmRSS (kB) of a live process, or null once it is gone. */
function readProc(pid: number): { ticks: number; rssKb: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (proc(5)); comm may hold spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? { ticks, rssKb: Number(m[1]) } : null;
  } catch {
    return null;
  }
}

/**
 * Where a process's resident memory is, read once: anonymous (JS heap, malloc) against file-backed
 * pages (the node binary's code and data that the process has touched, shared libraries, the addon).
 */
function rssSplit(pid: number): { anon_mb: number; file_mb: number } | null {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? NaN);
    return { anon_mb: mb(kb('RssAnon')), file_mb: mb(kb('RssFile')) };
  } catch {
    return null;
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

const round2 = (x: number) => +x.toFixed(2);
const round3 = (x: number) => +x.toFixed(3);
const mb = (kb: number) => +(kb / 1024).toFixed(1);

/** Least-squares slope of y over t, per minute: how fast RSS still grows in the steady span. */
function slopePerMinute(points: { t: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return (num / den) * 60;
}

/** CPU and RSS of one child over the run: mean CPU after the warm-up, RSS median/max after it. */
function summarize(series: Reading[]) {
  const steady = series.filter((r) => r.t >= WARMUP_S);
  const first = steady[0];
  const last = steady[steady.length - 1];
  if (!first || !last || last.t <= first.t) throw new Error('too few readings after the warm-up');
  const cpuPercent = (100 * (last.ticks - first.ticks)) / CLOCK_TICKS / (last.t - first.t);
  const whole = series[series.length - 1]!;
  // Per-minute CPU, to see whether it drifts (a leak of timers or work that grows with state).
  const perMinute: number[] = [];
  for (let m = 0; (m + 1) * 60 <= last.t; m++) {
    const a = series.find((r) => r.t >= m * 60);
    const b = series.find((r) => r.t >= (m + 1) * 60);
    if (a && b) perMinute.push(round3((100 * (b.ticks - a.ticks)) / CLOCK_TICKS / (b.t - a.t)));
  }
  const rss = steady.map((r) => r.rssKb);
  return {
    cpu_percent_mean: round3(cpuPercent),
    cpu_seconds_steady: round2((last.ticks - first.ticks) / CLOCK_TICKS),
    cpu_seconds_total: round2(whole.ticks / CLOCK_TICKS),
    cpu_percent_per_minute: perMinute,
    rss_mb_median: mb(quantile(rss, 0.5)),
    rss_mb_median_last_2min: mb(quantile(steady.filter((r) => r.t >= last.t - TAIL_S).map((r) => r.rssKb), 0.5)),
    rss_mb_max: mb(Math.max(...rss)),
    rss_mb_at_warmup_end: mb(first.rssKb),
    rss_mb_at_end: mb(last.rssKb),
    rss_mb_slope_per_minute: round3(slopePerMinute(steady.map((r) => ({ t: r.t, y: r.rssKb / 1024 })))),
    peak_rss_mb_whole_run: mb(Math.max(...series.map((r) => r.rssKb))),
    readings: series.length,
  };
}

/**
 * CPU of one sampling round on this machine, in this process: the sources `systemSources` builds
 * for the same config, driven through `SystemSampler.round()` back to back (a failing source, such as
 * a GPU tool that is not installed, backs off as it does in the agent).
 */
async function roundCost(configPath: string, dataDir: string) {
  const config = loadAgentConfig(configPath);
  const health: AgentHealth = {
    lines: 0,
    takeCommitMs: () => [],
    dbFiles: [path.join(dataDir, 'edgewatch.db'), path.join(dataDir, 'edgewatch.db-wal')],
    errors: new Map(),
    outbox: () => ({ messages: 0, bytes: 0 }),
  };
  const sources = systemSources(config, () => health);
  const sampler = new SystemSampler({ intervalMs: config.system.interval_ms, sources, now: Date.now, log: silentLogger, onRound: () => {} });
  // The first rounds have no previous counters (no rates) and load code; they are not timed.
  for (let i = 0; i < 5; i++) await sampler.round();
  const cpuMs: number[] = [];
  const wallMs: number[] = [];
  let readings = 0;
  const failed = new Set<string>();
  for (let i = 0; i < ROUNDS; i++) {
    // Rounds are 10 s apart in the agent; 20 ms here keeps rate sources' intervals non-zero.
    await sleep(20);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await sampler.round();
    wallMs.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuMs.push((cpu.user + cpu.system) / 1000);
    readings = Math.max(readings, r.readings.size);
    for (const f of r.failed) failed.add(f);
  }
  await sampler.stop();
  return {
    rounds: ROUNDS,
    cpu_ms_median: round3(quantile(cpuMs, 0.5)),
    cpu_ms_p95: round3(quantile(cpuMs, 0.95)),
    cpu_ms_max: round3(Math.max(...cpuMs)),
    wall_ms_median: round3(quantile(wallMs, 0.5)),
    wall_ms_p95: round3(quantile(wallMs, 0.95)),
    sources: sources.map((s) => s.name),
    readings_per_round: readings,
    failed_sources: [...failed],
    cpu_percent_at_interval: round3((100 * quantile(cpuMs, 0.5)) / config.system.interval_ms),
  };
}

/** Appends the generator's lines as their event time comes due, so the file grows at `rate` in real time. */
class PacedWriter {
  private readonly fd: number;
  private readonly lines: Iterator<GenLine>;
  private readonly startMs = Date.now();
  private timer: NodeJS.Timeout | null = null;
  written = 0;
  bytes = 0;

  constructor(file: string, rate: number, seconds: number) {
    this.fd = fs.openSync(file, 'a');
    this.lines = generateLines({
      ...GEN,
      seed: 7,
      records: Math.ceil(rate * (seconds + 10)),
      rate,
      arrivals: 'even',
      start: new Date(this.startMs).toISOString(),
    });
    this.timer = setInterval(() => this.tick(rate), 100);
  }

  private tick(rate: number): void {
    const due = Math.floor(((Date.now() - this.startMs) / 1000) * rate);
    let text = '';
    while (this.written < due) {
      const next = this.lines.next();
      if (next.done) break;
      text += next.value.text + next.value.eol;
      if (next.value.kind === 'good') this.written++;
    }
    if (text !== '') this.bytes += fs.writeSync(this.fd, text);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    fs.closeSync(this.fd);
  }
}

/** The exit code (null when a signal ended it), also for a child that is already gone. */
function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function main(): Promise<void> {
  if (!fs.existsSync(AGENT)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-bench-footprint-'));
  const logFile = path.join(dir, 'logs', 'app.jsonl');
  const dataDir = path.join(dir, 'data');
  const configPath = path.join(dir, 'agent.yaml');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(logFile, '');
  fs.writeFileSync(
    configPath,
    [
      'device: {id: bench, site: bench}',
      `data_dir: ${JSON.stringify(dataDir)}`,
      'system: {enabled: true, interval: 10s}',
      'models:',
      '  - name: fraud',
      '    task: classification',
      `    logs: [${JSON.stringify(logFile)}]`,
      '    format: jsonl',
      '    window: 60s',
      '',
    ].join('\n'),
  );

  // Measured first, while nothing else of this benchmark runs.
  const round = await roundCost(configPath, path.join(dir, 'round-cost'));

  // As the bundle's shebang starts it: its NAME=VALUE words as the agent's environment, its node
  // flags before the script. The bare process gets neither: it is what a plain Node costs.
  const shebang = readShebang();
  const agentArgv = [...shebang.flags, AGENT, 'run', '--config', configPath];
  const bareArgv = ['-e', 'setInterval(()=>{},1000)'];
  const t0 = performance.now();
  const agent = spawn(process.execPath, agentArgv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...shebang.env } });
  const bare = spawn(process.execPath, bareArgv, { stdio: 'ignore' });
  let agentLog = '';
  agent.stderr!.on('data', (d: Buffer) => (agentLog = (agentLog + d.toString()).slice(-20_000)));
  const writer = new PacedWriter(logFile, RATE, SECONDS);

  const agentSeries: Reading[] = [];
  const bareSeries: Reading[] = [];
  const sampleBoth = () => {
    const t = (performance.now() - t0) / 1000;
    const a = readProc(agent.pid!);
    const b = readProc(bare.pid!);
    if (a) agentSeries.push({ t, ...a });
    if (b) bareSeries.push({ t, ...b });
  };
  sampleBoth();
  const sampler = setInterval(sampleBoth, 1000);
  const agentDied = exited(agent).then((code) => {
    throw new Error(`agent exited early (${code}):\n${agentLog}`);
  });
  await Promise.race([sleep(SECONDS * 1000), agentDied]);
  writer.stop();
  sampleBoth();
  clearInterval(sampler);

  // Let the agent read and commit what was written last (commit_interval is 1 s), then ask it.
  await Promise.race([sleep(3000), agentDied]);
  const status = JSON.parse(execFileSync(process.execPath, [AGENT, 'status', '--config', configPath, '--json'], { encoding: 'utf8' })) as {
    models: Record<string, { accepted: number; rejected: number; late: number; windows_closed: number }>;
  };
  agentDied.catch(() => {});
  const agentSplit = rssSplit(agent.pid!);
  const bareSplit = rssSplit(bare.pid!);
  agent.kill('SIGTERM');
  bare.kill('SIGTERM');
  const agentExit = await exited(agent);
  await exited(bare);

  const a = summarize(agentSeries);
  const b = summarize(bareSeries);
  const fraud = status.models['fraud'];
  const cpuOk = a.cpu_percent_mean <= MARKS.cpu_percent_max;
  const rssRatio = a.rss_mb_median_last_2min / b.rss_mb_median_last_2min;
  const rssOk = rssRatio <= MARKS.rss_ratio_max;
  const result = {
    bench: 'footprint',
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    seconds: SECONDS,
    warmup_seconds: WARMUP_S,
    rate_per_s: RATE,
    features: { numeric: GEN.numericFeatures, categorical: GEN.categoricalFeatures + 1 },
    system_interval_s: 10,
    agent_command: `${Object.entries(shebang.env).map(([k, v]) => `${k}=${v} `).join('')}node ${shebang.flags.join(' ')} dist/edgewatch-agent.js run --config <tmp>/agent.yaml`,
    bare_command: `node -e "setInterval(()=>{},1000)"`,
    agent: { ...a, rss_split_at_end: agentSplit },
    bare_node: { ...b, rss_split_at_end: bareSplit },
    agent_cpu_percent_above_bare: round3(a.cpu_percent_mean - b.cpu_percent_mean),
    rss_ratio_agent_to_bare: round3(rssRatio),
    records: {
      written: writer.written,
      bytes_written: writer.bytes,
      accepted: fraud?.accepted ?? null,
      rejected: fraud?.rejected ?? null,
      late: fraud?.late ?? null,
      windows_closed: fraud?.windows_closed ?? null,
    },
    agent_exit_code: agentExit,
    sampling_round: round,
    marks: MARKS,
    pass: { cpu: cpuOk, rss: rssOk, all_records_accepted: fraud?.accepted === writer.written },
  };
  console.log(JSON.stringify(result, null, 2));
  if (args.series !== undefined) fs.writeFileSync(args.series, JSON.stringify({ clock_ticks: CLOCK_TICKS, agent: agentSeries, bare_node: bareSeries }) + '\n');
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`kept ${dir}\n`);
}

await main();

/** The bundle's first line, `#!/usr/bin/env -S [NAME=VALUE]... node [FLAG]...`, taken apart. */
function readShebang(): { env: Record<string, string>; flags: string[] } {
  const first = fs.readFileSync(AGENT, 'utf8').split('\n', 1)[0] ?? '';
  const words = first.replace(/^#!\S+(\s+-S)?\s+/, '').split(/\s+/).filter(Boolean);
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split('=');
    env[name!] = value.join('=');
  }
  return { env, flags: words[0] === 'node' ? words.slice(1) : [] };
}
