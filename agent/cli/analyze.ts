// `edgewatch-agent analyze`: batch drift between two files, no daemon, no database (nightly
// validation jobs, CI pipelines).
import type { AgentConfig } from '../config/types.js';
import { binEdgesFor, compareProfiles, type DriftReport, type FeatureDrift } from '../drift/index.js';
import { AgentError } from '../errors.js';
import type { WindowProfile } from '../profile/index.js';
import { FeatureTypes } from '../records/index.js';
import { profileFile } from '../runtime/profile-file.js';

/** Exit code of `analyze --fail-on-drift` when drift is found. */
export const DRIFT_EXIT_CODE = 3;

export interface AnalyzeOptions {
  model: string;
  baseline: string;
  current: string;
}

export interface Analysis {
  report: DriftReport & { lines: { baseline: number; current: number } };
  base: WindowProfile;
  cur: WindowProfile;
}

export function analyze(config: AgentConfig, opts: AnalyzeOptions): Analysis {
  const model = config.models.find((m) => m.name === opts.model);
  if (!model) {
    throw new AgentError('EW_ERR_UNKNOWN_MODEL', `analyze: no model "${opts.model}" in the configuration (models: ${config.models.map((m) => m.name).join(', ')})`);
  }
  // One type registry for both sides: the baseline decides a feature's type, the current follows.
  const types = new FeatureTypes(model.features, model.infer_features);
  // Twice over the baseline: the first pass finds its deciles, the second counts both sides exactly
  // on them, so PSI is exact (the second pass's digest is the first's: same values, same order).
  const edges = binEdgesFor(profileFile(opts.baseline, model, types, 'baseline').profile);
  const base = profileFile(opts.baseline, model, types, 'baseline', undefined, edges);
  const cur = profileFile(opts.current, model, types, 'current', undefined, edges);
  const report = { ...compareProfiles(base.profile, cur.profile, model.drift.rule, model.drift.features), lines: { baseline: base.lines, current: cur.lines } };
  return { report, base: base.profile, cur: cur.profile };
}

/** Whether the report shows drift of the data, the predictions, the labels or the concept. */
export function driftFound(r: DriftReport): boolean {
  return r.dataset.drift || r.prediction?.drift === true || r.label?.drift === true || r.quality.concept.drift === true;
}

export function formatReport(r: DriftReport): string {
  const decisive = (d: FeatureDrift): string =>
    d.type === 'numeric'
      ? `KS p=${d.ks.p_value.toPrecision(3)}, W ${d.wasserstein.toFixed(3)} std`
      : `chi2 p=${d.chi2.p_value.toPrecision(3)}, JS ${d.js.toFixed(3)}`;
  const row = (name: string, d: FeatureDrift) =>
    `${name.padEnd(24)} ${d.type.padEnd(12)} ${(d.drift ? 'DRIFT' : 'ok').padEnd(6)} ${decisive(d).padEnd(34)} PSI ${d.psi.toFixed(3)}  n ${d.count_ref} / ${d.count_cur}`;
  const lines = [
    `dataset drift: ${r.dataset.drift ? 'YES' : 'no'} (${r.dataset.drifted.length} of ${Object.keys(r.features).length} features, share ${r.dataset.share.toFixed(2)})`,
    '',
    `${'feature'.padEnd(24)} ${'type'.padEnd(12)} ${'drift'.padEnd(6)} ${'deciding scores'.padEnd(34)} other`,
    ...Object.entries(r.features).map(([name, d]) => row(name, d)),
  ];
  if (r.prediction) lines.push('', row('(prediction)', r.prediction));
  if (r.label) lines.push(row('(label)', r.label));
  const c = r.quality.concept;
  const fmt = (x: number | null) => (x === null ? '-' : x.toFixed(3));
  const verdict = c.drift === null ? 'not enough labels' : c.drift ? 'CONCEPT DRIFT' : 'ok';
  lines.push('', `quality: ${c.metric} ${fmt(c.baseline)} -> ${fmt(c.current)} (${verdict})`);
  for (const [name, why] of Object.entries(r.skipped)) lines.push(`skipped ${name}: ${why}`);
  return lines.join('\n');
}
