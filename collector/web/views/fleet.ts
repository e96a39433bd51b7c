// Fleet: how many devices are online, offline or never heard, and the device table, paged, searched
// and sorted by the collector (/api/fleet/devices), 50 rows a page. A row opens the device.
import { api, enc, qs } from '../api.js';
import { clear, el, fmtAgo, fmtNum, fmtTime, routeLink, section } from '../dom.js';
import type { FleetDevicesAnswer } from '../types.js';
import type { ViewContext } from './view.js';

const PAGE = 50;
type Sort = 'id' | 'site' | 'last_seen' | 'online' | 'summaries';

// Kept while the tab lives, so coming back from a device finds the same page of the table.
const state = { q: '', sort: 'id' as Sort, order: 'asc' as 'asc' | 'desc', offset: 0 };

const COLUMNS: { key: Sort | null; label: string }[] = [
  { key: 'id', label: 'device' },
  { key: 'site', label: 'site' },
  { key: 'online', label: 'status' },
  { key: null, label: 'models and versions' },
  { key: 'last_seen', label: 'last sync' },
  { key: 'summaries', label: 'summaries' },
];

export async function fleetView(ctx: ViewContext): Promise<void> {
  const counts = el('div', { class: 'counts', id: 'fleet-counts' });
  const search = el('input', { type: 'search', id: 'fleet-search', placeholder: 'search device or site', value: state.q, 'aria-label': 'search devices' });
  const table = el('div', { id: 'fleet-table' });
  const pager = el('div', { class: 'pager', id: 'fleet-pager' });
  ctx.root.append(section('Fleet', counts, el('div', { class: 'toolbar' }, search), table, pager));

  let timer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.q = search.value.trim();
      state.offset = 0;
      void load();
    }, 250);
  });
  ctx.track(() => clearTimeout(timer));

  async function load(): Promise<void> {
    const a = await api.get<FleetDevicesAnswer>(`/api/fleet/devices${qs({ offset: state.offset, limit: PAGE, q: state.q, sort: state.sort, order: state.order })}`);
    if (!ctx.live()) return;
    clear(counts);
    counts.append(
      el('span', { class: 'count online' }, el('b', {}, a.counts.online), ' online'),
      el('span', { class: 'count offline' }, el('b', {}, a.counts.offline), ' offline'),
      el('span', { class: 'count unknown' }, el('b', {}, a.counts.unknown), ' unknown'),
      el('span', { class: 'count' }, el('b', {}, a.counts.total), ' devices'),
    );
    clear(table);
    table.appendChild(deviceTable(a, () => void load()));
    clear(pager);
    const last = Math.min(a.offset + a.devices.length, a.counts.matched);
    pager.append(
      el('button', { type: 'button', id: 'fleet-prev', disabled: a.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - PAGE); void load(); } }, '‹ previous'),
      el('span', { class: 'muted' }, a.counts.matched === 0 ? 'no device matches' : `${a.offset + 1}–${last} of ${a.counts.matched}${a.counts.matched === a.counts.total ? '' : ` (of ${a.counts.total})`}`),
      el('button', { type: 'button', id: 'fleet-next', disabled: last >= a.counts.matched, onclick: () => { state.offset += PAGE; void load(); } }, 'next ›'),
    );
  }
  await load();
}

function deviceTable(a: FleetDevicesAnswer, reload: () => void): HTMLElement {
  const head = el(
    'tr',
    {},
    ...COLUMNS.map((c) => {
      if (c.key === null) return el('th', {}, c.label);
      const key = c.key;
      const mark = state.sort === key ? (state.order === 'asc' ? ' ▲' : ' ▼') : '';
      return el(
        'th',
        { 'aria-sort': state.sort === key ? (state.order === 'asc' ? 'ascending' : 'descending') : 'none' },
        el('button', {
          type: 'button',
          class: 'link sort',
          'data-sort': key,
          onclick: () => {
            state.order = state.sort === key && state.order === 'asc' ? 'desc' : 'asc';
            state.sort = key;
            state.offset = 0;
            reload();
          },
        }, c.label + mark),
      );
    }),
  );
  const rows = a.devices.map((d) =>
    el(
      'tr',
      { 'data-device': d.id },
      el('td', {}, routeLink(`#/device/${enc(d.id)}`, d.id)),
      el('td', {}, d.site),
      el('td', {}, el('span', { class: `dot ${d.online === null ? 'unknown' : d.online ? 'online' : 'offline'}` }), d.online === null ? 'unknown' : d.online ? 'online' : 'offline'),
      el('td', {}, d.models.map((m) => `${m.model} ${m.versions.join(', ')}`).join('; ') || '—'),
      el('td', { title: fmtTime(d.last_seen) }, fmtAgo(d.last_seen)),
      el('td', { class: 'num' }, fmtNum(d.summaries)),
    ),
  );
  return el('table', { class: 'grid' }, el('thead', {}, head), el('tbody', {}, ...rows));
}
