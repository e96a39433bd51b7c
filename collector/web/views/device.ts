// Device: what it runs, its serving figures per window (latency quantiles, records, errors), drift
// per feature over time from the drift reports it sent (PSI per feature, the features that drifted,
// one feature's own chart on a click), and the gaps its outbox left. The windows and the drift are
// those of the range picked (range.ts; a preset ends at the model's newest window), else the newest.
import { api, ApiFailure, enc, qs } from '../api.js';
import { timeChart, type Series } from '../charts.js';
import { clear, el, fmtAgo, fmtNum, fmtPct, fmtTime, note, section } from '../dom.js';
import type { DeviceDetail, DriftAnswer, WindowRow } from '../types.js';
import { parseRange, rangePicker, resolveRange } from '../range.js';
import type { ViewContext } from './view.js';

const WINDOWS = 500;

export async function deviceView(ctx: ViewContext, id = '', model?: string): Promise<void> {
  const { range, ignored } = parseRange(ctx.query);
  let d: DeviceDetail;
  try {
    d = await api.get<DeviceDetail>(`/api/devices/${enc(id)}`);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 404) {
      ctx.root.append(section(`Device ${id}`, note(`No device "${id}" has reported to this collector.`, 'error')));
      return;
    }
    throw err;
  }
  if (!ctx.live()) return;
  const chosen = model ?? d.models[0]?.model;
  const status = d.online === null ? 'unknown' : d.online ? 'online' : 'offline';
  ctx.root.append(
    section(
      `Device ${d.id}`,
      el('dl', { class: 'facts' },
        el('dt', {}, 'site'), el('dd', {}, d.site),
        el('dt', {}, 'status'), el('dd', {}, el('span', { class: `dot ${status}` }), status),
        el('dt', {}, 'agent'), el('dd', {}, d.agent_version ?? '—'),
        el('dt', {}, 'sync'), el('dd', {}, d.sync === null ? '—' : `${d.sync.mode}${d.sync.cron === null ? '' : ` (${d.sync.cron})`}`),
        el('dt', {}, 'last sync'), el('dd', { title: fmtTime(d.last_seen) }, fmtAgo(d.last_seen)),
        el('dt', {}, 'summaries'), el('dd', {}, fmtNum(d.summaries)),
      ),
      modelsTable(d, chosen),
    ),
  );
  if (chosen === undefined) {
    ctx.root.append(note('This device has sent no window summaries yet.'));
  } else {
    // A device that syncs late or stopped: its own newest window, not the clock, ends a preset.
    const newest = d.models.find((m) => m.model === chosen)?.last_window_end ?? Date.now();
    const span = resolveRange(range, newest);
    const spanQs = { from: span?.from, to: span?.to };
    const [windows, drift] = await Promise.all([
      api.get<{ windows: WindowRow[] }>(`/api/devices/${enc(id)}/windows${qs({ model: chosen, ...spanQs, limit: WINDOWS })}`),
      api.get<DriftAnswer>(`/api/devices/${enc(id)}/drift${qs({ model: chosen, ...spanQs })}`),
    ]);
    if (!ctx.live()) return;
    // "all" fills the custom inputs with the windows shown, so they can be narrowed from there.
    const oldest = windows.windows.at(-1);
    const shown = span ?? (oldest === undefined ? null : { from: oldest.start_ms, to: newest });
    ctx.root.append(
      el('div', { class: 'panel pickers' }, rangePicker(range, shown, `the presets end at ${chosen}'s newest window on this device, ${fmtTime(newest)}`, ignored)),
      servingSection(ctx, chosen, windows.windows, span !== null),
      driftSection(ctx, drift),
    );
  }
  ctx.root.append(gapsSection(d));
}

function modelsTable(d: DeviceDetail, chosen: string | undefined): HTMLElement {
  if (d.models.length === 0) return note('no models yet');
  return el(
    'table',
    { class: 'grid compact' },
    el('thead', {}, el('tr', {}, el('th', {}, 'model'), el('th', {}, 'versions'), el('th', {}, 'windows'), el('th', {}, 'last window end'))),
    el('tbody', {}, ...d.models.map((m) =>
      el('tr', { class: m.model === chosen ? 'selected' : '' },
        el('td', {}, el('a', { href: `#/device/${enc(d.id)}/${enc(m.model)}` }, m.model)),
        el('td', {}, ...m.versions.map((v, i) => el('span', {}, i > 0 ? ', ' : '', el('a', { href: `#/model/${enc(m.model)}/${enc(v)}` }, v)))),
        el('td', { class: 'num' }, fmtNum(m.windows)),
        el('td', {}, fmtTime(m.last_window_end)),
      ))),
  );
}

function servingSection(ctx: ViewContext, model: string, rows: WindowRow[], ranged: boolean): HTMLElement {
  const times = rows.map((w) => w.start_ms);
  const col = (f: (w: WindowRow) => number | null): (number | null)[] => rows.map(f);
  return section(
    `Serving: ${model} (newest ${rows.length} windows${ranged ? ' in the range' : ''})`,
    timeChart('Latency (ms)', times, [
      { label: 'p50', values: col((w) => w.latency_p50) },
      { label: 'p95', values: col((w) => w.latency_p95) },
      { label: 'p99', values: col((w) => w.latency_p99) },
    ], ctx.track, { yLabel: 'ms' }),
    timeChart('Throughput (records per window)', times, [{ label: 'records', values: col((w) => w.count) }], ctx.track),
    timeChart('Errors per window', times, [
      { label: 'errors', values: col((w) => w.errors) },
      { label: 'rejected lines', values: col((w) => w.rejected) },
      { label: 'late', values: col((w) => w.late) },
    ], ctx.track),
  );
}

function driftSection(ctx: ViewContext, a: DriftAnswer): HTMLElement {
  const withReport = a.windows.filter((w) => w.report);
  if (a.windows.length === 0) return section('Drift per feature', note('No windows in this range.'));
  if (withReport.length === 0) {
    return section('Drift per feature', note('No drift reports: the agent has no baseline for this model, so its windows carry none.'));
  }
  const times = withReport.map((w) => w.start);
  const names = [...new Set(withReport.flatMap((w) => Object.keys(w.features)))].sort();
  const drifted = new Map<string, number>();
  for (const w of withReport) for (const [n, f] of Object.entries(w.features)) if (f.drift) drifted.set(n, (drifted.get(n) ?? 0) + 1);
  const ranked = [...drifted.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));

  const detail = el('div', { id: 'feature-detail' });
  const show = (name: string) => {
    clear(detail);
    const psi: Series = { label: 'PSI', values: withReport.map((w) => w.features[name]?.psi ?? null) };
    const marks: Series = { label: 'drifted', values: withReport.map((w) => (w.features[name]?.drift ? w.features[name]?.psi ?? null : null)), color: '#b91c1c', points: true };
    const p: Series = { label: 'p-value', values: withReport.map((w) => w.features[name]?.p_value ?? null), color: '#4b5563' };
    detail.append(
      timeChart(`PSI of ${name}`, times, [psi, marks], ctx.track, { yLabel: 'PSI' }),
      timeChart(`p-value of ${name} (the deciding test)`, times, [p], ctx.track, { height: 160 }),
    );
    for (const b of list.querySelectorAll('button')) b.classList.toggle('active', b.getAttribute('data-feature') === name);
  };
  const list = el(
    'ul',
    { class: 'features', id: 'drifted-features' },
    ...ranked.map(([n, count]) => el('li', {}, el('button', { type: 'button', class: 'feature', 'data-feature': n, onclick: () => show(n) }, n), ` drifted in ${count} of ${withReport.length} windows`)),
  );
  const picker = el('select', { id: 'feature-picker', 'aria-label': 'feature', onchange: (ev) => show((ev.target as HTMLSelectElement).value) },
    el('option', { value: '' }, 'any feature…'), ...names.map((n) => el('option', { value: n }, n)));
  const last = withReport.at(-1);
  return section(
    'Drift per feature',
    el('p', {}, `Share of features drifted in the newest window: ${fmtPct(last?.drift_share ?? null)}. `,
      ranked.length === 0 ? 'No feature drifted in these windows.' : `Features that drifted (click one for its chart):`),
    list,
    timeChart('PSI per feature', times, names.map((n) => ({ label: n, values: withReport.map((w) => w.features[n]?.psi ?? null) })), ctx.track, { yLabel: 'PSI', height: 260 }),
    el('p', {}, 'Show one feature: ', picker),
    detail,
  );
}

function gapsSection(d: DeviceDetail): HTMLElement {
  if (d.gaps.length === 0) return section('Gaps', note('None: every message this device gave a sequence number to arrived.'));
  return section(
    'Gaps',
    note('Sequence numbers the agent dropped from a full outbox: those windows are missing here.'),
    el('table', { class: 'grid compact' },
      el('thead', {}, el('tr', {}, ...['seqs', 'messages', 'records', 'windows from', 'windows to', 'reported'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...d.gaps.map((g) => el('tr', {},
        el('td', {}, `${g.from_seq}–${g.to_seq}`), el('td', { class: 'num' }, fmtNum(g.messages)), el('td', { class: 'num' }, fmtNum(g.records)),
        el('td', {}, fmtTime(g.windows_from)), el('td', {}, fmtTime(g.windows_to)), el('td', {}, fmtTime(g.received_at)))))),
  );
}
