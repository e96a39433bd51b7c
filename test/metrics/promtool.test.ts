// `promtool check metrics` (Prometheus' own parser and linter) on the rendered output.
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../agent/metrics/index.js';
import { NOW, realisticSnapshot } from './snapshot-fixture.js';
import { promtoolCheck, skipWithout } from './tools.js';


describe.skipIf(skipWithout('promtool'))('promtool check metrics', () => {
  it('accepts the realistic snapshot with no lint problem', async () => {
    const text = renderMetrics(realisticSnapshot({ models: 3, features: 50, readings: 120 }), NOW);
    const { code, output } = await promtoolCheck(text);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('accepts a snapshot with escapes, NaN and infinities', async () => {
    const s = realisticSnapshot({ models: 1, features: 3 });
    s.models[0]!.model = 'a"b\\c\nd';
    s.system = { at: NOW, readings: new Map([['cpu.total', NaN], ['gpu.0.power', Infinity], ['odd.name with space', -Infinity]]) };
    const { code, output } = await promtoolCheck(renderMetrics(s, NOW));
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('is a real check: it reports a counter without _total and a gauge named in ms', async () => {
    const { code, output } = await promtoolCheck('# HELP x_ms a\n# TYPE x_ms gauge\nx_ms 1\n# HELP y a\n# TYPE y counter\ny 1\n');
    expect(code).not.toBe(0);
    expect(output).toMatch(/abbreviated units/);
    expect(output).toMatch(/_total/);
  });
});
