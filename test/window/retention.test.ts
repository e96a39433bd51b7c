// Retention keeps the database bounded without losing counts: closed windows older than
// `retention.windows` (event time) become hourly rollups, which are merges of those windows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WindowProfile } from '../../agent/profile/index.js';
import { Agent } from '../../agent/runtime/index.js';
import { AgentStore } from '../../agent/store/index.js';
import { writeLogFile } from '../../scripts/gen-logs.js';
import { testConfig, testModel } from '../helpers/config.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-retention-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('retention', () => {
  it('rolls closed windows older than the retention into hourly rollups, losing no count', () => {
    // 3 hours of records at 2/s, starting on the hour.
    const gen = writeLogFile(path.join(dir, 'logs', 'app.jsonl'), {
      seed: 5,
      records: 21_600,
      rate: 2,
      arrivals: 'even',
      numericFeatures: 2,
      categoricalFeatures: 1,
      outOfOrderRate: 0,
    });
    const config = testConfig(path.join(dir, 'data'), [testModel({ logs: [path.join(dir, 'logs', '*.jsonl')] })]);
    const retention = { windows_ms: 30 * 60_000, rollups_ms: 90 * 86_400_000 };
    let clock = Date.parse('2026-06-01T00:00:00Z');
    const agent = Agent.open({ ...config, retention }, { now: () => clock });
    agent.ingestAvailable();
    agent.closeAllWindows();
    clock += 120_000; // past the retention timer
    agent.commit();
    agent.shutdown();

    const store = AgentStore.openForReading(config.data_dir);
    try {
      const watermark = store.loadCounters('fraud')!.watermark!;
      const windows = store.closedWindows('fraud');
      const rollups = store.rollups('fraud');
      expect(windows.length).toBeGreaterThanOrEqual(29);
      for (const w of windows) expect(w.end).toBeGreaterThan(watermark - retention.windows_ms);
      expect(rollups.length).toBeGreaterThanOrEqual(2);
      for (const r of rollups) {
        expect(r.start % 3_600_000).toBe(0);
        expect(r.end - r.start).toBe(3_600_000);
      }
      const total = [...windows, ...rollups].reduce((n, w) => n + w.count, 0);
      expect(total).toBe(gen.good);

      // The first hour's rollup is the merge of its sixty windows: the same counts and moments.
      const hour = WindowProfile.decode(rollups[0]!.profile).toJSON();
      expect(hour.count).toBe(7_200);
      const f0 = hour.features['f0'];
      expect(f0?.type).toBe('numeric');
      if (f0?.type === 'numeric') expect(f0.count + f0.missing + f0.non_finite).toBe(7_200);
    } finally {
      store.close();
    }
  });
});
