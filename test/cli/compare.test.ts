// `edgewatch-agent compare` end to end: the agent ingests a log of two versions (run --once), then
// compare reads the store; its figures are checked against the records written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SegmentComparison, VersionComparison } from '../../agent/report/index.js';
import { mulberry32, normal } from '../drift/prng.js';
import { cli } from '../helpers/cli.js';



interface Line {
  ts: number;
  model: string;
  model_version: string;
  features: { x: number; y: number; region: string };
  prediction: string;
  confidence: number;
  label?: string;
  latency_ms: number;
  status: number;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;
// Recent enough that retention (7 days from now) keeps every window.
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;

/** n records of one version over `minutes` one-minute windows from `start`; x shifted by `shift` std. */
function lines(version: string, n: number, seed: number, start: number, minutes: number, shift: number, errorRate: number): Line[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, (_, i): Line => {
    const region = ['north', 'south', 'east'][Math.floor(rng() * 3)] ?? 'north';
    const prediction = rng() < 0.3 ? 'yes' : 'no';
    const labelled = rng() < 0.5;
    const wrong = rng() < (region === 'east' ? 0.4 : 0.1);
    const l: Line = {
      ts: start + Math.floor((i / n) * minutes * MINUTE),
      model: 'fraud',
      model_version: version,
      features: { x: normal(rng) + shift, y: normal(rng), region },
      prediction,
      confidence: 0.5 + rng() / 2,
      latency_ms: Math.exp(3 + 0.5 * normal(rng)),
      status: rng() < errorRate ? 500 : 200,
    };
    if (labelled) l.label = wrong ? (prediction === 'yes' ? 'no' : 'yes') : prediction;
    return l;
  });
}

const config = (dataDir: string, logs: string) => `device:
  id: dev-1
  site: lab
data_dir: ${dataDir}
models:
  - name: fraud
    task: classification
    logs: ["${logs}"]
    window: 60s
    segments: ["features.region"]
`;

function rankOf(sorted: number[], x: number): number {
  let k = 0;
  while (k < sorted.length && (sorted[k] ?? Infinity) <= x) k++;
  return k / sorted.length;
}

describe('edgewatch-agent compare', () => {
  let dir: string;
  let cfg: string;
  // v0: two days before the others, outside the default 24 h range.
  const v0 = lines('v0', 200, 9, T0 - 48 * HOUR, 2, 0, 0);
  const v1 = lines('v1', 3000, 1, T0, 4, 0, 0.02);
  const v2 = lines('v2', 1000, 2, T0, 4, 1, 0.06);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-compare-'));
    cfg = path.join(dir, 'agent.yaml');
    fs.writeFileSync(cfg, config(path.join(dir, 'data'), path.join(dir, 'logs', '*.jsonl')));
    fs.mkdirSync(path.join(dir, 'logs'));
    // Interleaved by time, as a canary rollout logs them.
    const all = [...v0, ...v1, ...v2].sort((a, b) => a.ts - b.ts);
    fs.writeFileSync(path.join(dir, 'logs', 'app.jsonl'), all.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const ref = path.join(dir, 'reference.jsonl');
    fs.writeFileSync(ref, lines('v1', 3000, 11, T0, 4, 0, 0.02).map((l) => JSON.stringify(l)).join('\n') + '\n');
    const run = await cli('run', '--config', cfg, '--once', '--log-level', 'error');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect((await cli('baseline', '--config', cfg, '--model', 'fraud', '--from', ref, '--version', 'v1')).code).toBe(0);
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function json<T>(...args: string[]): Promise<T> {
    const r = await cli('compare', '--config', cfg, '--model', 'fraud', '--json', ...args);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.out) as T;
  }

  it('--json by version: the documented shape, figures equal to the records', async () => {
    const r = await json<VersionComparison>();
    expect(Object.keys(r).sort()).toEqual(['by', 'columns', 'from', 'model', 'reference', 'to']);
    expect(r).toMatchObject({ by: 'version', model: 'fraud', reference: 'v1', to: null });
    expect(r.from).toBe(T0 + 4 * MINUTE - 24 * HOUR);
    expect(r.columns.map((c) => c.version)).toEqual(['v1', 'v2']);
    for (const [c, recs] of [[r.columns[0], v1], [r.columns[1], v2]] as const) {
      if (c === undefined) throw new Error('column');
      expect(Object.keys(c).sort()).toEqual(
        ['baseline_drift', 'confidence_mean', 'error_rate', 'errors', 'first_start', 'last_end', 'late', 'latency_ms', 'prediction', 'quality', 'records', 'reference_drift', 'rejected', 'rejected_rate', 'throughput_per_s', 'version', 'windows'].sort(),
      );
      const errors = recs.filter((l) => l.status >= 500).length;
      const labelled = recs.filter((l) => l.label !== undefined);
      expect(c).toMatchObject({ records: recs.length, rejected: 0, late: 0, errors, windows: 4, first_start: T0, last_end: T0 + 4 * MINUTE });
      expect(c.error_rate).toBeCloseTo(errors / recs.length, 12);
      expect(c.throughput_per_s).toBeCloseTo(recs.length / 240, 12);
      expect(c.quality).toMatchObject({ task: 'classification', labelled: labelled.length });
      if (c.quality.task !== 'classification') throw new Error('task');
      expect(c.quality.accuracy).toBeCloseTo(labelled.filter((l) => l.label === l.prediction).length / labelled.length, 12);
      const sorted = recs.map((l) => l.latency_ms).sort((a, b) => a - b);
      expect(Math.abs(rankOf(sorted, c.latency_ms?.p50 ?? NaN) - 0.5)).toBeLessThan(0.01);
      expect(Math.abs(rankOf(sorted, c.latency_ms?.p95 ?? NaN) - 0.95)).toBeLessThan(0.01);
      expect(Math.abs(rankOf(sorted, c.latency_ms?.p99 ?? NaN) - 0.99)).toBeLessThan(0.005);
    }
  });

  it('the canary column shows drift against the reference in exactly the shifted feature', async () => {
    const r = await json<VersionComparison>();
    const [c1, c2] = r.columns;
    expect(c1?.reference_drift).toBeNull();
    expect(c2?.reference_drift).toMatchObject({ against: 'v1', dataset: { drifted: ['x'] }, compared: 3, prediction: { drift: false } });
    // v1 has its own stored baseline (same distribution); v2 has none.
    expect(c1?.baseline_drift).toMatchObject({ against: 'v1', dataset: { drift: false, drifted: [] } });
    expect(c2?.baseline_drift).toBeNull();
  });

  it('--from/--to and --reference', async () => {
    const all = await json<VersionComparison>('--from', '0');
    expect(all.columns.map((c) => c.version)).toEqual(['v0', 'v1', 'v2']);
    expect(all.columns[0]?.records).toBe(v0.length);
    const half = await json<VersionComparison>('--from', new Date(T0).toISOString(), '--to', String(T0 + 2 * MINUTE), '--reference', 'v2');
    expect(half.reference).toBe('v2');
    expect(half.columns.map((c) => c.windows)).toEqual([2, 2]);
    expect(half.columns[0]?.records).toBe(v1.filter((l) => l.ts < T0 + 2 * MINUTE).length);
    expect(half.columns[0]?.reference_drift?.dataset.drifted).toEqual(['x']);
  });

  it('--by segment: one column per region, counts and quality equal to the records', async () => {
    const r = await json<SegmentComparison>('--by', 'segment');
    expect(Object.keys(r).sort()).toEqual(['by', 'columns', 'from', 'model', 'paths', 'to', 'versions']);
    expect(r).toMatchObject({ by: 'segment', versions: ['v1', 'v2'], paths: ['features.region'] });
    const recs = [...v1, ...v2];
    expect(r.columns.map((c) => c.value).sort()).toEqual(['east', 'north', 'south']);
    for (const c of r.columns) {
      expect(Object.keys(c).sort()).toEqual(['count', 'error_rate', 'errors', 'latency_ms', 'path', 'quality', 'share', 'value']);
      const mine = recs.filter((l) => l.features.region === c.value);
      const labelled = mine.filter((l) => l.label !== undefined);
      expect(c.count).toBe(mine.length);
      expect(c.errors).toBe(mine.filter((l) => l.status >= 500).length);
      expect(c.quality).toMatchObject({ labelled: labelled.length });
      if (c.quality.task !== 'classification') throw new Error('task');
      expect(c.quality.accuracy).toBeCloseTo(labelled.filter((l) => l.label === l.prediction).length / labelled.length, 12);
    }
    const one = await json<SegmentComparison>('--by', 'segment', '--version', 'v2');
    expect(one.versions).toEqual(['v2']);
    expect(one.columns.reduce((n, c) => n + c.count, 0)).toBe(v2.length);
  });

  it('prints an aligned table: metrics as rows, versions as columns', async () => {
    const r = await cli('compare', '--config', cfg, '--model', 'fraud');
    expect(r.code).toBe(0);
    const rows = r.out.split('\n');
    expect(rows[0]).toMatch(/^model fraud, by version, from .* to the newest closed window; reference v1$/);
    const header = rows.find((l) => l.includes('v1 (reference)')) ?? '';
    const v2At = header.indexOf('v2');
    expect(v2At).toBeGreaterThan(0);
    const recordsRow = rows.find((l) => l.startsWith('records ')) ?? '';
    expect(recordsRow.slice(header.indexOf('v1 (reference)')).trim().split(/\s+/)).toEqual([String(v1.length), String(v2.length)]);
    expect(recordsRow.slice(v2At).trim()).toBe(String(v2.length));
    expect(rows.find((l) => l.startsWith('  drifted') && l.includes('x'))).toBeDefined();
    const seg = await cli('compare', '--config', cfg, '--model', 'fraud', '--by', 'segment');
    expect(seg.code).toBe(0);
    expect(seg.out).toContain('segment features.region');
    expect(seg.out).toMatch(/accuracy/);
  });

  it('usage errors exit with 2', async () => {
    const bad = async (...args: string[]) => {
      const r = await cli('compare', '--config', cfg, ...args);
      expect(r.code).toBe(2);
      return r.err;
    };
    expect(await bad('--model', 'nope')).toContain('EW_ERR_UNKNOWN_MODEL');
    expect(await bad()).toContain('--model');
    expect(await bad('--model', 'fraud', '--by', 'region')).toContain('--by');
    expect(await bad('--model', 'fraud', '--reference', 'v9')).toContain('v9');
    expect(await bad('--model', 'fraud', '--by', 'segment', '--version', 'v9')).toContain('v9');
    expect(await bad('--model', 'fraud', '--version', 'v1')).toContain('--by segment');
    expect(await bad('--model', 'fraud', '--from', 'yesterday')).toContain('--from');
  });
});
