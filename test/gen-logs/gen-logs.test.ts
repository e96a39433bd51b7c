import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { RejectReason } from '../../agent/records/types.js';
import {
  describeDataset,
  generateLines,
  helpText,
  malformedKindsFor,
  resolveOptions,
  writeLogFile,
  type GenLine,
  type GenOptions,
} from '../../scripts/gen-logs.js';

const dir = mkdtempSync(join(tmpdir(), 'gen-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const root = join(import.meta.dirname, '..', '..');

type Verdict = 'good' | 'blank' | 'header' | RejectReason;
type Json = Record<string, unknown>;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const RFC3339_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The parser contract the generator promises, written independently of it: one verdict per line. */
function judgeJsonl(text: string, o: GenOptions & { model: string; task: string; maxBytes: number }): Verdict {
  if (text === '') return 'blank';
  if (Buffer.byteLength(text) > o.maxBytes) return 'too_long';
  let v: unknown;
  try {
    v = JSON.parse(text.replace(/(: )NaN(?=[,}])/g, '$1"<NaN>"'));
  } catch {
    return 'unparseable';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not_object';
  return judgeRecord(v as Json, o);
}

function judgeRecord(r: Json, o: { model: string; task: string }): Verdict {
  if (!('prediction' in r) || !('ts' in r) || !('model' in r)) return 'missing_field';
  if (r.prediction === '<NaN>') return 'non_finite';
  if (typeof r.ts !== 'string' || !Number.isFinite(Date.parse(r.ts))) return 'bad_timestamp';
  if (r.model !== o.model) return 'unknown_model';
  const wanted = o.task === 'regression' ? isNum(r.prediction) : typeof r.prediction === 'string';
  if (!wanted || !isNum(r.latency_ms) || !isNum(r.status) || typeof r.model_version !== 'string') return 'wrong_type';
  if (typeof r.features !== 'object' || r.features === null) return 'wrong_type';
  for (const f of Object.values(r.features)) if (f !== null && typeof f !== 'string' && !isNum(f)) return 'wrong_type';
  return 'good';
}

/** RFC 4180 cells of one row. */
function csvSplit(row: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < row.length; i++) {
    const ch = row[i];
    if (quoted && ch === '"' && row[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

function judgeCsv(text: string, header: string[], o: { model: string; task: string; maxBytes: number }): Verdict {
  if (text === '') return 'blank';
  if (Buffer.byteLength(text) > o.maxBytes) return 'too_long';
  const cells = csvSplit(text);
  if (cells.length !== header.length) return 'csv_columns';
  const row = Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  if (row.prediction === '' || row.ts === '' || row.model === '') return 'missing_field';
  if (row.prediction === 'NaN') return 'non_finite';
  if (!Number.isFinite(Date.parse(row.ts ?? ''))) return 'bad_timestamp';
  if (row.model !== o.model) return 'unknown_model';
  if (o.task === 'regression' && !isNum(Number(row.prediction))) return 'wrong_type';
  if (!isNum(Number(row.latency_ms)) || !isNum(Number(row.status))) return 'wrong_type';
  return 'good';
}

function claimed(line: GenLine): Verdict {
  return line.kind === 'bad' ? (line.reason ?? 'unparseable') : line.kind;
}

function checkVerdicts(opts: GenOptions): GenLine[] {
  const o = resolveOptions(opts);
  const lines = [...generateLines(opts)];
  const ctx = { model: o.model, task: o.task, maxBytes: o.longLineBytes };
  const header = o.format === 'csv' ? csvSplit(lines[0]?.text ?? '') : [];
  lines.forEach((line, i) => {
    if (line.kind === 'header') return expect(i).toBe(0);
    const verdict = o.format === 'jsonl' ? judgeJsonl(line.text, ctx) : judgeCsv(line.text, header, ctx);
    expect(verdict, `line ${i}: ${line.text.slice(0, 200)}`).toBe(claimed(line));
  });
  return lines;
}

const goodRecords = (opts: GenOptions): Json[] =>
  [...generateLines(opts)].filter((l) => l.kind === 'good').map((l) => JSON.parse(l.text) as Json);
const feature = (r: Json, name: string): unknown => (r.features as Json)[name];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('determinism', () => {
  const opts: GenOptions = { records: 3000, malformedRate: 0.05, blankRate: 0.01, crlfRate: 0.1, longLines: 1, longLineBytes: 4096, driftFrom: 1500 };

  it('gives the same bytes for the same options, and other bytes for another seed', () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    const c = join(dir, 'c.jsonl');
    writeLogFile(a, { ...opts, seed: 7 });
    writeLogFile(b, { ...opts, seed: 7 });
    writeLogFile(c, { ...opts, seed: 8 });
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);
    const joined = [...generateLines({ ...opts, seed: 7 })].map((l) => l.text + l.eol).join('');
    expect(readFileSync(a, 'utf8')).toBe(joined);
  });

  it('keeps the good records whatever the bad, blank and CRLF rates', () => {
    const good = (o: GenOptions) => [...generateLines(o)].filter((l) => l.kind === 'good').map((l) => l.text);
    const clean = good({ records: 2000, seed: 3, driftFrom: 1500 });
    const dirty = good({ ...opts, records: 2000, seed: 3 });
    expect(dirty.length).toBe(2000);
    expect(dirty.every((text, i) => text === clean[i])).toBe(true);
  });
});

describe('summary', () => {
  it('matches the lines in the file', () => {
    const path = join(dir, 'summary.jsonl');
    const s = writeLogFile(path, { records: 5000, malformedRate: 0.08, blankRate: 0.02, crlfRate: 0.2, longLines: 3, longLineBytes: 2048 });
    const text = readFileSync(path, 'utf8');
    expect(s.bytes).toBe(Buffer.byteLength(text));
    const lines = text.split('\n').slice(0, -1).map((l) => l.replace(/\r$/, ''));
    expect(s.lines).toBe(lines.length);
    expect(s.good).toBe(5000);
    expect(s.blank).toBe(lines.filter((l) => l === '').length);
    expect(s.good + s.bad + s.blank + s.header).toBe(s.lines);
    expect(Object.values(s.bad_by_reason).reduce((a, b) => a + b, 0)).toBe(s.bad);
    expect(s.bad_by_reason.too_long).toBe(3);
    expect(text.split('\r\n').length - 1).toBeGreaterThan(0.15 * s.lines);
    const ts = lines.filter((l) => /"request_id": "r-\d+"/.test(l)).map((l) => (JSON.parse(l) as Json).ts as string);
    expect(ts).toHaveLength(5000);
    expect(s.first_ts).toBe([...ts].sort()[0]);
    expect(s.last_ts).toBe([...ts].sort().at(-1));
  });
});

describe('malformed lines', () => {
  it('each gets the reason it claims (JSONL, classification)', () => {
    const lines = checkVerdicts({ records: 3000, malformedRate: 0.1, blankRate: 0.02, longLines: 2, longLineBytes: 4096, seed: 11 });
    const reasons = new Set(lines.map((l) => l.reason).filter((r) => r !== undefined));
    expect([...reasons].sort()).toEqual([...malformedKindsFor('jsonl', 'classification'), 'too_long'].sort());
  });

  it('each gets the reason it claims (JSONL, regression, with NaN predictions)', () => {
    const lines = checkVerdicts({ records: 2000, task: 'regression', malformedRate: 0.1, seed: 12 });
    const nan = lines.filter((l) => l.reason === 'non_finite');
    expect(nan.length).toBeGreaterThan(10);
    for (const l of nan) expect(l.text).toContain('"prediction": NaN,');
  });

  it('each gets the reason it claims (CSV, both tasks)', () => {
    for (const task of ['classification', 'regression'] as const) {
      const lines = checkVerdicts({ records: 2000, format: 'csv', task, malformedRate: 0.1, longLines: 1, longLineBytes: 2048, seed: 13 });
      const reasons = new Set(lines.map((l) => l.reason).filter((r) => r !== undefined));
      expect([...reasons].sort()).toEqual([...malformedKindsFor('csv', task), 'too_long'].sort());
    }
  });

  it('come at the chosen rate, cycling through the chosen kinds', () => {
    const lines = [...generateLines({ records: 20_000, malformedRate: 0.05, malformedKinds: ['wrong_type', 'bad_timestamp'], seed: 4 })];
    const bad = lines.filter((l) => l.kind === 'bad');
    expect(bad.length / lines.length).toBeGreaterThan(0.045);
    expect(bad.length / lines.length).toBeLessThan(0.055);
    expect(Math.abs(bad.filter((l) => l.reason === 'wrong_type').length * 2 - bad.length)).toBeLessThanOrEqual(1);
  });

  it('long lines are one byte over the cap', () => {
    const long = [...generateLines({ records: 100, longLines: 2, longLineBytes: 10_000 })].filter((l) => l.reason === 'too_long');
    expect(long.map((l) => Buffer.byteLength(l.text))).toEqual([10_001, 10_001]);
    for (const l of long) expect(judgeRecord(JSON.parse(l.text) as Json, { model: 'fraud', task: 'classification' })).toBe('good');
  });

  it('any mix of options keeps every claim true (property)', () => {
    const options = fc.record({
      seed: fc.nat(),
      records: fc.integer({ min: 0, max: 150 }),
      format: fc.constantFrom('jsonl' as const, 'csv' as const),
      task: fc.constantFrom('classification' as const, 'regression' as const),
      numericFeatures: fc.integer({ min: 0, max: 5 }),
      categoricalFeatures: fc.integer({ min: 0, max: 3 }),
      missingRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
      malformedRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
      blankRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
      longLines: fc.integer({ min: 0, max: 2 }),
      longLineBytes: fc.constant(1024),
      model: fc.constantFrom('fraud', 'churn, "v2"'),
    });
    fc.assert(
      fc.property(options, (o) => {
        const lines = checkVerdicts(o);
        expect(lines.filter((l) => l.kind === 'good')).toHaveLength(o.records);
      }),
      { seed: 20260101, numRuns: 40 },
    );
  });
});

describe('good records', () => {
  const records = goodRecords({ records: 20_000, seed: 21 });

  it('carry the documented fields and types', () => {
    records.forEach((r, i) => {
      expect(r.ts).toMatch(RFC3339_MS);
      expect([r.model, r.model_version, r.request_id]).toEqual(['fraud', 'v1', `r-${i}`]);
      const probs = r.probabilities as Record<string, number>;
      expect(Object.keys(probs)).toEqual(['0', '1']);
      expect(Math.abs((probs['0'] ?? 0) + (probs['1'] ?? 0) - 1)).toBeLessThan(2e-4);
      expect(r.confidence).toBe(probs[r.prediction as string]);
      expect(r.confidence).toBeGreaterThanOrEqual(0.5);
      expect(r.status === 500).toBe('error' in r);
      expect(Object.keys(r.features as Json).every((k) => /^(f[0-7]|c[0-2]|region)$/.test(k))).toBe(true);
    });
  });

  it('have labels, errors and missing values at the default rates', () => {
    const labelled = records.filter((r) => 'label' in r);
    expect(labelled.length / records.length).toBeCloseTo(0.3, 1);
    const accuracy = labelled.filter((r) => r.label === r.prediction).length / labelled.length;
    expect(accuracy).toBeGreaterThan(0.65);
    expect(accuracy).toBeLessThan(0.95);
    expect(records.filter((r) => r.status === 500).length / records.length).toBeCloseTo(0.01, 2);
    const absent = records.filter((r) => !('f3' in (r.features as Json))).length;
    const nulls = records.filter((r) => feature(r, 'f3') === null).length;
    expect(absent + nulls).toBeGreaterThan(100);
    expect(absent + nulls).toBeLessThan(320);
    expect(Math.min(absent, nulls)).toBeGreaterThan(40);
    expect(records.every((r) => typeof feature(r, 'region') === 'string')).toBe(true);
  });

  it('arrive at the chosen rate, a few out of order but never later than the jitter', () => {
    const span = Math.max(...records.map((r) => Date.parse(r.ts as string))) - Date.parse('2026-01-01T00:00:00Z');
    expect(span / 1000).toBeGreaterThan(195);
    expect(span / 1000).toBeLessThan(205);
    let max = -Infinity;
    let late = 0;
    for (const r of records) {
      const t = Date.parse(r.ts as string);
      if (t < max) late++;
      expect(max - t).toBeLessThanOrEqual(5000);
      max = Math.max(max, t);
    }
    expect(late / records.length).toBeGreaterThan(0.006);
    expect(late / records.length).toBeLessThan(0.014);
  });

  it('switch to the second version from record K', () => {
    const versions = goodRecords({ records: 300, secondVersion: 'v2', secondVersionFrom: 120 }).map((r) => r.model_version);
    expect(versions.indexOf('v2')).toBe(120);
    expect(versions.lastIndexOf('v1')).toBe(119);
  });
});

describe('drift', () => {
  const opts: GenOptions = { records: 20_000, driftFrom: 10_000, driftShift: 1.5, driftNumeric: ['f0', 'f3'], seed: 31 };
  const records = goodRecords(opts);
  const schema = describeDataset(opts);
  const before = records.slice(0, 10_000);
  const after = records.slice(10_000);
  const values = (rs: Json[], f: string) => rs.map((r) => feature(r, f)).filter(isNum);

  it('shifts the chosen numeric means by driftShift standard deviations after D, and only them', () => {
    for (const spec of schema.numeric) {
      const expected = ['f0', 'f3'].includes(spec.name) ? 1.5 * spec.std : 0;
      expect(spec.shift).toBeCloseTo(expected, 9);
      const moved = mean(values(after, spec.name)) - mean(values(before, spec.name));
      // 5 standard errors of a difference of two means of ~9,900 values each.
      expect(Math.abs(moved - expected)).toBeLessThan(5 * spec.std * Math.sqrt(2 / 9_900));
      expect(Math.abs(mean(values(before, spec.name)) - spec.mean)).toBeLessThan(5 * spec.std / Math.sqrt(9_900));
    }
  });

  it('reverses the shares of c0 and adds a new value to c1 only after D', () => {
    const [c0, c1] = schema.categorical;
    const share = (rs: Json[], f: string, v: string) => rs.filter((r) => feature(r, f) === v).length / rs.length;
    const top = c0?.values[0] ?? '';
    const last = c0?.values.at(-1) ?? '';
    expect(share(before, 'c0', top)).toBeCloseTo(c0?.shares[0] ?? 0, 1);
    expect(share(after, 'c0', last)).toBeCloseTo(c0?.shares[0] ?? 0, 1);
    expect(share(after, 'c0', top)).toBeCloseTo(c0?.shares.at(-1) ?? 0, 1);
    const fresh = c1?.newValue ?? '';
    expect(c1?.values).not.toContain(fresh);
    expect(share(before, 'c1', fresh)).toBe(0);
    expect(share(after, 'c1', fresh)).toBeCloseTo(0.1, 1);
  });

  it('moves the prediction too, since the model reads the features', () => {
    const positive = (rs: Json[]) => rs.filter((r) => r.prediction === '1').length / rs.length;
    expect(Math.abs(positive(after) - positive(before))).toBeGreaterThan(0.03);
  });
});

describe('regression', () => {
  it('writes numeric predictions and labels, no confidence or probabilities', () => {
    const records = goodRecords({ records: 5000, task: 'regression', labelRate: 1, seed: 41 });
    for (const r of records) {
      expect(isNum(r.prediction) && isNum(r.label)).toBe(true);
      expect('confidence' in r || 'probabilities' in r).toBe(false);
    }
    const mae = mean(records.map((r) => Math.abs((r.label as number) - (r.prediction as number))));
    expect(mae).toBeGreaterThan(5.5);
    expect(mae).toBeLessThan(7.3);
  });
});

describe('CSV', () => {
  const opts: GenOptions = { records: 3000, numericFeatures: 3, categoricalFeatures: 2, model: 'fraud, "eu"', seed: 51 };
  const csv = [...generateLines({ ...opts, format: 'csv' })];
  const header = csvSplit(csv[0]?.text ?? '');

  it('has the documented header and a cell per column on every row', () => {
    expect(csv[0]?.kind).toBe('header');
    expect(header).toEqual([
      'ts', 'model', 'model_version', 'request_id', 'features.f0', 'features.f1', 'features.f2', 'features.c0', 'features.c1',
      'features.region', 'prediction', 'confidence', 'label', 'latency_ms', 'status', 'error',
    ]);
    for (const l of csv.slice(1)) expect(csvSplit(l.text)).toHaveLength(header.length);
  });

  it('holds the same records as JSONL, missing values as empty cells', () => {
    const json = goodRecords(opts);
    csv.slice(1).forEach((l, i) => {
      const row = Object.fromEntries(header.map((h, k) => [h, csvSplit(l.text)[k]]));
      const r = json[i] ?? {};
      expect([row.ts, row.model, row.request_id, row.prediction]).toEqual([r.ts, r.model, r.request_id, r.prediction]);
      expect(row.latency_ms).toBe(String(r.latency_ms));
      expect(row.label).toBe(r.label === undefined ? '' : String(r.label));
      expect(row.error).toBe((r.error as string | undefined) ?? '');
      for (const f of ['f0', 'f1', 'f2', 'c0', 'c1', 'region']) {
        const v = feature(r, f);
        expect(row[`features.${f}`]).toBe(v === undefined || v === null ? '' : String(v));
      }
    });
  });
});

describe('options', () => {
  it('are checked, naming the field', () => {
    expect(() => resolveOptions({ recrods: 5 } as GenOptions)).toThrow(/recrods/);
    expect(() => resolveOptions({ malformedRate: 0.7, blankRate: 0.3 })).toThrow(/malformedRate/);
    expect(() => resolveOptions({ driftNumeric: ['f9'] })).toThrow(/driftNumeric: unknown feature "f9"/);
    expect(() => resolveOptions({ malformedKinds: ['non_finite'] })).toThrow(/malformedKinds/);
    expect(() => resolveOptions({ start: 'yesterday' })).toThrow(/start/);
    expect(() => generateLines({ rate: 0 })).toThrow(/rate/);
  });
});

describe('CLI', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'gen-logs.ts'), ...args], { cwd: root, encoding: 'buffer', maxBuffer: 1 << 26 });

  it('--help lists every option', () => {
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    const text = help.stdout.toString();
    expect(text).toBe(helpText() + '\n');
    for (const key of Object.keys(resolveOptions({}))) expect(text).toContain(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} `);
  });

  it('writes a file, or stdout, with a JSON summary on stderr', () => {
    const args = ['--records', '2000', '--seed', '9', '--malformed-rate', '0.1', '--regions', 'north,south', '--drift-numeric', 'f1', '--drift-from', '5'];
    const path = join(dir, 'cli.jsonl');
    const toFile = cli([...args, '--out', path]);
    expect(toFile.status).toBe(0);
    const summary = JSON.parse(toFile.stderr.toString()) as Json;
    const expected = writeLogFile(join(dir, 'lib.jsonl'), { records: 2000, seed: 9, malformedRate: 0.1, regions: ['north', 'south'], driftNumeric: ['f1'], driftFrom: 5 });
    expect(summary).toMatchObject({ ...expected, out: path });
    expect(readFileSync(path).equals(readFileSync(join(dir, 'lib.jsonl')))).toBe(true);
    const toStdout = cli(args);
    expect(toStdout.status).toBe(0);
    expect(toStdout.stdout.equals(readFileSync(path))).toBe(true);
  });

  it('refuses an unknown flag or a bad value with exit code 2', () => {
    expect(cli(['--recrods', '5']).status).toBe(2);
    const bad = cli(['--records', 'many']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.toString()).toContain('--records');
  });
});
