// The time range a view shows, kept in the hash after the route (#/model/fraud/v1?range=6h, or
// ?from=2026-01-01T00:00Z&to=2026-01-01T06:00Z) so a reload or going back keeps it; no query is
// "all", what the views showed before there was a picker. A relative preset ends at the newest data
// the view has, not at the browser's clock: a device that syncs every few hours (or a fleet replayed
// from last month) still shows its last hours instead of an empty page.
import { el, fmtTime } from './dom.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const PRESETS = [
  { name: '1h', label: '1 h', ms: HOUR },
  { name: '6h', label: '6 h', ms: 6 * HOUR },
  { name: '24h', label: '24 h', ms: DAY },
  { name: '7d', label: '7 d', ms: 7 * DAY },
  { name: '30d', label: '30 d', ms: 30 * DAY },
] as const;

export type PresetName = (typeof PRESETS)[number]['name'];

export type TimeRange =
  | { kind: 'all' }
  /** The last `ms` before the newest data. */
  | { kind: 'last'; preset: PresetName; ms: number }
  /** [from, to), epoch ms, as the user typed it (UTC). */
  | { kind: 'between'; from: number; to: number };

/** [from, to) in epoch ms, as the API takes it. */
export interface Span {
  from: number;
  to: number;
}

export const ALL: TimeRange = { kind: 'all' };

/**
 * The range in a hash's query, or "all" with why when the query holds one that cannot be read (an
 * address edited by hand must not break the view).
 */
export function parseRange(query: URLSearchParams): { range: TimeRange; ignored: string | null } {
  const preset = query.get('range');
  const from = query.get('from');
  const to = query.get('to');
  if (preset !== null) {
    const p = PRESETS.find((x) => x.name === preset);
    if (p !== undefined) return { range: { kind: 'last', preset: p.name, ms: p.ms }, ignored: null };
    if (preset === 'all') return { range: ALL, ignored: null };
    return { range: ALL, ignored: `range=${preset} is not one of ${PRESETS.map((x) => x.name).join(', ')} or all` };
  }
  if (from === null && to === null) return { range: ALL, ignored: null };
  const f = parseInstant(from);
  const t = parseInstant(to);
  if (f === null || t === null) return { range: ALL, ignored: `from and to must both be times (2026-01-01T00:00Z or epoch ms), got ${from ?? 'none'} and ${to ?? 'none'}` };
  if (t <= f) return { range: ALL, ignored: `to (${fmtTime(t)}) must be after from (${fmtTime(f)})` };
  return { range: { kind: 'between', from: f, to: t }, ignored: null };
}

function parseInstant(v: string | null): number | null {
  if (v === null || v === '') return null;
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

/** The hash query for a range: empty for "all", so the plain route is what it always was. */
export function rangeQuery(r: TimeRange): string {
  switch (r.kind) {
    case 'all':
      return '';
    case 'last':
      return `?range=${r.preset}`;
    case 'between':
      return `?from=${isoMinute(r.from)}&to=${isoMinute(r.to)}`;
  }
}

/** A route of the page with the range kept, for links that stay in the same range. */
export const withRange = (hash: string, r: TimeRange): string => `${hash}${rangeQuery(r)}`;

/** The span a range covers; null for "all" (each view keeps its own default then). */
export function resolveRange(r: TimeRange, newest: number): Span | null {
  switch (r.kind) {
    case 'all':
      return null;
    case 'last':
      return { from: newest - r.ms, to: newest };
    case 'between':
      return { from: r.from, to: r.to };
  }
}

/** 2026-01-01T00:05Z, or with seconds when it has some: short in the address, exact either way. */
function isoMinute(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith(':00.000Z') ? `${iso.slice(0, 16)}Z` : iso.replace(/\.000Z$/, 'Z');
}

/** A datetime-local input's value for an instant, read as UTC (the picker says so). */
const toInput = (ms: number): string => new Date(ms).toISOString().slice(0, 16);

/** A datetime-local value (2026-01-01T00:05, seconds optional) as UTC epoch ms, or null. */
function fromInput(v: string): number | null {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v)) return null;
  const ms = Date.parse(`${v}Z`);
  return Number.isFinite(ms) ? ms : null;
}

function go(r: TimeRange): void {
  const route = location.hash.split('?')[0] ?? '';
  location.hash = withRange(route || '#/', r);
}

/**
 * The range control: the presets, "all", and a custom from/to in UTC. Choosing one rewrites the
 * hash, which redraws the view. `shown` is the span the view drew (it fills the custom inputs, so a
 * preset can be narrowed by hand); `anchor` says what the presets end at.
 */
export function rangePicker(current: TimeRange, shown: Span | null, anchor: string, ignored: string | null = null): HTMLElement {
  const active = current.kind === 'last' ? current.preset : current.kind === 'all' ? 'all' : '';
  const presets = [...PRESETS.map((p) => ({ name: p.name as string, label: `last ${p.label}`, range: { kind: 'last', preset: p.name, ms: p.ms } as TimeRange })), { name: 'all', label: 'all', range: ALL }];
  const buttons = presets.map((p) =>
    el('button', { type: 'button', class: `preset${p.name === active ? ' active' : ''}`, 'data-range': p.name, 'aria-pressed': p.name === active ? 'true' : 'false', onclick: () => go(p.range) }, p.label));
  const from = el('input', { type: 'datetime-local', id: 'range-from', 'aria-label': 'from (UTC)', value: shown === null ? '' : toInput(shown.from) });
  const to = el('input', { type: 'datetime-local', id: 'range-to', 'aria-label': 'to (UTC)', value: shown === null ? '' : toInput(shown.to) });
  const problem = el('span', { class: 'error', id: 'range-problem' }, ignored === null ? '' : `Range in the address ignored: ${ignored}.`);
  const form = el('form', { class: 'range', id: 'range-form' },
    el('span', { class: 'muted' }, 'Range '), ...buttons,
    el('span', { class: 'custom' }, el('label', {}, 'from ', from), ' ', el('label', {}, 'to ', to), ' ', el('abbr', { title: 'the times are read and shown in UTC' }, 'UTC'), ' ', el('button', { type: 'submit', id: 'range-apply' }, 'apply')),
    problem,
    el('div', { class: 'muted', id: 'range-shown' }, shown === null ? 'Showing all the data.' : `Showing ${fmtTime(shown.from)} – ${fmtTime(shown.to)}${current.kind === 'last' ? ` (${anchor})` : ''}.`));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = fromInput(from.value);
    const t = fromInput(to.value);
    if (f === null || t === null) problem.textContent = 'Give both from and to.';
    else if (t <= f) problem.textContent = 'to must be after from.';
    else go({ kind: 'between', from: f, to: t });
  });
  return form;
}
