// Render cost of /metrics: 3 models x 50 features (two windows each, with drift reports) and 100
// system readings, as one scrape would render them. Prints JSON.
//   node --import tsx scripts/bench/metrics-render.ts
import { renderMetrics } from '../../agent/metrics/index.js';
import { NOW, realisticSnapshot } from '../../test/metrics/snapshot-fixture.js';

export function benchRender(rounds = 2000): { samples: number; bytes: number; median_us: number; p99_us: number; mean_us: number } {
  const snapshot = realisticSnapshot({ models: 3, features: 50, readings: 100 });
  let text = '';
  for (let i = 0; i < 200; i++) text = renderMetrics(snapshot, NOW); // warm up the JIT
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    text = renderMetrics(snapshot, NOW);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 10) / 10;
  return {
    samples: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
    bytes: Buffer.byteLength(text),
    median_us: at(0.5),
    p99_us: at(0.99),
    mean_us: Math.round((times.reduce((a, b) => a + b, 0) / times.length) * 10) / 10,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify({ bench: 'metrics-render', ...benchRender() }));
