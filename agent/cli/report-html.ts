// The self-contained HTML page of `analyze --html`: the drift table and, per feature, the baseline's
// and the current histogram side by side (inline SVG, inline CSS, no script, nothing fetched).
import { baselineEdges, categoricalSide, categoricalTable, numericSide, sideShares, type DriftReport, type FeatureDrift } from '../drift/index.js';
import { CategoricalSummary, NumericSummary, type FeatureSummary, type WindowProfile } from '../profile/index.js';

interface Histogram {
  labels: string[];
  base: number[];
  cur: number[];
}

const escape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const fmt = (x: number): string => (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(3));

/** Shares per bin (numeric: the baseline's deciles) or per category, for both sides. */
export function histogram(base: FeatureSummary, cur: FeatureSummary): Histogram | null {
  if (base instanceof NumericSummary && cur instanceof NumericSummary) {
    if (base.count === 0 || cur.count === 0) return null;
    const b = numericSide(base);
    const edges = baselineEdges(b);
    const labels = [`< ${fmt(edges[0] ?? 0)}`, ...edges.slice(1).map((e, i) => `${fmt(edges[i] ?? 0)} - ${fmt(e)}`), `>= ${fmt(edges[edges.length - 1] ?? 0)}`];
    // The bars PSI was scored on: exact where a side counted on these edges.
    return { labels, base: sideShares(b, edges), cur: sideShares(numericSide(cur), edges) };
  }
  if (base instanceof CategoricalSummary && cur instanceof CategoricalSummary) {
    const bs = categoricalSide(base);
    const cs = categoricalSide(cur);
    if (bs.total === 0 || cs.total === 0) return null;
    const t = categoricalTable(bs, cs);
    const labels = [...t.categories];
    const bc = [...t.base];
    const cc = [...t.cur];
    if (t.otherBase + t.otherCur > 0) {
      labels.push('(other)');
      bc.push(t.otherBase);
      cc.push(t.otherCur);
    }
    return { labels, base: bc.map((n) => n / bs.total), cur: cc.map((n) => n / cs.total) };
  }
  return null;
}

function svg(h: Histogram): string {
  const rowH = 16;
  const labelW = 150;
  const barW = 260;
  const max = Math.max(...h.base, ...h.cur, 1e-9);
  const rows = h.labels.map((label, i) => {
    const y = i * rowH * 2;
    const wb = ((h.base[i] ?? 0) / max) * barW;
    const wc = ((h.cur[i] ?? 0) / max) * barW;
    return (
      `<text x="${labelW - 6}" y="${y + rowH + 4}" text-anchor="end">${escape(label)}</text>` +
      `<rect class="b" x="${labelW}" y="${y + 2}" width="${wb.toFixed(1)}" height="${rowH - 3}"/>` +
      `<rect class="c" x="${labelW}" y="${y + rowH + 1}" width="${wc.toFixed(1)}" height="${rowH - 3}"/>` +
      `<text x="${labelW + Math.max(wb, wc) + 4}" y="${y + rowH + 4}">${((h.base[i] ?? 0) * 100).toFixed(1)}% / ${((h.cur[i] ?? 0) * 100).toFixed(1)}%</text>`
    );
  });
  return `<svg width="${labelW + barW + 110}" height="${h.labels.length * rowH * 2}">${rows.join('')}</svg>`;
}

function scores(d: FeatureDrift): string {
  return d.type === 'numeric'
    ? `KS ${fmt(d.ks.statistic)} (p ${d.ks.p_value.toPrecision(3)}), Wasserstein ${fmt(d.wasserstein)} std, PSI ${fmt(d.psi)}, JS ${fmt(d.js)}`
    : `chi2 ${fmt(d.chi2.statistic)} (dof ${d.chi2.dof}, p ${d.chi2.p_value.toPrecision(3)}), PSI ${fmt(d.psi)}, JS ${fmt(d.js)}` +
        (d.new_categories.length > 0 ? `, new: ${d.new_categories.map(escape).join(', ')}` : '');
}

export function renderReportHtml(report: DriftReport, base: WindowProfile, cur: WindowProfile, title: string): string {
  const sections: string[] = [];
  const entries: Array<[string, FeatureDrift, FeatureSummary, FeatureSummary]> = [];
  for (const [name, d] of Object.entries(report.features)) {
    const b = base.feature(name);
    const c = cur.feature(name);
    if (b && c) entries.push([name, d, b, c]);
  }
  if (report.prediction) entries.push(['(prediction)', report.prediction, base.prediction, cur.prediction]);
  if (report.label) entries.push(['(label)', report.label, base.label, cur.label]);
  const rows = entries.map(
    ([name, d]) =>
      `<tr class="${d.drift ? 'drift' : ''}"><td><a href="#f-${escape(name)}">${escape(name)}</a></td><td>${d.type}</td>` +
      `<td>${d.drift ? 'DRIFT' : 'ok'}</td><td>${d.method}</td><td>${scores(d)}</td><td>${d.count_ref} / ${d.count_cur}</td></tr>`,
  );
  for (const [name, d, b, c] of entries) {
    const h = histogram(b, c);
    sections.push(`<section id="f-${escape(name)}"><h3>${escape(name)} <small>${d.drift ? 'DRIFT' : 'ok'}</small></h3>${h ? svg(h) : '<p>no histogram</p>'}</section>`);
  }
  const q = report.quality.concept;
  const skipped = Object.entries(report.skipped).map(([n, why]) => `<li>${escape(n)}: ${escape(why)}</li>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left}
tr.drift td{background:#fde8e8}rect.b{fill:#8aa7c8}rect.c{fill:#e0904d}svg text{font-size:11px}section{margin:1.5em 0}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}
</style></head><body>
<h1>${escape(title)}</h1>
<p>Dataset drift: <b>${report.dataset.drift ? 'YES' : 'no'}</b> (${report.dataset.drifted.length} of ${Object.keys(report.features).length} features, share ${report.dataset.share.toFixed(2)}).
Quality: ${q.metric} ${q.baseline === null ? '-' : fmt(q.baseline)} &rarr; ${q.current === null ? '-' : fmt(q.current)} (${q.drift === null ? 'not enough labels' : q.drift ? 'CONCEPT DRIFT' : 'ok'}).</p>
<table><thead><tr><th>feature</th><th>type</th><th>drift</th><th>test</th><th>scores</th><th>n baseline / current</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
${skipped.length > 0 ? `<p>Not compared:</p><ul>${skipped.join('')}</ul>` : ''}
<p class="legend"><span style="background:#8aa7c8"></span>baseline<span style="background:#e0904d"></span>current</p>
${sections.join('\n')}
</body></html>
`;
}
