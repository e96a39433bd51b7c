// NumericSummary.add, the ingest hot path (16 numeric features at ~130k records/s is ~2M calls/s):
// a summary without bin counts beside one counting on a baseline's 9 decile edges, alternating in
// the same process. Prints one JSON object.
//
//   node --import tsx scripts/bench/numeric-add.ts [--values 2000000] [--reps 7]
import { parseArgs } from 'node:util';
import { baselineEdges, numericSide } from '../../agent/drift/index.js';
import { NumericSummary } from '../../agent/profile/index.js';

const { values: args } = parseArgs({
  options: { values: { type: 'string', default: '2000000' }, reps: { type: 'string', default: '7' } },
});
const N = Number(args.values);
const REPS = Number(args.reps);

// Log-normal-ish values from a fixed LCG, drawn once so the loop times add() alone.
const xs = new Float64Array(N);
let seed = 12345;
for (let i = 0; i < N; i++) {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  const u = (seed + 0.5) / 4294967296;
  xs[i] = Math.exp(2 * (u - 0.5)) * 100;
}
const ref = new NumericSummary();
for (let i = 0; i < 100_000; i++) ref.add(xs[i] as number);
const edges = baselineEdges(numericSide(ref));

function run(withBins: boolean): number {
  const s = new NumericSummary(undefined, withBins ? edges : null);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) s.add(xs[i] as number);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (s.count !== N) throw new Error('lost values');
  return N / seconds;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
run(false);
run(true); // warm both shapes before timing
const plain: number[] = [];
const binned: number[] = [];
for (let r = 0; r < REPS; r++) {
  plain.push(run(false));
  binned.push(run(true));
}
console.log(
  JSON.stringify(
    {
      bench: 'numeric-add',
      node: process.version,
      values: N,
      reps: REPS,
      edges: edges.length,
      no_bins_adds_per_s: Math.round(median(plain)),
      bins_adds_per_s: Math.round(median(binned)),
      ratio_bins_to_no_bins: +(median(binned) / median(plain)).toFixed(3),
    },
    null,
    2,
  ),
);
