// Charts: time series with uPlot (bundled, no CDN), and the fleet drift heatmap drawn on a canvas.
// Every chart made is registered with the view's disposer so uPlot's window listeners go with it.
import uPlot from 'uplot';
import { el, fmtNum, fmtTime } from './dom.js';

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#9333ea', '#ea580c', '#0d9488', '#4b5563'];

export interface Series {
  label: string;
  values: (number | null)[];
  color?: string;
  /** Draw points only (sparse markers such as "drifted here"). */
  points?: boolean;
}

export type Dispose = () => void;

/**
 * A time-series chart of `series` over `times` (epoch ms) in a titled figure; `track` receives
 * what destroys it.
 */
export function timeChart(title: string, times: number[], series: Series[], track: (d: Dispose) => void, opts: { yLabel?: string; height?: number } = {}): HTMLElement {
  const fig = el('figure', { class: 'chart', 'data-chart': title }, el('figcaption', {}, title));
  const host = el('div', { class: 'chart-host' });
  fig.appendChild(host);
  if (times.length === 0) {
    host.appendChild(el('p', { class: 'muted' }, 'no windows'));
    return fig;
  }
  const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => s.values)];
  // uPlot sizes from the host once it is in the page; until then a sane width.
  requestAnimationFrame(() => {
    if (!host.isConnected) return;
    const width = Math.max(320, host.clientWidth || 800);
    const chart = new uPlot(
      {
        width,
        height: opts.height ?? 220,
        series: [
          { label: 'time', value: (_u, v) => (v === null ? '—' : fmtTime(v * 1000)) },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: s.color ?? PALETTE[i % PALETTE.length],
            width: 1.5,
            value: (_u: uPlot, v: number | null) => fmtNum(v),
            ...(s.points ? { paths: () => null, points: { show: true, size: 7, fill: s.color ?? PALETTE[i % PALETTE.length] } } : { points: { show: times.length < 60 } }),
          })),
        ],
        axes: [{}, { label: opts.yLabel ?? '', size: 60 }],
        scales: { x: { time: true } },
        legend: { live: true },
      },
      data,
      host,
    );
    fig.setAttribute('data-drawn', 'true');
    track(() => chart.destroy());
  });
  return fig;
}

export interface HeatmapData {
  /** Row labels (features), top to bottom. */
  rows: string[];
  /** Column starts (epoch ms), left to right. */
  columns: number[];
  /** cell(row, col): PSI and the verdict, or null where the feature was not compared. */
  cell: (row: number, col: number) => { psi: number; drift: boolean } | null;
}

const CELL_H = 22;
const LABEL_W = 140;
const AXIS_H = 24;

/** PSI to a colour: white at 0, amber at 0.1 (moderate), red from 0.25 (significant) up. */
export function psiColour(psi: number): string {
  const t = Math.max(0, Math.min(1, psi / 0.25));
  const r = 255;
  const g = Math.round(255 - t * (255 - 60));
  const b = Math.round(255 - t * (255 - 40));
  return `rgb(${r},${g},${b})`;
}

/** The heatmap on a canvas: feature x time, PSI as colour, drifted cells outlined; hover tells the cell. */
export function heatmap(data: HeatmapData): HTMLElement {
  const wrap = el('figure', { class: 'heatmap' }, el('figcaption', {}, 'Fleet drift: PSI per feature and time bucket (outlined: drifted by the rule)'));
  const cols = Math.max(1, data.columns.length);
  const cellW = Math.max(6, Math.min(40, Math.floor(760 / cols)));
  // Wide enough for the first and last column's times side by side, however few columns a range has.
  const canvas = el('canvas', { width: Math.max(LABEL_W + cols * cellW + 10, LABEL_W + 360), height: AXIS_H + data.rows.length * CELL_H + 4, 'data-rows': data.rows.length, 'data-columns': data.columns.length });
  const readout = el('p', { class: 'muted readout' }, 'hover a cell');
  wrap.append(canvas, readout, legend());
  const g = canvas.getContext('2d');
  if (g === null) return wrap;
  g.font = '12px system-ui, sans-serif';
  g.textBaseline = 'middle';
  g.fillStyle = '#111';
  g.fillText(fmtTime(data.columns[0] ?? null), LABEL_W, AXIS_H / 2);
  if (data.columns.length > 1) {
    const last = fmtTime(data.columns.at(-1) ?? null);
    g.fillText(last, Math.max(LABEL_W + 170, LABEL_W + cols * cellW - g.measureText(last).width), AXIS_H / 2);
  }
  data.rows.forEach((name, r) => {
    const y = AXIS_H + r * CELL_H;
    g.fillStyle = '#111';
    g.fillText(name.length > 18 ? `${name.slice(0, 17)}…` : name, 4, y + CELL_H / 2);
    for (let c = 0; c < data.columns.length; c++) {
      const x = LABEL_W + c * cellW;
      const v = data.cell(r, c);
      g.fillStyle = v === null ? '#e5e7eb' : psiColour(v.psi);
      g.fillRect(x, y + 1, cellW - 1, CELL_H - 2);
      if (v?.drift) {
        g.strokeStyle = '#7f1d1d';
        g.lineWidth = 2;
        g.strokeRect(x + 1, y + 2, cellW - 3, CELL_H - 4);
      }
    }
  });
  canvas.addEventListener('mousemove', (ev) => {
    const rect = canvas.getBoundingClientRect();
    const c = Math.floor((ev.clientX - rect.left - LABEL_W) / cellW);
    const r = Math.floor((ev.clientY - rect.top - AXIS_H) / CELL_H);
    const name = data.rows[r];
    const start = data.columns[c];
    if (name === undefined || start === undefined || c < 0) return;
    const v = data.cell(r, c);
    readout.textContent = `${name} at ${fmtTime(start)}: ${v === null ? 'not compared' : `PSI ${fmtNum(v.psi)}${v.drift ? ', drifted' : ''}`}`;
  });
  canvas.setAttribute('data-drawn', 'true');
  return wrap;
}

function legend(): HTMLElement {
  const steps = [0, 0.05, 0.1, 0.2, 0.25];
  const canvas = el('canvas', { width: 290, height: 18, class: 'legend' });
  const g = canvas.getContext('2d');
  if (g !== null) {
    for (let x = 0; x < 200; x++) {
      g.fillStyle = psiColour((x / 200) * 0.25);
      g.fillRect(x, 0, 1, 18);
    }
    g.fillStyle = '#111';
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    g.fillText('PSI ≥ 0.25', 205, 9);
  }
  return el('div', { class: 'legend-row' }, el('span', { class: 'muted' }, `PSI ${steps[0]}`), canvas);
}
