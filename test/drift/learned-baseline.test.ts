// Baselines learned from each version's first records or first stretch of event time, committed
// with the windows: a crash while learning neither loses nor doubles a record.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BaselineLearnConfig } from '../../agent/config/types.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { Agent } from '../../agent/runtime/index.js';
import { AgentStore } from '../../agent/store/index.js';
import { testConfig, testModel } from '../helpers/config.js';
import { testRecord } from '../helpers/records.js';
import { mulberry32, normal } from './prng.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-learn-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `n` records at 50/s: x ~ N(shift, 1). */
function lines(n: number, seed: number, start: number, version: string, shift = 0): string[] {
  const rng = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = +(normal(rng) + shift).toFixed(4);
    out.push(JSON.stringify({ ts: start + i * 20, model_version: version, prediction: x > 0 ? '1' : '0', features: { x } }));
  }
  return out;
}

function setup(name: string, learn: BaselineLearnConfig, content: string[]) {
  const logs = path.join(dir, name, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  fs.writeFileSync(path.join(logs, 'app.jsonl'), content.join('\n') + '\n');
  return testConfig(path.join(dir, name, 'data'), [testModel({ logs: [path.join(logs, '*.jsonl')], baseline_learn: learn })], {
    commit_max_records: 500,
  });
}

describe('learned baselines', () => {
  it('learn from exactly the first N records of a version, across a crash while learning', () => {
    const first = lines(9_000, 1, T0, 'v1');
    const moved = lines(9_000, 2, T0 + 180_000, 'v1', 1);
    const config = setup('records', { records: 3_000, duration_ms: null }, [...first, ...moved]);

    // Read part of the log, commit some of it, crash without committing the rest.
    const crashed = Agent.open(config);
    crashed.step(200_000, true);
    crashed.commit();
    crashed.step(150_000, false);
    crashed.abandon();

    const agent = Agent.open(config);
    agent.ingestAvailable();
    agent.shutdown({ closeWindows: true });

    const expected = new WindowProfile({ model: 'fraud', modelVersion: 'v1', start: T0, end: T0 }, { task: 'classification', categoricalCap: 256, segmentCap: 64, segmentPaths: [] });
    for (const l of first.slice(0, 3_000)) {
      const r = JSON.parse(l) as { ts: number; prediction: string; features: { x: number } };
      expected.add(testRecord({ ts: r.ts, model: 'fraud', features: r.features, prediction: r.prediction }));
    }
    const store = AgentStore.openForReading(config.data_dir);
    try {
      const b = store.baselines.get('fraud', 'v1');
      expect(b?.modelVersion).toBe('v1');
      expect(b?.complete).toBe(true);
      expect(b?.records).toBe(3_000);
      const learned = WindowProfile.decode(b!.profile).toJSON();
      const want = expected.toJSON();
      expect(learned.features['x']).toEqual(want.features['x']);
      expect(learned.prediction).toEqual(want.prediction);
      // Windows closed once the baseline existed carry a drift report; the shifted ones drift.
      const ws = store.closedWindows('fraud').map((w) => ({ start: w.start, drift: w.drift === null ? null : (JSON.parse(w.drift) as { features: Record<string, { drift: boolean }> }) }));
      const late = ws.filter((w) => w.start >= T0 + 180_000);
      expect(late.length).toBe(3);
      for (const w of late) expect(w.drift?.features['x']?.drift).toBe(true);
      const early = ws.filter((w) => w.start < T0 + 180_000 && w.drift !== null);
      expect(early.length, JSON.stringify(ws.map((w) => [w.start - T0, w.drift === null]))).toBeGreaterThanOrEqual(1);
      for (const w of early) expect(w.drift?.features['x']?.drift).toBe(false);
    } finally {
      store.close();
    }
  });

  it('learn each version on its own, over its first stretch of event time', () => {
    const v1 = lines(6_000, 3, T0, 'v1'); // two minutes
    const v2 = lines(6_000, 4, T0 + 120_000, 'v2', 0.3);
    const config = setup('duration', { records: null, duration_ms: 60_000 }, [...v1, ...v2]);
    const agent = Agent.open(config);
    agent.ingestAvailable();
    agent.shutdown({ closeWindows: true });
    const store = AgentStore.openForReading(config.data_dir);
    try {
      // 50 records a second for 60 s of event time.
      expect(store.baselines.get('fraud', 'v1')?.records).toBe(3_000);
      expect(store.baselines.get('fraud', 'v2')?.records).toBe(3_000);
      expect(store.baselines.get('fraud', 'v3')).toBeNull();
      expect(store.baselines.learning('fraud')).toEqual([]);
    } finally {
      store.close();
    }
  });
});
