// Sampler overhead benchmark: ingest throughput of the Agent (in this process, the loop of
// runtime/run.ts) on the same pre-generated file with system sampling off and on, alternating in the
// same run, with a short sampling interval so rounds really happen while it ingests. The question
// it answers: does sampling take throughput from ingest? Prints one JSON object (docs/footprint.md).
//
//   node --import tsx scripts/bench/sampler-overhead.ts [--records 300000] [--pairs 3] [--intervals 1s,10s] [--keep]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadAgentConfig } from '../../agent/config/index.js';
import { Agent } from '../../agent/runtime/index.js';
import type { SystemRound } from '../../agent/system/index.js';
import { writeLogFile } from '../gen-logs.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    pairs: { type: 'string', default: '3' },
    intervals: { type: 'string', default: '1s,10s' },
    keep: { type: 'boolean', default: false },
  },
});
const RECORDS = Number(args.records);
const PAIRS = Number(args.pairs);
const INTERVALS = args.intervals.split(',');
const MARK_RATIO_MIN = 0.98;

// A full collection before every run, so one run's garbage is not collected on the next one's time.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Run {
  sampling: boolean;
  records_per_s: number;
  seconds: number;
  accepted: number;
  rounds: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Ingests the whole file into a fresh data dir the way `run` does, timed from the first step to the last commit. */
async function ingestOnce(dir: string, logFile: string, interval: string, sampling: boolean, runNo: number): Promise<Run> {
  const dataDir = path.join(dir, `data-${runNo}`);
  const configPath = path.join(dir, `agent-${runNo}.yaml`);
  fs.writeFileSync(
    configPath,
    [
      'device: {id: bench, site: bench}',
      `data_dir: ${JSON.stringify(dataDir)}`,
      `system: {enabled: true, interval: ${interval}}`,
      'models:',
      '  - name: fraud',
      '    task: classification',
      `    logs: [${JSON.stringify(logFile)}]`,
      '    window: 60s',
      '',
    ].join('\n'),
  );
  const agent = Agent.open(loadAgentConfig(configPath));
  // Counts the rounds the sampler hands over, to show that sampling really happened during the run.
  let rounds = 0;
  const accept = agent.acceptSystemRound.bind(agent);
  agent.acceptSystemRound = (r: SystemRound) => {
    rounds++;
    accept(r);
  };
  gc();
  const t0 = performance.now();
  if (sampling) agent.startSystemSampling();
  let accepted = 0;
  for (;;) {
    const bytes = agent.step();
    agent.commitIfDue();
    if (bytes === 0) {
      const m = agent.metricsSnapshot().models[0]!;
      accepted = m.accepted;
      if (m.accepted + m.rejected >= RECORDS) break;
    }
    await yieldToLoop();
  }
  agent.commit();
  const seconds = (performance.now() - t0) / 1000;
  await agent.stopSystemSampling();
  agent.shutdown();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { sampling, records_per_s: Math.round(accepted / seconds), seconds: +seconds.toFixed(3), accepted, rounds };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-bench-sampler-'));
  const logFile = path.join(dir, 'logs', 'app.jsonl');
  // ~10 features, as scripts/bench/footprint.ts writes them.
  const gen = writeLogFile(logFile, { seed: 13, records: RECORDS, numericFeatures: 7, categoricalFeatures: 2 });
  let runNo = 0;
  // Untimed: loads and optimises the ingest path, so the first timed run is not the coldest.
  await ingestOnce(dir, logFile, INTERVALS[0]!, false, runNo++);

  const byInterval = [];
  for (const interval of INTERVALS) {
    const runs: Run[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      runs.push(await ingestOnce(dir, logFile, interval, false, runNo++));
      runs.push(await ingestOnce(dir, logFile, interval, true, runNo++));
    }
    const off = runs.filter((r) => !r.sampling);
    const on = runs.filter((r) => r.sampling);
    const offMedian = median(off.map((r) => r.records_per_s));
    const onMedian = median(on.map((r) => r.records_per_s));
    // Each pair's own ratio too: the spread across pairs is the noise the medians sit in.
    const pairRatios = off.map((r, i) => +(on[i]!.records_per_s / r.records_per_s).toFixed(3));
    const ratio = onMedian / offMedian;
    byInterval.push({
      interval,
      runs,
      off_records_per_s_median: Math.round(offMedian),
      on_records_per_s_median: Math.round(onMedian),
      ratio_on_off: +ratio.toFixed(3),
      pair_ratios: pairRatios,
      rounds_per_on_run: on.map((r) => r.rounds),
      pass: ratio >= MARK_RATIO_MIN,
    });
  }
  const result = {
    bench: 'sampler-overhead',
    node: process.version,
    cpus: os.cpus().length,
    records: gen.good,
    file_mb: +(gen.bytes / 1e6).toFixed(1),
    features: { numeric: 7, categorical: 3 },
    pairs: PAIRS,
    order: 'per interval: off, on, off, on, ... (one untimed warm-up run first)',
    intervals: byInterval,
    mark: { ratio_on_off_min: MARK_RATIO_MIN },
    pass: byInterval.every((b) => b.pass),
  };
  console.log(JSON.stringify(result, null, 2));
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
}

await main();
