// Delayed ground truth joined by request_id through the running agent: label after its prediction,
// before it, never; the horizon; a restart and a crash in between; revisions of closed windows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LabelsConfig } from '../../agent/config/types.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { profileFile } from '../../agent/runtime/profile-file.js';
import { Agent } from '../../agent/runtime/index.js';
import { FeatureTypes } from '../../agent/records/index.js';
import { testConfig, testModel } from '../helpers/config.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const MIN = 60_000;
const HOUR = 3_600_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-labels-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const pred = (id: string, ts: number, prediction: string, extra: object = {}) =>
  JSON.stringify({ ts, request_id: id, model_version: 'v1', prediction, features: { x: 1 }, ...extra });
const label = (id: string, ts: number, value: string) => JSON.stringify({ ts, request_id: id, label: value });

let n = 0;
function setup(labels: Partial<LabelsConfig> = {}) {
  const dir = path.join(root, `case-${++n}`);
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const model = testModel({
    logs: [path.join(logs, '*.jsonl')],
    segments: ['features.site'],
    labels: { delayed: true, horizon_ms: HOUR, max_pending: 1_000, max_pending_bytes: 1 << 20, ...labels },
  });
  const config = testConfig(path.join(dir, 'data'), [model]);
  let clock = T0;
  const write = (file: string, ...lines: string[]) => fs.appendFileSync(path.join(logs, file), lines.map((l) => l + '\n').join(''));
  const open = () => Agent.open(config, { now: () => clock });
  const setClock = (t: number) => {
    clock = t;
  };
  return { config, write, open, setClock };
}

/** The window [start, start + 1 min) as the store has it now (open or closed), with its revision. */
function stored(agent: Agent, start: number): { profile: WindowProfile; state: string; revision: number } {
  const rows = [...agent.store.loadOpenWindows('fraud'), ...agent.store.closedWindows('fraud')].filter((w) => w.start === start);
  expect(rows).toHaveLength(1);
  const w = rows[0]!;
  return { profile: WindowProfile.decode(w.profile), state: w.state, revision: w.revision };
}

function quality(p: WindowProfile) {
  const j = p.toJSON();
  return { labelled: j.quality.labelled, correct: 'correct' in j.quality ? j.quality.correct : null, labels: j.label };
}

describe('delayed labels', () => {
  it('join a label that comes after its prediction, in the same or another file, to the prediction’s window', () => {
    const t = setup();
    t.write('serve.jsonl', pred('r1', T0 + 1_000, 'cat', { features: { x: 1, site: 'north' } }), pred('r2', T0 + 2_000, 'dog'));
    t.write('truth.jsonl', label('r1', T0 + 5_000, 'cat'), label('r2', T0 + 6_000, 'cat'));
    const agent = t.open();
    agent.ingestAvailable();
    agent.commit();
    const { profile, state } = stored(agent, T0);
    expect(state).toBe('open');
    expect(profile.count).toBe(2); // label lines are not records
    expect(quality(profile)).toMatchObject({ labelled: 2, correct: 1 });
    expect(profile.toJSON().label).toMatchObject({ count: 2, missing: 0, values: { cat: 2 } });
    // The segment of the prediction gets its label too.
    expect(profile.toJSON().segments['features.site']?.['north']?.quality).toMatchObject({ labelled: 1, correct: 1 });
    expect(agent.store.pending.counters('fraud')).toMatchObject({ joined: 2, pending_predictions: 0, pending_labels: 0, pending_bytes: 0 });
    agent.shutdown();
  });

  it('join a label that comes before its prediction, across a commit', () => {
    const t = setup();
    t.write('truth.jsonl', label('r1', T0 + 500, 'cat'));
    const agent = t.open();
    agent.ingestAvailable();
    agent.commit();
    expect(agent.store.pending.counters('fraud')).toMatchObject({ joined: 0, pending_labels: 1 });
    t.write('serve.jsonl', pred('r1', T0 + 1_000, 'dog'));
    agent.ingestAvailable();
    agent.commit();
    expect(quality(stored(agent, T0).profile)).toMatchObject({ labelled: 1, correct: 0 });
    expect(agent.store.pending.counters('fraud')).toMatchObject({ joined: 1, pending_labels: 0, pending_predictions: 0, pending_bytes: 0 });
    agent.shutdown();
  });

  it('let a prediction whose label never comes, and a label without prediction, expire at the horizon', () => {
    const t = setup();
    t.write('serve.jsonl', pred('never', T0 + 1_000, 'cat'));
    t.write('truth.jsonl', label('orphan', T0 + 2_000, 'cat'));
    const agent = t.open();
    agent.ingestAvailable();
    agent.commit();
    expect(agent.store.pending.counters('fraud')).toMatchObject({ pending_predictions: 1, pending_labels: 1, expired_predictions: 0 });
    // Event time moves on to just inside the horizon: both still wait.
    t.write('serve.jsonl', pred('a', T0 + HOUR, 'cat', { features: {} }));
    t.setClock(T0 + HOUR); // the watermark follows event time only up to a few minutes past the clock
    agent.ingestAvailable();
    agent.commit();
    expect(agent.store.pending.counters('fraud')).toMatchObject({ pending_predictions: 2, pending_labels: 1, expired_predictions: 0 });
    // Past the horizon of the first two: they expire, counted; the label coming now finds nothing.
    t.write('serve.jsonl', pred('b', T0 + HOUR + 2_001, 'cat', { features: {} }));
    t.write('truth.jsonl', label('never', T0 + HOUR + 3_000, 'cat'));
    t.setClock(T0 + HOUR + 3_000);
    agent.ingestAvailable();
    agent.commit();
    const c = agent.store.pending.counters('fraud');
    expect(c).toMatchObject({ expired_predictions: 1, expired_labels: 1, joined: 0, pending_predictions: 2, pending_labels: 1 });
    const rows = agent.store.db.prepare(`SELECT request_id FROM pending_predictions ORDER BY request_id`).all();
    expect(rows).toEqual([{ request_id: 'a' }, { request_id: 'b' }]);
    // The window of "never" closed without its label.
    expect(quality(stored(agent, T0).profile)).toMatchObject({ labelled: 0 });
    agent.shutdown();
  });

  it('revise a closed window when its label comes late, one revision per commit that changes it', () => {
    const t = setup();
    t.write('serve.jsonl', pred('r1', T0 + 1_000, 'cat'), pred('r2', T0 + 2_000, 'cat'), pred('r3', T0 + 3_000, 'dog'));
    // Event time moves 3 minutes on: the first window (1 min + 1 min lateness) closes.
    t.write('serve.jsonl', pred('later', T0 + 3 * MIN, 'cat'));
    const agent = t.open();
    agent.ingestAvailable();
    agent.commit();
    expect(stored(agent, T0)).toMatchObject({ state: 'closed', revision: 0 });
    expect(quality(stored(agent, T0).profile).labelled).toBe(0);

    t.write('truth.jsonl', label('r1', T0 + 3 * MIN + 1, 'cat'), label('r3', T0 + 3 * MIN + 2, 'cat'));
    agent.ingestAvailable();
    agent.commit();
    let w = stored(agent, T0);
    expect(w).toMatchObject({ state: 'closed', revision: 1 });
    expect(quality(w.profile)).toMatchObject({ labelled: 2, correct: 1 });
    expect(w.profile.toJSON().label).toMatchObject({ count: 2, missing: 1, values: { cat: 2 } });
    const row = agent.store.closedWindows('fraud').find((x) => x.start === T0);
    // The stored window's other figures are those it closed with.
    expect(row).toMatchObject({ count: 3, rejected: 0, late: 0 });

    t.write('truth.jsonl', label('r2', T0 + 3 * MIN + 3, 'cat'));
    agent.ingestAvailable();
    agent.commit();
    w = stored(agent, T0);
    expect(w.revision).toBe(2);
    expect(quality(w.profile)).toMatchObject({ labelled: 3, correct: 2 });
    expect(agent.store.pending.counters('fraud')).toMatchObject({ joined: 3, joined_after_close: 3, pending_predictions: 1 });
    agent.shutdown();
  });

  it('keep what waits across a restart', () => {
    const t = setup();
    t.write('serve.jsonl', pred('r1', T0 + 1_000, 'cat'), pred('r2', T0 + 2_000, 'cat'));
    t.write('truth.jsonl', label('r0', T0 + 1_500, 'dog'));
    const first = t.open();
    first.ingestAvailable();
    first.shutdown();

    const agent = t.open();
    t.write('truth.jsonl', label('r1', T0 + 9_000, 'cat'));
    t.write('serve.jsonl', pred('r0', T0 + 10_000, 'dog'));
    agent.ingestAvailable();
    agent.commit();
    expect(quality(stored(agent, T0).profile)).toMatchObject({ labelled: 2, correct: 2 });
    expect(agent.store.pending.counters('fraud')).toMatchObject({ joined: 2, pending_predictions: 1, pending_labels: 0 });
    agent.shutdown();
  });

  it('join exactly once when the agent crashes after reading a label and before committing it', () => {
    const t = setup();
    t.write('serve.jsonl', pred('r1', T0 + 1_000, 'cat'), pred('r2', T0 + 2_000, 'dog'));
    const first = t.open();
    first.ingestAvailable();
    first.commit();
    t.write('truth.jsonl', label('r1', T0 + 5_000, 'cat'), label('r2', T0 + 5_500, 'cat'));
    first.step(1 << 20, true);
    first.abandon(); // read, joined in memory, never committed

    const agent = t.open();
    agent.ingestAvailable();
    agent.commit();
    expect(quality(stored(agent, T0).profile)).toMatchObject({ labelled: 2, correct: 1 });
    expect(agent.store.pending.counters('fraud')).toMatchObject({ joined: 2, pending_predictions: 0, pending_labels: 0, pending_bytes: 0 });
    agent.shutdown();
  });

  it('count what it cannot keep: overflow past max_pending, and a second prediction for a waiting request_id', () => {
    const t = setup({ max_pending: 3 });
    t.write('serve.jsonl', pred('r1', T0 + 1_000, 'cat'));
    const agent = t.open();
    agent.ingestAvailable();
    agent.commit();
    // r1 again (committed before) and r2 twice in this batch: the first of each is kept. A repeat of
    // a committed request_id is found at the commit (no lookup per prediction), so until then it
    // holds a place: r3 and r4 find no room.
    t.write('serve.jsonl', pred('r1', T0 + 1_100, 'dog'), pred('r2', T0 + 1_200, 'cat'), pred('r2', T0 + 1_300, 'dog'));
    t.write('serve.jsonl', pred('r3', T0 + 1_400, 'cat'), pred('r4', T0 + 1_500, 'cat'));
    agent.ingestAvailable();
    agent.commit();
    const c = agent.store.pending.counters('fraud');
    expect(c).toMatchObject({ duplicates: 2, overflow: 2, pending_predictions: 2 });
    const bytes = agent.store.db.prepare(`SELECT TOTAL(bytes) AS b FROM pending_predictions`).get() as { b: number };
    expect(c?.pending_bytes).toBe(bytes.b);
    t.write('truth.jsonl', label('r1', T0 + 2_000, 'cat'));
    agent.ingestAvailable();
    agent.commit();
    // The first r1 (a cat) is the one that waited.
    expect(quality(stored(agent, T0).profile)).toMatchObject({ labelled: 1, correct: 1 });
    agent.shutdown();
  });

  it('reject a label line as missing its prediction when delayed labels are off, saying how to turn them on', () => {
    const t = setup({ delayed: false });
    t.write('truth.jsonl', label('r1', T0 + 1_000, 'cat'));
    const agent = t.open();
    agent.ingestAvailable();
    agent.commit();
    const p = stored(agent, T0).profile.toJSON();
    expect(p.rejected_by_reason).toEqual({ missing_field: 1 });
    expect(p.examples.missing_field?.[0]?.detail).toContain('labels.delayed: true');
    agent.shutdown();
  });
});

describe('delayed labels in a file profiled whole (baseline --from, analyze)', () => {
  it('join wherever in the file the label is, and count labels left without a prediction', () => {
    const t = setup();
    const file = path.join(root, 'reference.jsonl');
    fs.writeFileSync(file, [label('b', T0, 'dog'), pred('a', T0, 'cat'), pred('b', T0, 'dog'), label('a', T0, 'dog'), label('zz', T0, 'cat')].join('\n') + '\n');
    const model = t.config.models[0]!;
    const { profile, labels } = profileFile(file, model, new FeatureTypes(model.features, true));
    expect(labels).toEqual({ joined: 2, unmatched: 1 });
    expect(quality(profile)).toMatchObject({ labelled: 2, correct: 1 });
    expect(profile.count).toBe(2);
  });
});
