// `edgewatch-agent analyze`: batch drift between two files, through the command line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../agent/cli/main.js';
import { baselineEdges, numericSide, psiFromShares } from '../../agent/drift/index.js';
import { NumericSummary } from '../../agent/profile/index.js';
import { mulberry32, normal } from './prng.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-analyze-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const config = path.join(dir, 'agent.yaml');
fs.writeFileSync(config, 'data_dir: ./data\nmodels:\n  - name: fraud\n    task: classification\n    logs: ["./logs/*.jsonl"]\n');

interface Shape {
  n: number;
  seed: number;
  shift?: number;
  /** Share of category "a" (the rest split evenly between "b" and "c"). */
  shareA?: number;
  extra?: boolean;
  /** Share of labels that agree with the prediction (default 0.9). */
  accuracy?: number;
}

/** x ~ N(shift, 1), c in {a, b, c}, prediction depends on x; labels on a third of the lines. */
function writeData(name: string, s: Shape): string {
  const rng = mulberry32(s.seed);
  const lines: string[] = [];
  for (let i = 0; i < s.n; i++) {
    const x = normal(rng) + (s.shift ?? 0);
    const u = rng();
    const a = s.shareA ?? 1 / 3;
    const c = u < a ? 'a' : u < a + (1 - a) / 2 ? 'b' : 'c';
    const features: Record<string, number | string> = { x: +x.toFixed(4), c };
    if (s.extra) features['z'] = i;
    const prediction = x > 0.5 ? '1' : '0';
    const label = i % 3 === 0 ? { label: rng() < (s.accuracy ?? 0.9) ? prediction : prediction === '1' ? '0' : '1' } : {};
    lines.push(JSON.stringify({ ts: 1_767_225_600_000 + i, prediction, features, ...label }));
  }
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n')); // no final newline: batch mode reads the last line too
  return file;
}

async function analyze(baseline: string, current: string, ...flags: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['analyze', '--config', config, '--model', 'fraud', '--baseline', baseline, '--current', current, ...flags], {
    out: (s) => (out += s + '\n'),
    err: (s) => (err += s + '\n'),
  });
  return { code, out, err };
}

type Report = {
  dataset: { drift: boolean; share: number; drifted: string[] };
  features: Record<string, Record<string, unknown>>;
  skipped: Record<string, string>;
  prediction: Record<string, unknown> | null;
  prediction_drift_features: string[];
  label: Record<string, unknown> | null;
  quality: { baseline: Record<string, unknown>; current: Record<string, unknown>; concept: Record<string, unknown> };
  lines: { baseline: number; current: number };
};

describe('analyze', () => {
  const ref = writeData('ref.jsonl', { n: 5_000, seed: 1 });

  it('finds no drift between two samples of the same data, and exits 0 even with --fail-on-drift', async () => {
    const same = writeData('same.jsonl', { n: 5_000, seed: 2 });
    const r = await analyze(ref, same, '--json', '--fail-on-drift');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Report;
    expect(report.lines).toEqual({ baseline: 5_000, current: 5_000 });
    expect(report.dataset).toEqual({ drift: false, share: 0, drifted: [] });
    expect(report.features['x']).toMatchObject({ type: 'numeric', count_ref: 5_000, count_cur: 5_000, method: 'ks', drift: false });
    expect(report.features['c']).toMatchObject({ type: 'categorical', method: 'chi2', drift: false, new_categories: [] });
    expect(report.prediction).toMatchObject({ type: 'categorical', drift: false });
    expect(report.prediction_drift_features).toEqual([]);
  });

  it('finds a half-std shift and a category share change, ranks them, and exits 3 with --fail-on-drift', async () => {
    const moved = writeData('moved.jsonl', { n: 5_000, seed: 3, shift: 0.5, shareA: 0.6 });
    const r = await analyze(ref, moved, '--json', '--fail-on-drift');
    expect(r.code).toBe(3);
    const report = JSON.parse(r.out) as Report;
    expect(report.dataset.drift).toBe(true);
    expect(report.dataset.share).toBe(1);
    const x = report.features['x']!;
    expect(x['drift']).toBe(true);
    expect(x['wasserstein']).toBeGreaterThan(0.4);
    expect(x['wasserstein']).toBeLessThan(0.6);
    expect((x['ks'] as { p_value: number }).p_value).toBeLessThan(1e-10);
    expect(report.features['c']).toMatchObject({ drift: true });
    // Ranked by the deciding test's p-value, smallest first.
    const p = (name: string) => {
      const f = report.features[name]!;
      return ((f['ks'] ?? f['chi2']) as { p_value: number }).p_value;
    };
    const order = Object.keys(report.features);
    expect(order.sort()).toEqual(['c', 'x']);
    expect(p(Object.keys(report.features)[0]!)).toBeLessThanOrEqual(p(Object.keys(report.features)[1]!));
    expect(report.prediction).toMatchObject({ drift: true });
    expect(report.prediction_drift_features.sort()).toEqual(['c', 'x']);
    expect(report.quality.baseline).toHaveProperty('accuracy');
    expect(report.quality.current).toHaveProperty('labelled');
  });

  it('gives the exact PSI of the raw data on the baseline digest\'s deciles', async () => {
    const moved = writeData('psi.jsonl', { n: 3_000, seed: 9, shift: 0.3 });
    const report = JSON.parse((await analyze(ref, moved, '--json')).out) as Report;
    const xsOf = (file: string): number[] =>
      fs.readFileSync(file, 'utf8').split('\n').map((l) => (JSON.parse(l) as { features: { x: number } }).features.x);
    // The deciles as the agent finds them: the baseline's values, in file order, into a digest.
    const base = new NumericSummary();
    for (const x of xsOf(ref)) base.add(x);
    const edges = baselineEdges(numericSide(base));
    const shares = (xs: number[]): number[] => {
      const counts = new Array<number>(edges.length + 1).fill(0);
      for (const x of xs) {
        const i = edges.findIndex((e) => x <= e);
        counts[i === -1 ? edges.length : i]!++;
      }
      return counts.map((c) => c / xs.length);
    };
    const exact = psiFromShares(shares(xsOf(ref)), shares(xsOf(moved)));
    expect(Math.abs((report.features['x']!['psi'] as number) - exact)).toBeLessThanOrEqual(1e-12);
  });

  it('reports concept drift when the labels stop agreeing with the predictions, inputs unchanged', async () => {
    const concept = writeData('concept.jsonl', { n: 5_000, seed: 6, accuracy: 0.6 });
    const report = JSON.parse((await analyze(ref, concept, '--json')).out) as Report;
    expect(report.dataset.drift).toBe(false);
    expect(report.quality.concept).toMatchObject({ metric: 'accuracy', drift: true });
    expect(report.quality.concept['change']).toBeLessThan(-0.2);
    expect(report.quality.current).toHaveProperty('macro');
  });

  it('decides by the tests with a small reference too, and lists what it could not compare', async () => {
    const small = writeData('small.jsonl', { n: 800, seed: 4 });
    const extra = writeData('extra.jsonl', { n: 800, seed: 5, extra: true });
    const report = JSON.parse((await analyze(small, extra, '--json')).out) as Report;
    expect(report.features['x']).toMatchObject({ method: 'ks', drift: false });
    expect(report.features['c']).toMatchObject({ method: 'chi2' });
    expect((report.features['c']!['chi2'] as { dof: number }).dof).toBe(2);
    expect(report.skipped).toEqual({ z: 'not in the baseline' });
  });

  it('follows the drift config: per-feature thresholds and ignored features', async () => {
    const tuned = path.join(dir, 'tuned.yaml');
    fs.writeFileSync(
      tuned,
      'data_dir: ./data\nmodels:\n  - name: fraud\n    task: classification\n    logs: ["./logs/*.jsonl"]\n' +
        '    drift: {features: {x: {wasserstein_floor: 5}, c: {ignore: true}}}\n',
    );
    const moved = writeData('moved2.jsonl', { n: 5_000, seed: 7, shift: 0.5, shareA: 0.6 });
    let out = '';
    const code = await main(['analyze', '--config', tuned, '--model', 'fraud', '--baseline', ref, '--current', moved, '--json'], {
      out: (s) => (out += s),
      err: () => {},
    });
    expect(code).toBe(0);
    const report = JSON.parse(out) as Report;
    expect(report.features['x']).toMatchObject({ drift: false }); // 0.5 std is under its floor of 5
    expect(report.skipped['c']).toBe('ignored by the drift config');
    expect(report.dataset.drift).toBe(false);
  });

  it('writes one self-contained HTML page with the table and both histograms per feature', async () => {
    const moved = writeData('moved3.jsonl', { n: 5_000, seed: 8, shift: 0.5 });
    const page = path.join(dir, 'report.html');
    const r = await analyze(ref, moved, '--html', page);
    expect(r.code).toBe(0);
    const html = fs.readFileSync(page, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toMatch(/<tr class="drift"><td><a href="#f-x">x<\/a><\/td><td>numeric<\/td><td>DRIFT<\/td>/);
    expect(html).toMatch(/<tr class=""><td><a href="#f-c">c<\/a><\/td><td>categorical<\/td><td>ok<\/td>/);
    for (const id of ['f-x', 'f-c', 'f-(prediction)']) expect(html).toContain(`<section id="${id}">`);
    // Ten decile bins for x and three categories for c, each with a baseline and a current bar.
    const xSection = html.slice(html.indexOf('<section id="f-x">'), html.indexOf('</section>', html.indexOf('<section id="f-x">')));
    expect(xSection.match(/<rect class="b"/g)).toHaveLength(10);
    expect(xSection.match(/<rect class="c"/g)).toHaveLength(10);
    // Nothing is fetched: no scripts, no external resources.
    expect(html).not.toMatch(/<script|src=|https?:/i);
  });

  it('prints a readable table without --json, and refuses a missing file or flag', async () => {
    const r = await analyze(ref, ref);
    expect(r.code).toBe(0);
    expect(r.out).toContain('dataset drift: no');
    expect(r.out).toMatch(/^x\s+numeric\s+ok/m);
    expect((await analyze(ref, path.join(dir, 'missing.jsonl'))).code).toBe(2);
    let err = '';
    const code = await main(['analyze', '--config', config, '--model', 'fraud', '--baseline', ref], { out: () => {}, err: (s) => (err += s) });
    expect(code).toBe(2);
    expect(err).toContain('--current is required');
  });
});
