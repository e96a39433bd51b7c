// Window routing, closing and lateness, and the nasty inputs a real log holds, through the agent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { binEdgesFor } from '../../agent/drift/index.js';
import { NumericSummary, WindowProfile } from '../../agent/profile/index.js';
import type { InferenceRecord } from '../../agent/records/types.js';
import { Agent } from '../../agent/runtime/index.js';
import { AgentStore } from '../../agent/store/index.js';
import { ModelWindows, windowStart } from '../../agent/window/index.js';
import { testConfig, testModel } from '../helpers/config.js';
import { testRecord } from '../helpers/records.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const NOW = Date.parse('2026-01-01T01:00:00Z');

function record(ts: number, version = 'v1'): InferenceRecord {
  return testRecord({ ts, model: 'fraud', modelVersion: version, features: { x: 1 }, confidence: 0.9, latencyMs: 5, status: '200' });
}

describe('event-time windows', () => {
  it('aligns windows to multiples of their length since the epoch', () => {
    expect(windowStart(T0 + 59_999, 60_000)).toBe(T0);
    expect(windowStart(T0 + 60_000, 60_000)).toBe(T0 + 60_000);
    expect(windowStart(T0 + 123_456, 300_000) % 300_000).toBe(0);
  });

  it('closes a window once the watermark passes its end plus the lateness, and counts later records as late', () => {
    const model = testModel({ logs: [], window_ms: 60_000, allowed_lateness_ms: 30_000 });
    const w = new ModelWindows(model, { windows: [], counters: null });
    w.add(record(T0 + 10_000), NOW);
    w.add(record(T0 + 70_000), NOW); // next window; watermark 70 s
    w.advance(NOW);
    expect(w.takeChanges(NOW).closed).toHaveLength(0); // 60 + 30 > 70: still open
    w.add(record(T0 + 50_000), NOW); // within the lateness: joins its window
    w.add(record(T0 + 95_000), NOW); // watermark 95 s passes 60 + 30
    w.advance(NOW);
    const closed = w.takeChanges(NOW).closed;
    expect(closed.map((c) => [c.start, c.count])).toEqual([[T0, 2]]);
    w.add(record(T0 + 20_000), NOW); // its window is closed: late, not lost
    expect(w.counters.late).toBe(1);
    expect(w.counters.accepted).toBe(4);
    w.closeAll();
    const rest = w.takeChanges(NOW).closed.map((c) => WindowProfile.decode(c.profile));
    expect(rest.reduce((n, p) => n + p.late, 0)).toBe(1);
    expect(rest.reduce((n, p) => n + p.count, 0)).toBe(2);
  });

  it('gives a window created with its version\'s baseline known exact counts on the baseline\'s deciles', () => {
    const model = testModel({ logs: [], window_ms: 60_000, allowed_lateness_ms: 0 });
    const baseline = new WindowProfile({ model: 'fraud', modelVersion: 'v1', start: 0, end: 0 }, { task: 'classification', categoricalCap: 8, segmentCap: 4, segmentPaths: [] });
    for (let i = 0; i < 500; i++) baseline.add(testRecord({ features: { x: (i * 7919) % 101 } }));
    const w = new ModelWindows(model, { windows: [], counters: null }, (v) => (v === 'v1' ? baseline : null));
    for (let i = 0; i < 50; i++) {
      w.add(testRecord({ ts: T0 + i, modelVersion: 'v1', features: { x: i } }), NOW);
      w.add(testRecord({ ts: T0 + i, modelVersion: 'v2', features: { x: i } }), NOW);
    }
    w.closeAll();
    const closed = w.takeChanges(NOW).closed;
    const x = (v: string) => WindowProfile.decode(closed.find((c) => c.modelVersion === v)!.profile).feature('x') as NumericSummary;
    const edges = binEdgesFor(baseline).binEdges.get('x')!;
    expect(edges).toHaveLength(9);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 50; i++) {
      const k = edges.findIndex((e) => i <= e);
      counts[k === -1 ? 9 : k]!++;
    }
    expect(x('v1').bins).toEqual({ edges, counts });
    expect(x('v2').bins).toBeNull(); // no baseline for v2: digest only
    expect(binEdgesFor(baseline)).toBe(binEdgesFor(baseline)); // computed once per baseline
  });

  it('keeps versions apart and lets a silent model close its last window by the wall clock', () => {
    const model = testModel({ logs: [], window_ms: 60_000, allowed_lateness_ms: 60_000 });
    const w = new ModelWindows(model, { windows: [], counters: null });
    w.add(record(NOW - 30_000, 'v1'), NOW);
    w.add(record(NOW - 20_000, 'v2'), NOW);
    w.advance(NOW + 60_000);
    expect(w.takeChanges(NOW).closed).toHaveLength(0);
    w.advance(NOW + 121_000); // silent for a window plus the lateness
    const closed = w.takeChanges(NOW + 121_000).closed;
    expect(closed.map((c) => c.modelVersion).sort()).toEqual(['v1', 'v2']);
  });

  it('does not let a timestamp far in the future close everything', () => {
    const model = testModel({ logs: [] });
    const w = new ModelWindows(model, { windows: [], counters: null });
    w.add(record(NOW - 10_000), NOW);
    w.add(record(NOW + 86_400_000), NOW); // a clock a day ahead
    w.add(record(NOW - 5_000), NOW);
    expect(w.counters.late).toBe(0);
  });
});

describe('nasty input through the whole agent', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-nasty-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('counts a 10 MB line as too_long, keeps invalid UTF-8 records, ignores blank lines, takes CRLF and NaN tokens', () => {
    const logs = path.join(dir, 'logs');
    fs.mkdirSync(logs);
    const line = (i: number, extra = '') => `{"ts": ${T0 + i * 1000}, "prediction": "a", "features": {"x": ${i}, "c": "k${i % 3}"}${extra}}`;
    const parts: Buffer[] = [
      Buffer.from(line(1) + '\n'),
      Buffer.from(`{"ts": ${T0}, "prediction": "a", "pad": "` + 'x'.repeat(10 * 1024 * 1024) + '"}\n'),
      Buffer.from(line(2) + '\r\n'),
      Buffer.from('\n   \n\r\n'),
      Buffer.concat([Buffer.from(`{"ts": ${T0 + 3000}, "prediction": "a", "features": {"c": "bad`), Buffer.from([0xff, 0xfe]), Buffer.from('"}}\n')]),
      Buffer.from(`{"ts": ${T0 + 4000}, "prediction": "a", "features": {"x": NaN}}\n`),
      Buffer.from('{"ts": 1, "prediction": \n'),
      Buffer.from(line(5)), // no newline yet: waits
    ];
    fs.writeFileSync(path.join(logs, 'app.jsonl'), Buffer.concat(parts));
    const config = testConfig(path.join(dir, 'data'), [testModel({ logs: [path.join(logs, '*.jsonl')] })]);
    const agent = Agent.open(config, { now: () => NOW });
    agent.ingestAvailable();
    agent.shutdown({ closeWindows: true });

    const store = AgentStore.openForReading(config.data_dir);
    try {
      const c = store.loadCounters('fraud')!;
      expect(c.accepted).toBe(4);
      expect(c.rejectedByReason).toEqual({ too_long: 1, unparseable: 1 });
      const p = WindowProfile.decode(store.closedWindows('fraud')[0]!.profile).toJSON();
      expect(p.features['c']).toMatchObject({ type: 'categorical', values: { k1: 1, k2: 1, 'bad\ufffd\ufffd': 1 } });
      expect(p.features['x']).toMatchObject({ type: 'numeric', count: 2, non_finite: 1 });
      const file = store.allFiles()[0]!;
      expect(file.offset).toBe(Buffer.concat(parts.slice(0, -1)).length); // the partial last line is not counted
    } finally {
      store.close();
    }
  });
});

describe('shutdown', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-shutdown-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const closeOnShutdown of [false, true]) {
    it(`keeps open windows open for the restart, or closes them when configured (${closeOnShutdown})`, async () => {
      const { runUntilStopped } = await import('../../agent/runtime/index.js');
      const logs = path.join(dir, `logs-${closeOnShutdown}`);
      fs.mkdirSync(logs);
      fs.writeFileSync(path.join(logs, 'a.jsonl'), `{"ts": ${NOW - 1000}, "prediction": "a"}\n`);
      const config = testConfig(path.join(dir, `data-${closeOnShutdown}`), [testModel({ logs: [path.join(logs, '*.jsonl')] })], {
        close_windows_on_shutdown: closeOnShutdown,
        poll_interval_ms: 5,
      });
      const agent = Agent.open(config, { now: () => NOW });
      const stop = new AbortController();
      const running = runUntilStopped(agent, { signal: stop.signal });
      await new Promise((r) => setTimeout(r, 50));
      stop.abort();
      await running;
      const store = AgentStore.openForReading(config.data_dir);
      try {
        expect(store.windowCounts('fraud')).toEqual(closeOnShutdown ? { open: 0, closed: 1 } : { open: 1, closed: 0 });
        expect(store.loadCounters('fraud')!.accepted).toBe(1);
      } finally {
        store.close();
      }
    });
  }
});
