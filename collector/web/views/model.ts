// Model: the models and versions the fleet runs (/api/models); for one version, the fleet drift
// heatmap (feature x time, each bucket's merged profile against the baseline), the model's versions
// side by side, the devices that drift most, and the merged fleet profile over the same range: the
// version's whole span, or the range picked (range.ts) for all of them at once.
import { api, ApiFailure, enc, qs } from '../api.js';
import { heatmap } from '../charts.js';
import { el, fmtNum, fmtPct, fmtTime, note, routeLink, section } from '../dom.js';
import type { CompareAnswer, FleetAnswer, HeatmapAnswer, ModelsAnswer, TopDevicesAnswer } from '../types.js';
import { parseRange, rangePicker, resolveRange, withRange, type Span, type TimeRange } from '../range.js';
import type { ViewContext } from './view.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * `scope`: `fleet` (the default), `site:<name>` or `tag:<name>`: whose merged profiles the heatmap and
 * the fleet profile show. The time range (the hash's query, range.ts) applies to every request below
 * but the list of models; "all" is the version's whole span.
 */
export async function modelView(ctx: ViewContext, model?: string, version?: string, scope = 'fleet'): Promise<void> {
  const { range, ignored } = parseRange(ctx.query);
  const { models } = await api.get<ModelsAnswer>('/api/models');
  if (!ctx.live()) return;
  ctx.root.append(
    section('Models', models.length === 0
      ? note('No model has been rolled up yet: the fleet view fills as summaries are folded (docs/fleet.md).')
      : el('table', { class: 'grid compact', id: 'models' },
        el('thead', {}, el('tr', {}, ...['model', 'version', 'device windows', 'records', 'days', 'sites'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...models.flatMap((m) => m.versions.map((v) =>
          el('tr', { class: m.model === model && v.version === version ? 'selected' : '' },
            el('td', {}, m.model),
            el('td', {}, routeLink(withRange(`#/model/${enc(m.model)}/${enc(v.version)}`, range), v.version)),
            el('td', { class: 'num' }, fmtNum(v.windows)), el('td', { class: 'num' }, fmtNum(v.records)),
            el('td', {}, `${fmtTime(v.first_day).slice(0, 10)} – ${fmtTime(v.last_day).slice(0, 10)}`),
            el('td', {}, v.sites.join(', ')))))))),
  );
  const chosen = models.find((m) => m.model === model)?.versions.find((v) => v.version === version);
  if (model === undefined || version === undefined || chosen === undefined) {
    if (model !== undefined) ctx.root.append(note(`The fleet has no rolled-up windows of ${model} ${version ?? ''}.`, 'error'));
    return;
  }
  const base = `/api/models/${enc(model)}/versions/${enc(version)}`;
  const scopeQs = { site: scope.startsWith('site:') ? scope.slice(5) : undefined, tag: scope.startsWith('tag:') ? scope.slice(4) : undefined };
  // "all": the version's whole span. A preset ends at the fleet's newest data of the version (not
  // the scope's, so switching scope keeps the range), found only when a preset asks for it.
  const newest = range.kind === 'last' ? await newestData(base, chosen.last_day) : chosen.last_day + DAY;
  if (!ctx.live()) return;
  const span = resolveRange(range, newest) ?? { from: chosen.first_day, to: chosen.last_day + DAY };
  let from = span.from;
  let resolution = resolutionFor(span);
  let map: HeatmapAnswer | ApiFailure | null = null;
  try {
    map = await api.get<HeatmapAnswer>(`${base}/heatmap${qs({ from, to: span.to, resolution, ...scopeQs })}`);
    const first = map.buckets[0];
    const last = map.buckets.at(-1);
    // Data that fills 3 hours or less of hour buckets is redrawn by windows.
    if (resolution === 'hour' && first !== undefined && last !== undefined && last.start - first.start <= 3 * HOUR) {
      const fine = await tryGet<HeatmapAnswer>(`${base}/heatmap${qs({ from: Math.max(first.start, span.from), to: Math.min(last.start + HOUR, span.to), resolution: 'window', ...scopeQs })}`);
      if (fine !== null && fine.buckets.length > 0) map = fine;
    }
    if (map.buckets[0] !== undefined) {
      from = map.buckets[0].start;
      resolution = map.resolution;
    }
  } catch (err) {
    // 404: no baseline (the section says how to upload one); 400: more buckets than one answer holds.
    if (!(err instanceof ApiFailure && (err.status === 404 || err.status === 400))) throw err;
    map = err.status === 404 ? null : err;
  }
  // Up to the end of the last bucket shown, so the table and the profile cover what the map shows.
  const lastStart = map instanceof ApiFailure ? undefined : map?.buckets.at(-1)?.start;
  const rangeTo = lastStart === undefined ? span.to : Math.min(span.to, lastStart + (resolution === 'window' ? 1 : resolution === 'hour' ? HOUR : DAY));
  const [top, fleet, compare] = await Promise.all([
    api.get<TopDevicesAnswer>(`${base}/top-devices${qs({ from, to: rangeTo, limit: 10 })}`),
    api.get<FleetAnswer>(`${base}/fleet${qs({ from, to: rangeTo, resolution, ...scopeQs })}`).catch((err: unknown) => {
      if (err instanceof ApiFailure && err.status === 400) return err;
      throw err;
    }),
    api.get<CompareAnswer>(`/api/models/${enc(model)}/compare${qs({ from, to: rangeTo })}`).catch((err: unknown) => {
      if (err instanceof ApiFailure && err.status === 400) return err;
      throw err;
    }),
  ]);
  if (!ctx.live()) return;
  ctx.root.append(
    el('div', { class: 'panel pickers' },
      scopePicker(model, version, scope, chosen.sites, chosen.tags, range),
      rangePicker(range, span, `the presets end at the fleet's newest data of ${version}, ${fmtTime(newest)}`, ignored)),
    map instanceof ApiFailure ? section(`Fleet drift: ${model} ${version}`, note(map.message, 'error')) : heatmapSection(model, version, map),
    compare instanceof ApiFailure ? section(`Versions of ${model}`, note(compare.message, 'error')) : versionsSection(compare, version, range),
    topSection(top, range),
    fleet instanceof ApiFailure ? section('Segments', note(fleet.message, 'error')) : segmentsSection(fleet),
    fleet instanceof ApiFailure ? section('Fleet profile', note(fleet.message, 'error')) : fleetSection(fleet),
  );
}

/** The collector's default for a range (fleet routes): windows up to 4 hours, hours up to 10 days, then days. */
function resolutionFor(span: Span): HeatmapAnswer['resolution'] {
  const ms = span.to - span.from;
  return ms <= 4 * HOUR ? 'window' : ms <= 10 * DAY ? 'hour' : 'day';
}

/**
 * Where the version's newest data ends: the end of its newest hour bucket over its newest day (the
 * heatmap's, 24 buckets at most). Without a baseline there is no heatmap: the end of its newest day,
 * or now when that is sooner.
 */
async function newestData(base: string, lastDay: number): Promise<number> {
  const probe = await tryGet<HeatmapAnswer>(`${base}/heatmap${qs({ from: lastDay, to: lastDay + DAY, resolution: 'hour' })}`);
  const last = probe?.buckets.at(-1);
  return last === undefined ? Math.min(lastDay + DAY, Date.now()) : last.start + HOUR;
}

async function tryGet<T>(url: string): Promise<T | null> {
  try {
    return await api.get<T>(url);
  } catch (err) {
    if (err instanceof ApiFailure) return null;
    throw err;
  }
}

function heatmapSection(model: string, version: string, map: HeatmapAnswer | null): HTMLElement {
  const title = `Fleet drift: ${model} ${version}`;
  if (map === null) return section(title, note(`No baseline for ${model} ${version}: upload one (PUT /api/models/${model}/versions/${version}/baseline, docs/api.md) to see fleet drift.`));
  if (map.buckets.length === 0) return section(title, note('No rolled-up buckets in this range.'));
  // Rows: features by their highest PSI, the most drifted on top.
  const peak = new Map<string, number>();
  for (const b of map.buckets) for (const [n, f] of Object.entries(b.features)) peak.set(n, Math.max(peak.get(n) ?? 0, f.psi));
  const rows = [...peak.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([n]) => n);
  const drifted = rows.filter((n) => map.buckets.some((b) => b.features[n]?.drift));
  return section(
    title,
    el('p', {}, `${map.buckets.length} ${map.resolution} buckets from ${fmtTime(map.buckets[0]?.start ?? null)}; features drifted in some bucket: `,
      el('span', { id: 'fleet-drifted' }, drifted.length === 0 ? 'none' : drifted.join(', '))),
    heatmap({ rows, columns: map.buckets.map((b) => b.start), cell: (r, c) => map.buckets[c]?.features[rows[r] ?? ''] ?? null }),
  );
}

/** Whose profiles the heatmap and the fleet profile merge: the whole fleet, one site or one tag. */
function scopePicker(model: string, version: string, scope: string, sites: string[], tags: string[], range: TimeRange): HTMLElement {
  const options = [['fleet', 'the whole fleet'], ...sites.map((s) => [`site:${s}`, `site ${s}`]), ...tags.map((t) => [`tag:${t}`, `tag ${t}`])];
  const select = el('select', { id: 'scope', 'aria-label': 'scope' }, ...options.map(([value, label]) => el('option', { value: value!, ...(value === scope ? { selected: 'selected' } : {}) }, label!)));
  select.addEventListener('change', () => {
    location.hash = withRange(`#/model/${enc(model)}/${enc(version)}/${enc((select as HTMLSelectElement).value)}`, range);
  });
  return el('p', {}, 'Heatmap and fleet profile of ', select);
}

/** The model's versions side by side over the same range: who runs them, how they do, how they drift. */
function versionsSection(c: CompareAnswer, chosen: string, range: TimeRange): HTMLElement {
  if (c.versions.length === 0) return section(`Versions of ${c.model}`, note('No version of this model in this range.'));
  const quality = (q: CompareAnswer['versions'][number]['quality']): string => {
    if (q === null || q.labelled === 0) return '—';
    if (q.accuracy !== undefined && q.accuracy !== null) return `accuracy ${fmtPct(q.accuracy)} (${fmtNum(q.labelled)} labelled)`;
    if (q.mae !== undefined && q.mae !== null) return `MAE ${fmtNum(q.mae)} (${fmtNum(q.labelled)} labelled)`;
    return '—';
  };
  return section(
    `Versions of ${c.model}`,
    el('table', { class: 'grid compact', id: 'versions' },
      el('thead', {}, el('tr', {}, ...['version', 'devices', 'device windows', 'records', 'errors', 'latency p50', 'latency p99', 'quality', 'fleet drift', 'baseline'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...c.versions.map((v) => el('tr', { class: v.version === chosen ? 'selected' : '', 'data-version': v.version },
        el('td', {}, routeLink(withRange(`#/model/${enc(c.model)}/${enc(v.version)}`, range), v.version)),
        el('td', { class: 'num' }, fmtNum(v.devices)), el('td', { class: 'num' }, fmtNum(v.windows)), el('td', { class: 'num' }, fmtNum(v.records)),
        el('td', { class: 'num' }, fmtNum(v.errors)),
        el('td', { class: 'num' }, fmtNum(v.latency_ms?.['p50'] ?? null)), el('td', { class: 'num' }, fmtNum(v.latency_ms?.['p99'] ?? null)),
        el('td', {}, quality(v.quality)),
        el('td', {}, v.drift === null ? '—' : `${fmtPct(v.drift.share)}${v.drift.drifted.length > 0 ? ` (${v.drift.drifted.join(', ')})` : ''}`),
        el('td', {}, v.baseline?.version ?? 'none'))))),
  );
}

/**
 * Per-segment comparison: for each segment path the agents keep (config `segments`), each value's
 * share of the records, error rate, latency and quality over the range, side by side.
 */
function segmentsSection(f: FleetAnswer): HTMLElement {
  const paths = Object.entries(f.profile?.segments ?? {});
  if (paths.length === 0) return section('Segments', note('No segments in this range (the agents keep them for the paths in their model config `segments`).'));
  return section(
    'Segments',
    ...paths.map(([path, values]) => {
      const total = Object.values(values).reduce((a, v) => a + v.count, 0);
      const rows = Object.entries(values).sort((a, b) => b[1].count - a[1].count);
      return el('div', {},
        el('h3', {}, path),
        el('table', { class: 'grid compact segments', 'data-path': path },
          el('thead', {}, el('tr', {}, ...['value', 'records', 'share', 'error rate', 'latency p50', 'latency p99', 'quality'].map((h) => el('th', {}, h)))),
          el('tbody', {}, ...rows.map(([value, v]) => {
            const q = v.quality as { labelled: number; accuracy?: number | null; mae?: number | null };
            const quality = q.labelled === 0 ? '—' : q.accuracy !== undefined && q.accuracy !== null ? `accuracy ${fmtPct(q.accuracy)}` : q.mae !== undefined && q.mae !== null ? `MAE ${fmtNum(q.mae)}` : '—';
            return el('tr', { 'data-value': value },
              el('td', {}, value), el('td', { class: 'num' }, fmtNum(v.count)), el('td', { class: 'num' }, fmtPct(v.count / Math.max(1, total))),
              el('td', { class: 'num' }, fmtPct(v.errors / Math.max(1, v.count))),
              el('td', { class: 'num' }, fmtNum(v.latency_ms.quantiles?.['p50'] ?? null)), el('td', { class: 'num' }, fmtNum(v.latency_ms.quantiles?.['p99'] ?? null)),
              el('td', {}, quality));
          }))));
    }),
  );
}

function topSection(top: TopDevicesAnswer, range: TimeRange): HTMLElement {
  if (top.devices.length === 0) return section('Devices drifting most', note('No device window with a drift report in this range.'));
  return section(
    'Devices drifting most',
    el('table', { class: 'grid compact', id: 'top-devices' },
      el('thead', {}, el('tr', {}, ...['device', 'site', 'windows', 'mean drift share', 'windows drifted'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...top.devices.map((d) => el('tr', {},
        el('td', {}, routeLink(withRange(`#/device/${enc(d.device)}`, range), d.device)), el('td', {}, d.site), el('td', { class: 'num' }, fmtNum(d.windows)),
        el('td', { class: 'num' }, fmtPct(d.mean_drift_share)), el('td', { class: 'num' }, fmtNum(d.drifted_windows)))))),
  );
}

function fleetSection(f: FleetAnswer): HTMLElement {
  if (f.profile === null) return section('Fleet profile', note('No bucket in this range.'));
  const features = Object.entries(f.profile.features).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return section(
    'Fleet profile',
    el('p', {}, `${fmtNum(f.windows)} device windows, ${fmtNum(f.records)} records in ${f.buckets} ${f.resolution} buckets; baseline: ${f.baseline?.version ?? 'none'}`,
      f.drift === null ? '' : `; fleet drift share ${fmtPct(f.drift.dataset.share)}${f.drift.dataset.drifted.length > 0 ? ` (${f.drift.dataset.drifted.join(', ')})` : ''}`),
    el('table', { class: 'grid compact', id: 'fleet-profile' },
      el('thead', {}, el('tr', {}, ...['feature', 'type', 'count', 'missing', 'mean / top value', 'p50', 'p90', 'p99', 'PSI', 'drift'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...features.map(([name, s]) => {
        const d = f.drift?.features[name];
        const top = s.values === undefined ? null : Object.entries(s.values).sort((a, b) => b[1] - a[1])[0];
        return el('tr', { class: d?.drift ? 'drifted' : '' },
          el('td', {}, name), el('td', {}, s.type), el('td', { class: 'num' }, fmtNum(s.count)), el('td', { class: 'num' }, fmtNum(s.missing ?? null)),
          el('td', {}, s.type === 'numeric' ? fmtNum(s.mean ?? null) : top === undefined || top === null ? '—' : `${top[0]} (${fmtPct(top[1] / Math.max(1, s.count))})`),
          el('td', { class: 'num' }, fmtNum(s.quantiles?.['p50'] ?? null)), el('td', { class: 'num' }, fmtNum(s.quantiles?.['p90'] ?? null)),
          el('td', { class: 'num' }, fmtNum(s.quantiles?.['p99'] ?? null)),
          el('td', { class: 'num' }, fmtNum(d?.psi ?? null)), el('td', {}, d === undefined ? '—' : d.drift ? 'yes' : 'no'));
      }))),
  );
}
