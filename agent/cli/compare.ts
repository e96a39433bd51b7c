// `edgewatch-agent compare`: a model's closed windows side by side, one column per version (canary
// rollouts) or per segment value. Reads the store read-only; safe while an agent runs.
import type { AgentConfig } from '../config/types.js';
import { AgentError } from '../errors.js';
import { WindowProfile } from '../profile/index.js';
import {
  CompareError,
  compareSegments,
  compareVersions,
  type Comparison,
  type DriftColumn,
  type LatencyQuantiles,
  type QualityColumn,
  type SegmentComparison,
  type VersionComparison,
} from '../report/index.js';
import { AgentStore } from '../store/index.js';

/** Without --from: this much before --to, else before the end of the newest closed window. */
export const DEFAULT_RANGE_MS = 24 * 3_600_000;
/** Text tables wider than this are split into blocks of columns. */
const MAX_TABLE_WIDTH = 150;
/** Drifted features named per cell in the text table (JSON lists them all). */
const NAMES_PER_CELL = 3;

export interface CompareOptions {
  model: string;
  by: 'version' | 'segment';
  from?: number;
  to?: number;
  reference?: string;
  version?: string;
}

export function parseBy(v: string | undefined): 'version' | 'segment' {
  if (v === undefined || v === 'version' || v === 'segment') return v ?? 'version';
  throw new AgentError('EW_ERR_USAGE', `compare: --by: got "${v}", expected version or segment`);
}

export function compare(config: AgentConfig, opts: CompareOptions): Comparison {
  const model = config.models.find((m) => m.name === opts.model);
  if (!model) {
    throw new AgentError('EW_ERR_UNKNOWN_MODEL', `compare: no model "${opts.model}" in the configuration (models: ${config.models.map((m) => m.name).join(', ')})`);
  }
  if (opts.by === 'version' && opts.version !== undefined) throw new AgentError('EW_ERR_USAGE', 'compare: --version goes with --by segment (--by version shows every version)');
  if (opts.by === 'segment' && opts.reference !== undefined) throw new AgentError('EW_ERR_USAGE', 'compare: --reference goes with --by version');
  if (opts.from !== undefined && opts.to !== undefined && opts.from >= opts.to) {
    throw new AgentError('EW_ERR_USAGE', `compare: --from (${opts.from}) must be before --to (${opts.to})`);
  }
  const store = AgentStore.openForReading(config.data_dir);
  try {
    const from = opts.from ?? (opts.to ?? newestClosedEnd(store, model.name) ?? 0) - DEFAULT_RANGE_MS;
    const to = opts.to ?? null;
    const windows = store.closedWindows(model.name, { from, ...(to === null ? {} : { to }) }).map((w) => WindowProfile.decode(w.profile));
    const input = { model: model.name, from, to, windows, drift: model.drift };
    try {
      if (opts.by === 'segment') return compareSegments(input, { segmentPaths: model.segments, ...(opts.version === undefined ? {} : { version: opts.version }) });
      return compareVersions(input, {
        ...(opts.reference === undefined ? {} : { reference: opts.reference }),
        baselineOf: (version) => {
          const b = store.baselines.get(model.name, version);
          return b === null ? null : { version: b.modelVersion, profile: WindowProfile.decode(b.profile) };
        },
      });
    } catch (err) {
      if (err instanceof CompareError) throw new AgentError('EW_ERR_USAGE', `compare: ${err.message}`);
      throw err;
    }
  } finally {
    store.close();
  }
}

/** End of the model's newest closed window: one indexed MAX rather than decoding every window. */
function newestClosedEnd(store: AgentStore, model: string): number | null {
  const r = store.db.prepare(`SELECT MAX(end_ms) AS end FROM windows WHERE model = ? AND state = 'closed'`).get(model) as { end: number | null };
  return r.end;
}

// Formatting.

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

function num(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  const a = Math.abs(x);
  if (a === 0) return '0';
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.01) return x.toFixed(3);
  return x.toPrecision(2);
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(x !== 0 && Math.abs(x) < 0.001 ? 3 : 1)}%`);
const countAndRate = (n: number, rate: number | null): string => (rate === null ? String(n) : `${n} (${pct(rate)})`);

function names(list: string[]): string {
  if (list.length === 0) return '-';
  const shown = list.slice(0, NAMES_PER_CELL).join(', ');
  return list.length > NAMES_PER_CELL ? `${shown} +${list.length - NAMES_PER_CELL}` : shown;
}

interface Row {
  label: string;
  cells: string[];
}

/** Metrics as rows, one column per header; blocks of columns when the table would be too wide. */
export function renderTable(headers: string[], rows: Row[], maxWidth = MAX_TABLE_WIDTH): string {
  const labelWidth = Math.max(6, ...rows.map((r) => r.label.length));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.cells[i] ?? '').length)));
  const blocks: number[][] = [];
  let block: number[] = [];
  let width = labelWidth;
  widths.forEach((w, i) => {
    if (block.length > 0 && width + 2 + w > maxWidth) {
      blocks.push(block);
      block = [];
      width = labelWidth;
    }
    block.push(i);
    width += 2 + w;
  });
  if (block.length > 0) blocks.push(block);
  const line = (label: string, cells: string[], cols: number[]) =>
    [label.padEnd(labelWidth), ...cols.map((i) => (cells[i] ?? '').padEnd(widths[i] ?? 0))].join('  ').trimEnd();
  return blocks
    .map((cols) => [line('', headers, cols), ...rows.map((r) => line(r.label, r.cells, cols))].join('\n'))
    .join('\n\n');
}

function latencyRows<T>(cols: T[], get: (c: T) => LatencyQuantiles | null): Row[] {
  return (['p50', 'p95', 'p99'] as const).map((q) => ({ label: `latency ${q} ms`, cells: cols.map((c) => num(get(c)?.[q])) }));
}

function qualityRows<T>(cols: T[], get: (c: T) => QualityColumn): Row[] {
  const qs = cols.map(get);
  const first = qs[0];
  if (first === undefined) return [];
  const rows: Row[] = [{ label: 'labelled', cells: qs.map((q) => String(q.labelled)) }];
  if (first.task === 'classification') {
    rows.push({ label: 'accuracy', cells: qs.map((q) => num(q.task === 'classification' ? q.accuracy : null)) });
    rows.push({ label: 'macro F1', cells: qs.map((q) => num(q.task === 'classification' ? q.macro_f1 : null)) });
  } else {
    rows.push({ label: 'MAE', cells: qs.map((q) => num(q.task === 'regression' ? q.mae : null)) });
    rows.push({ label: 'RMSE', cells: qs.map((q) => num(q.task === 'regression' ? q.rmse : null)) });
  }
  return rows;
}

function driftRows(title: string, cols: Array<DriftColumn | null>, empty: string): Row[] {
  const cell = (d: DriftColumn | null, f: (d: DriftColumn) => string) => (d === null ? empty : f(d));
  return [
    { label: title, cells: cols.map((d) => cell(d, (x) => (x.against === '*' ? 'all versions (*)' : x.against))) },
    { label: '  dataset drift', cells: cols.map((d) => cell(d, (x) => `${x.dataset.drift ? 'YES' : 'no'} (${x.dataset.drifted.length}/${x.compared})`)) },
    { label: '  drifted', cells: cols.map((d) => cell(d, (x) => names(x.dataset.drifted))) },
    {
      label: '  prediction',
      cells: cols.map((d) => cell(d, (x) => (x.prediction === null ? '-' : `${x.prediction.drift ? 'DRIFT' : 'ok'} (p ${x.prediction.p_value.toPrecision(2)})`))),
    },
    {
      label: '  concept',
      cells: cols.map((d) =>
        cell(d, (x) => {
          const verdict = x.concept.drift === null ? 'n/a' : x.concept.drift ? 'DRIFT' : 'ok';
          return x.concept.change === null ? verdict : `${verdict} (${x.concept.metric} ${x.concept.change >= 0 ? '+' : ''}${num(x.concept.change)})`;
        }),
      ),
    },
  ];
}

function rangeLine(c: Comparison): string {
  return `from ${iso(c.from)} to ${c.to === null ? 'the newest closed window' : iso(c.to)}`;
}

export function formatVersions(c: VersionComparison): string {
  const head = `model ${c.model}, by version, ${rangeLine(c)}`;
  if (c.columns.length === 0) return `${head}: no closed window`;
  const cols = c.columns;
  const topN = Math.max(0, ...cols.map((x) => (x.prediction.type === 'categorical' ? x.prediction.top.length : 0)));
  const predictionRows: Row[] = [];
  if (cols.every((x) => x.prediction.type === 'numeric')) {
    predictionRows.push({ label: 'prediction mean', cells: cols.map((x) => num(x.prediction.type === 'numeric' ? x.prediction.mean : null)) });
    predictionRows.push({ label: 'prediction std', cells: cols.map((x) => num(x.prediction.type === 'numeric' ? x.prediction.std : null)) });
  } else {
    for (let i = 0; i < topN; i++) {
      predictionRows.push({
        label: i === 0 ? 'predicted classes' : '',
        cells: cols.map((x) => {
          const t = x.prediction.type === 'categorical' ? x.prediction.top[i] : undefined;
          return t === undefined ? '' : `${t.value} ${pct(t.share)}`;
        }),
      });
    }
    if (cols.some((x) => x.prediction.type === 'categorical' && x.prediction.other_share > 0)) {
      predictionRows.push({ label: '', cells: cols.map((x) => (x.prediction.type === 'categorical' && x.prediction.other_share > 0 ? `other ${pct(x.prediction.other_share)}` : '')) });
    }
  }
  const rows: Row[] = [
    { label: 'windows', cells: cols.map((x) => String(x.windows)) },
    { label: 'first window', cells: cols.map((x) => iso(x.first_start)) },
    { label: 'last window end', cells: cols.map((x) => iso(x.last_end)) },
    { label: 'records', cells: cols.map((x) => String(x.records)) },
    { label: 'rejected', cells: cols.map((x) => countAndRate(x.rejected, x.rejected_rate)) },
    { label: 'late', cells: cols.map((x) => String(x.late)) },
    { label: 'errors', cells: cols.map((x) => countAndRate(x.errors, x.error_rate)) },
    { label: 'throughput rec/s', cells: cols.map((x) => num(x.throughput_per_s)) },
    ...latencyRows(cols, (x) => x.latency_ms),
    { label: 'confidence mean', cells: cols.map((x) => num(x.confidence_mean)) },
    ...predictionRows,
    ...qualityRows(cols, (x) => x.quality),
    ...driftRows('vs baseline', cols.map((x) => x.baseline_drift), '-'),
    ...driftRows(`vs reference`, cols.map((x) => x.reference_drift), ''),
  ];
  const headers = cols.map((x) => (x.version === c.reference ? `${x.version} (reference)` : x.version));
  return `${head}; reference ${c.reference ?? '-'}\n\n${renderTable(headers, rows)}`;
}

export function formatSegments(c: SegmentComparison): string {
  const head = `model ${c.model}, by segment, ${rangeLine(c)}, versions ${c.versions.join(', ') || '-'}`;
  if (c.paths.length === 0) return `${head}: no segment configured (models[].segments)`;
  const blocks = c.paths.map((path) => {
    const cols = c.columns.filter((x) => x.path === path);
    if (cols.length === 0) return `segment ${path}: no records with a value`;
    const rows: Row[] = [
      { label: 'records', cells: cols.map((x) => String(x.count)) },
      { label: 'share', cells: cols.map((x) => pct(x.share)) },
      { label: 'errors', cells: cols.map((x) => countAndRate(x.errors, x.error_rate)) },
      ...latencyRows(cols, (x) => x.latency_ms),
      ...qualityRows(cols, (x) => x.quality),
    ];
    return `segment ${path}\n${renderTable(cols.map((x) => x.value), rows)}`;
  });
  return [head, ...blocks].join('\n\n');
}

export function formatComparison(c: Comparison): string {
  return c.by === 'version' ? formatVersions(c) : formatSegments(c);
}
