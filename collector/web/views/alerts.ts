// Alerts: the collector's fleet alerts (/api/alerts) when it has them; a collector without them
// answers 404 and the view says so. Acknowledging and silencing are admin routes: with a read token
// the collector answers 403 and the view says an admin token is needed.
import { api, ApiFailure, enc, qs } from '../api.js';
import { clear, el, fmtAgo, fmtTime, note, section } from '../dom.js';
import type { Alert } from '../types.js';
import type { ViewContext } from './view.js';

type StateFilter = 'active' | 'resolved' | 'all';
let filter: StateFilter = 'active';

export async function alertsView(ctx: ViewContext): Promise<void> {
  const body = el('div', { id: 'alerts' });
  const select = el('select', { id: 'alert-state', 'aria-label': 'state' }, ...(['active', 'resolved', 'all'] as const).map((s) => el('option', { value: s, selected: s === filter }, s)));
  select.addEventListener('change', () => {
    filter = select.value as StateFilter;
    void load();
  });
  ctx.root.append(section('Alerts', el('div', { class: 'toolbar' }, 'show ', select), body));

  async function load(): Promise<void> {
    let alerts: Alert[];
    try {
      alerts = (await api.get<{ alerts: Alert[] }>(`/api/alerts${qs({ state: filter })}`)).alerts;
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 404) {
        clear(body);
        body.append(note('alerts are not available on this collector', 'notice'));
        select.disabled = true;
        return;
      }
      throw err;
    }
    if (!ctx.live()) return;
    clear(body);
    if (alerts.length === 0) {
      body.append(note(`No ${filter === 'all' ? '' : `${filter} `}alerts.`));
      return;
    }
    body.append(el('table', { class: 'grid' },
      el('thead', {}, el('tr', {}, ...['alert', 'model', 'severity', 'state', 'devices', 'since', 'updated', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...alerts.map((a) => alertRow(a, () => void load())))));
  }
  await load();
}

function alertRow(a: Alert, reload: () => void): HTMLElement {
  const says = el('span', { class: 'action-result' });
  const act = async (what: () => Promise<unknown>) => {
    says.textContent = '';
    try {
      await what();
      reload();
    } catch (err) {
      if (err instanceof ApiFailure) says.textContent = err.status === 403 ? 'needs an admin token' : err.message;
      else throw err;
    }
  };
  const hours = el('select', { 'aria-label': 'silence for' }, ...[1, 4, 24].map((h) => el('option', { value: h }, `${h} h`)));
  const comment = el('input', { type: 'text', placeholder: 'why (for the record)', 'aria-label': 'comment', size: 18 });
  const devices = a.devices.map((d) => `${d.device} (${d.site}): ${d.state}`).join('\n');
  return el('tr', { class: `alert ${a.state}`, 'data-alert': a.id },
    el('td', {}, el('b', {}, a.name), el('div', { class: 'muted' }, a.summary)),
    el('td', {}, [a.model, a.model_version].filter((x) => x !== null && x !== undefined).join(' ') || 'fleet'),
    el('td', {}, a.severity),
    el('td', {}, a.state, a.silenced ? ' (silenced)' : '', a.acknowledged === null ? '' : ` (acknowledged by ${a.acknowledged.by} ${fmtAgo(a.acknowledged.at)})`),
    el('td', { title: devices }, `${a.firing} firing, ${a.resolved} resolved`),
    el('td', { title: fmtTime(a.started_at) }, fmtAgo(a.started_at)),
    el('td', { title: fmtTime(a.updated_at) }, fmtAgo(a.updated_at)),
    el('td', { class: 'actions' },
      el('button', { type: 'button', class: 'ack', disabled: a.acknowledged !== null, onclick: () => void act(() => api.post(`/api/alerts/${enc(a.id)}/ack`)) }, 'acknowledge'),
      ' ', hours, ' ', comment, ' ',
      el('button', {
        type: 'button',
        class: 'silence',
        onclick: () => void act(() => api.post('/api/silences', {
          matchers: { name: a.name, model: a.model },
          ends_at: Date.now() + Number(hours.value) * 3_600_000,
          comment: comment.value.trim() || `silenced from the fleet page`,
        })),
      }, 'silence'),
      says),
  );
}
