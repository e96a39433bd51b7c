// Drift-detection benchmark: how often the default drift rule, Evidently's published rule and
// whylogs' published rule flag drift on synthetic windows with a known injected change (detection
// rate) and on stationary windows (false alarms per feature-window). Every window goes through the
// real agent path: records into a WindowProfile, then compareProfiles against a baseline profile;
// the three rules are then applied to the same scores. Prints one JSON object; a markdown table
// goes to stderr.
//
//   node --import tsx scripts/bench/drift.ts [--seed 1] [--scale 1] [--md docs/drift-benchmark.md]
//
// --scale multiplies every window count (0.2 for a quick look); --md rewrites that file's table.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { WindowProfile, type ProfileOptions } from '../../agent/profile/index.js';
import { DEFAULT_DRIFT_RULE, compareProfiles, type DriftReport, type FeatureDrift } from '../../agent/drift/index.js';
import { mulberry32, normal } from '../../test/drift/prng.js';
import { testRecord } from '../../test/helpers/records.js';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    scale: { type: 'string', default: '1' },
    md: { type: 'string' },
  },
});
const SEED = Number(args.seed);
const SCALE = Number(args.scale);
if (!Number.isInteger(SEED) || !(SCALE > 0)) throw new RangeError(`--seed must be an integer and --scale > 0`);

const WINDOW_SIZES = [100, 1_000, 10_000] as const;
const REFERENCE_SIZES = [10_000, 1_000] as const;
/** Windows per size: stationary windows (false alarms) and windows with a change (detection). */
const STATIONARY_WINDOWS: Record<number, number> = { 100: 2_000, 1_000: 1_000, 10_000: 300 };
const CHANGED_WINDOWS: Record<number, number> = { 100: 500, 1_000: 300, 10_000: 200 };
/**
 * Baselines drawn per (stream, window size, reference size), used in turn by the windows. A rate
 * should be the expected one over baseline samples (a device has one baseline; a fleet has many),
 * and with few baselines one unlucky baseline sample moves every window's verdict with it: a
 * fresh baseline per window up to 1,000 reference records, 40 of 10,000 (profiling cost).
 */
function baselineCount(reference: number, windows: number): number {
  return Math.min(windows, reference <= 1_000 ? windows : 40);
}

const OPTS: ProfileOptions = { task: 'classification', categoricalCap: 256, segmentCap: 16, segmentPaths: [] };
const CATEGORIES = ['a', 'b', 'c', 'd', 'e'] as const;
const BASE_SHARES = [0.3, 0.25, 0.2, 0.15, 0.1] as const;
/** The model is right on this share of records, whatever the inputs. */
const ACCURACY = 0.9;

// ---- streams -------------------------------------------------------------------------------

interface StreamParams {
  mean: number;
  std: number;
  /** Category -> share; shares add up to 1. */
  shares: ReadonlyArray<readonly [string, number]>;
  /** P(label = "1"). */
  prior1: number;
  /** Share of records whose label is flipped after the prediction was made (concept drift). */
  labelFlip: number;
}

/** Which verdict counts as detecting the stream's change. */
type Target = 'x' | 'c' | 'label' | 'concept';

interface Stream {
  name: string;
  what: string;
  target: Target | null;
  params: StreamParams;
}

const STATIONARY: StreamParams = {
  mean: 0,
  std: 1,
  shares: CATEGORIES.map((c, i) => [c, BASE_SHARES[i] as number] as const),
  prior1: 0.5,
  labelFlip: 0,
};

/** Category `b` gains `points` of share; the others give it up in proportion to their share. */
function shareShift(points: number): StreamParams['shares'] {
  const b = BASE_SHARES[1] + points;
  const rest = 1 - BASE_SHARES[1];
  return CATEGORIES.map((c, i) => [c, c === 'b' ? b : ((BASE_SHARES[i] as number) * (1 - b)) / rest] as const);
}

const STREAMS: Stream[] = [
  { name: 'stationary', what: 'no change', target: null, params: STATIONARY },
  { name: 'mean_shift_0.25', what: 'x mean +0.25 std', target: 'x', params: { ...STATIONARY, mean: 0.25 } },
  { name: 'mean_shift_0.5', what: 'x mean +0.5 std', target: 'x', params: { ...STATIONARY, mean: 0.5 } },
  { name: 'mean_shift_1', what: 'x mean +1 std', target: 'x', params: { ...STATIONARY, mean: 1 } },
  { name: 'variance_x1.5', what: 'x variance x1.5', target: 'x', params: { ...STATIONARY, std: Math.sqrt(1.5) } },
  { name: 'category_+5', what: 'c: share of "b" 25% -> 30%', target: 'c', params: { ...STATIONARY, shares: shareShift(0.05) } },
  { name: 'category_+10', what: 'c: share of "b" 25% -> 35%', target: 'c', params: { ...STATIONARY, shares: shareShift(0.1) } },
  { name: 'category_+20', what: 'c: share of "b" 25% -> 45%', target: 'c', params: { ...STATIONARY, shares: shareShift(0.2) } },
  {
    name: 'new_category',
    what: 'c: new value "f" at 10%',
    target: 'c',
    params: { ...STATIONARY, shares: [...STATIONARY.shares.map(([c, s]) => [c, s * 0.9] as const), ['f', 0.1] as const] },
  },
  { name: 'label_shift', what: 'label prior 50/50 -> 60/40', target: 'label', params: { ...STATIONARY, prior1: 0.6 } },
  {
    name: 'concept_drift',
    what: 'labels flipped on 20% of records, inputs unchanged',
    target: 'concept',
    params: { ...STATIONARY, labelFlip: 0.2 },
  },
];

function streamSeed(...parts: (string | number)[]): number {
  // FNV-1a over the parts, mixed with --seed: every (stream, size, role) gets its own sequence.
  let h = 0x811c9dc5 ^ SEED;
  for (const ch of parts.join('|')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

let recordsProfiled = 0;

function profileOf(p: StreamParams, n: number, rng: () => number, start: number): WindowProfile {
  const prof = new WindowProfile({ model: 'bench', modelVersion: 'v1', start, end: start + 60_000 }, OPTS);
  const cum: Array<[string, number]> = [];
  let acc = 0;
  for (const [c, s] of p.shares) cum.push([c, (acc += s)]);
  for (let i = 0; i < n; i++) {
    const x = p.mean + p.std * normal(rng);
    const u = rng();
    let c = cum[cum.length - 1]?.[0] ?? 'a';
    for (const [name, upTo] of cum) {
      if (u < upTo) {
        c = name;
        break;
      }
    }
    const truth = rng() < p.prior1 ? '1' : '0';
    const right = rng() < ACCURACY;
    const prediction = right ? truth : truth === '1' ? '0' : '1';
    const flip = p.labelFlip > 0 && rng() < p.labelFlip;
    const label = flip ? (truth === '1' ? '0' : '1') : truth;
    const r = testRecord({ ts: start + i, model: 'bench', features: { x, c }, prediction, label });
    prof.add(r);
  }
  recordsProfiled += n;
  return prof;
}

// ---- rules -----------------------------------------------------------------------------------

type RuleName = 'ours' | 'evidently' | 'whylogs';
const RULES: RuleName[] = ['ours', 'evidently', 'whylogs'];

/** drift: the rule says drift; possible: whylogs' "possible drift" band (not counted as drift). */
interface Verdict {
  drift: boolean;
  possible: boolean;
}

/**
 * Evidently's published defaults (DataDriftPreset, stattest auto-selection): reference <= 1,000
 * rows: KS p < 0.05 (numeric), chi-squared p < 0.05 (categorical); above: Wasserstein / reference
 * std >= 0.1, Jensen-Shannon >= 0.1. Written out here, not taken from DEFAULT_DRIFT_RULE, so the
 * column stays Evidently's when our default moves.
 */
function evidently(d: FeatureDrift): Verdict {
  const small = d.count_ref <= 1_000;
  if (d.type === 'numeric') return { drift: small ? d.ks.p_value < 0.05 : d.wasserstein >= 0.1, possible: false };
  return { drift: small ? d.chi2.p_value < 0.05 : d.js >= 0.1, possible: false };
}

/**
 * whylogs' published drift bands (column drift from its sketches): p < 0.05 drift, 0.05 to 0.15
 * possible drift, else no drift; KS p-value from the quantile sketch for numeric columns,
 * chi-squared for categorical ones. Our KS is computed from t-digests, as whylogs' is from its KLL.
 */
function whylogs(d: FeatureDrift): Verdict {
  const p = d.type === 'numeric' ? d.ks.p_value : d.chi2.p_value;
  return { drift: p < 0.05, possible: p >= 0.05 && p < 0.15 };
}

function verdict(rule: RuleName, d: FeatureDrift): Verdict {
  if (rule === 'ours') return { drift: d.drift, possible: false };
  return rule === 'evidently' ? evidently(d) : whylogs(d);
}

function target(report: DriftReport, name: Target): FeatureDrift {
  const d = name === 'label' ? report.label : name === 'concept' ? report.label : report.features[name];
  if (!d) throw new Error(`bench: no drift scores for ${name}`);
  return d;
}

/**
 * The verdict on a stream's change. Concept drift: ours is the concept-drift rule (accuracy drop
 * against the baseline's); Evidently and whylogs publish no concept rule over inputs and labels,
 * so theirs is what their label-drift test says (the label distribution itself does not move).
 */
function detects(rule: RuleName, report: DriftReport, t: Target): Verdict {
  if (t === 'concept' && rule === 'ours') return { drift: report.quality.concept.drift === true, possible: false };
  return verdict(rule, target(report, t));
}

// ---- runs ------------------------------------------------------------------------------------

interface RuleResult {
  detection_rate?: number;
  false_alarm_rate?: number;
  /** whylogs only: share in its "possible drift" band, not counted above. */
  possible_rate?: number;
  windows: number;
  /** Distinct baseline samples the windows were compared with. */
  baselines: number;
  feature_windows?: number;
  /** Stationary only: false alarms per feature. */
  by_feature?: Record<string, number>;
}

type SizeResult = Partial<Record<RuleName, RuleResult>> & { concept_rule_false_alarm_rate?: number };

function run(stream: Stream, size: number, reference: number): SizeResult {
  const windows = Math.max(1, Math.round((stream.target === null ? STATIONARY_WINDOWS : CHANGED_WINDOWS)[size]! * SCALE));
  const baseRng = mulberry32(streamSeed(stream.name, size, 'baseline', reference));
  const baselines: WindowProfile[] = [];
  const nBaselines = baselineCount(reference, windows);
  for (let b = 0; b < nBaselines; b++) baselines.push(profileOf(STATIONARY, reference, baseRng, 0));
  const rng = mulberry32(streamSeed(stream.name, size, reference));
  const hits = new Map<RuleName, { drift: number; possible: number; byFeature: Map<string, number> }>();
  for (const r of RULES) hits.set(r, { drift: 0, possible: 0, byFeature: new Map() });
  let conceptAlarms = 0;
  for (let w = 0; w < windows; w++) {
    const cur = profileOf(stream.params, size, rng, (w + 1) * 60_000);
    const report = compareProfiles(baselines[w % nBaselines]!, cur, DEFAULT_DRIFT_RULE);
    for (const r of RULES) {
      const h = hits.get(r)!;
      if (stream.target === null) {
        for (const f of ['x', 'c'] as const) {
          const v = verdict(r, target(report, f));
          if (v.drift) h.drift++;
          if (v.possible) h.possible++;
          if (v.drift) h.byFeature.set(f, (h.byFeature.get(f) ?? 0) + 1);
        }
      } else {
        const v = detects(r, report, stream.target);
        if (v.drift) h.drift++;
        if (v.possible) h.possible++;
      }
    }
    if (report.quality.concept.drift === true) conceptAlarms++;
  }
  const out: SizeResult = {};
  for (const r of RULES) {
    const h = hits.get(r)!;
    const res: RuleResult = { windows, baselines: nBaselines };
    if (stream.target === null) {
      const fw = windows * 2;
      res.false_alarm_rate = h.drift / fw;
      res.feature_windows = fw;
      res.by_feature = { x: (h.byFeature.get('x') ?? 0) / windows, c: (h.byFeature.get('c') ?? 0) / windows };
      if (r === 'whylogs') res.possible_rate = h.possible / fw;
    } else {
      res.detection_rate = h.drift / windows;
      if (r === 'whylogs') res.possible_rate = h.possible / windows;
    }
    out[r] = res;
  }
  if (stream.target === null) out.concept_rule_false_alarm_rate = conceptAlarms / windows;
  return out;
}

const t0 = performance.now();
const results: Record<string, Record<string, Record<string, SizeResult>>> = {};
for (const reference of REFERENCE_SIZES) {
  const byStream: Record<string, Record<string, SizeResult>> = {};
  for (const stream of STREAMS) {
    const bySize: Record<string, SizeResult> = {};
    for (const size of WINDOW_SIZES) bySize[String(size)] = run(stream, size, reference);
    byStream[stream.name] = bySize;
  }
  results[String(reference)] = byStream;
}
const seconds = (performance.now() - t0) / 1000;

// ---- the mark --------------------------------------------------------------------------------

/** The issue's mark: >= 95% of 1,000-record windows with a 0.5-std shift, <= 1% false alarms. */
function mark(reference: number, rule: RuleName): { detection_rate: number; false_alarm_rate: number; met: boolean } {
  const det = results[String(reference)]?.['mean_shift_0.5']?.['1000']?.[rule]?.detection_rate ?? Number.NaN;
  const fa = results[String(reference)]?.['stationary']?.['1000']?.[rule]?.false_alarm_rate ?? Number.NaN;
  return { detection_rate: det, false_alarm_rate: fa, met: det >= 0.95 && fa <= 0.01 };
}

const marks: Record<string, Record<RuleName, ReturnType<typeof mark>>> = {};
for (const reference of REFERENCE_SIZES) {
  marks[String(reference)] = { ours: mark(reference, 'ours'), evidently: mark(reference, 'evidently'), whylogs: mark(reference, 'whylogs') };
}

// ---- output ----------------------------------------------------------------------------------

function pct(x: number | undefined): string {
  return x === undefined || Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`;
}

function table(reference: number): string {
  const lines = [
    `Reference (baseline) of ${reference.toLocaleString('en-US')} records. Each cell: ours / Evidently / whylogs ` +
      `(whylogs "possible drift" in brackets, not counted).`,
    '',
    `| stream | rate | ${WINDOW_SIZES.map((s) => `${s.toLocaleString('en-US')}-record windows`).join(' | ')} |`,
    `|---|---|${WINDOW_SIZES.map(() => '---').join('|')}|`,
  ];
  for (const stream of STREAMS) {
    const cells = WINDOW_SIZES.map((size) => {
      const r = results[String(reference)]?.[stream.name]?.[String(size)];
      const key = stream.target === null ? 'false_alarm_rate' : 'detection_rate';
      const n = r?.ours?.windows ?? 0;
      return `${RULES.map((rule) => pct(r?.[rule]?.[key])).join(' / ')} (${pct(r?.whylogs?.possible_rate)}) n=${n}`;
    });
    const rate = stream.target === null ? 'false alarms / feature-window' : 'detection';
    lines.push(`| ${stream.name} (${stream.what}) | ${rate} | ${cells.join(' | ')} |`);
  }
  const st = results[String(reference)]?.['stationary'];
  lines.push(
    `| stationary, concept rule | false alarms / window | ${WINDOW_SIZES.map((s) => `${pct(st?.[String(s)]?.concept_rule_false_alarm_rate)} (ours)`).join(' | ')} |`,
  );
  return lines.join('\n');
}

function markLines(): string {
  const lines = ['The mark (0.5-std shift, 1,000-record windows: detection >= 95%, false alarms <= 1% per feature-window):', ''];
  for (const reference of REFERENCE_SIZES) {
    for (const rule of RULES) {
      const m = marks[String(reference)]![rule];
      lines.push(
        `- reference ${reference.toLocaleString('en-US')}, ${rule}: detection ${pct(m.detection_rate)}, ` +
          `false alarms ${pct(m.false_alarm_rate)}: ${m.met ? '**met**' : '**not met**'}`,
      );
    }
  }
  return lines.join('\n');
}

const markdown = [...REFERENCE_SIZES.map((r) => table(r)), markLines(), `Seed ${SEED}, scale ${SCALE}.`].join('\n\n');
process.stderr.write(`${markdown}\n`);

if (args.md !== undefined) {
  const start = '<!-- bench:drift table start -->';
  const end = '<!-- bench:drift table end -->';
  const text = fs.readFileSync(args.md, 'utf8');
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${args.md}: no ${start} ... ${end} markers to put the table between`);
  fs.writeFileSync(args.md, `${text.slice(0, i + start.length)}\n${markdown}\n${text.slice(j)}`);
}

process.stdout.write(
  `${JSON.stringify({
    bench: 'drift',
    seed: SEED,
    scale: SCALE,
    node: process.version,
    seconds: Math.round(seconds * 10) / 10,
    records_profiled: recordsProfiled,
    window_sizes: WINDOW_SIZES,
    reference_sizes: REFERENCE_SIZES,
    default_rule: DEFAULT_DRIFT_RULE,
    streams: Object.fromEntries(STREAMS.map((s) => [s.name, { what: s.what, detected_on: s.target }])),
    mark: {
      text: 'detect a 0.5-std shift in >= 95% of 1,000-record windows with <= 1% false alarms per feature-window on stationary data',
      by_reference: marks,
    },
    results,
  })}\n`,
);
