// The collector's fleet page: a single page of plain DOM and uPlot, served by the collector itself
// (collector/http/routes/web.ts) and reading its /api with a token the user types once per tab.
// Routes live in the hash: #/fleet, #/device/<id>[/<model>], #/model[/<model>/<version>], #/alerts,
// with the device's and the model's time range after a `?` (range.ts).
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { AuthNeeded, token } from './api.js';
import type { Dispose } from './charts.js';
import { clear, el, note } from './dom.js';
import { alertsView } from './views/alerts.js';
import { deviceView } from './views/device.js';
import { fleetView } from './views/fleet.js';
import { modelView } from './views/model.js';
import type { View } from './views/view.js';

const ROUTES: Record<string, View> = {
  fleet: fleetView,
  device: deviceView,
  model: modelView,
  alerts: alertsView,
};

let generation = 0;
let disposers: Dispose[] = [];

function mainEl(): HTMLElement {
  const m = document.getElementById('main');
  if (m === null) throw new Error('the page has no #main');
  return m;
}

async function render(): Promise<void> {
  const gen = ++generation;
  for (const d of disposers.splice(0)) d();
  const root = mainEl();
  clear(root);
  const [route = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?', 2);
  const parts = route.split('/').map((p) => decodeURIComponent(p));
  const name = parts[0] || 'fleet';
  const view = ROUTES[name];
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.getAttribute('data-nav') === name);
  const forget = document.getElementById('forget-token');
  if (forget !== null) forget.hidden = token.get() === null;
  if (view === undefined) {
    root.append(note(`No page "${name}". Try the fleet.`, 'error'));
    return;
  }
  const ctx = { root, live: () => gen === generation, track: (d: Dispose) => (gen === generation ? disposers.push(d) : d()), query: new URLSearchParams(query) };
  try {
    await view(ctx, ...parts.slice(1).filter((p) => p !== ''));
  } catch (err) {
    if (gen !== generation) return;
    clear(root);
    if (err instanceof AuthNeeded) root.append(tokenForm(err.why));
    else root.append(note(`Could not load this view: ${err instanceof Error ? err.message : String(err)}`, 'error'));
  }
}

function tokenForm(why: string): HTMLElement {
  const input = el('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off', required: true, minlength: 16, size: 40, 'aria-label': 'API token' });
  const form = el('form', { id: 'token-form', class: 'panel' },
    el('h2', {}, 'API token'),
    el('p', {}, why),
    el('p', { class: 'muted' }, 'It is kept in this tab only (sessionStorage) and sent as Authorization: Bearer to this collector.'),
    input, ' ', el('button', { type: 'submit' }, 'Open'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    token.set(input.value.trim());
    void render();
  });
  requestAnimationFrame(() => input.focus());
  return form;
}

window.addEventListener('hashchange', () => void render());
document.getElementById('forget-token')?.addEventListener('click', () => {
  token.forget();
  void render();
});
void render();
