// Baselines: built from a file, compared with every closed window, exported and imported.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encode } from 'cbor-x';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../agent/config/index.js';
import { Agent } from '../../agent/runtime/index.js';
import { binEdgesFor, featureDrift, psiFromShares } from '../../agent/drift/index.js';
import { NumericSummary, WindowProfile } from '../../agent/profile/index.js';
import { AgentStore } from '../../agent/store/index.js';
import { mulberry32, normal } from './prng.js';
import { cli } from '../helpers/cli.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-baseline-'));
afterAll(() => { if (!process.env.EW_KEEP) fs.rmSync(dir, { recursive: true, force: true }); });

/** `n` records at 50/s from `start`: x ~ N(shift, 1), c in {a, b, c}. */
function lines(n: number, seed: number, start: number, shift = 0): string {
  const rng = mulberry32(seed);
  let out = '';
  for (let i = 0; i < n; i++) {
    const x = normal(rng) + shift;
    const c = ['a', 'b', 'c'][Math.floor(rng() * 3)];
    out += JSON.stringify({ ts: start + i * 20, prediction: x > 0 ? '1' : '0', features: { x: +x.toFixed(4), c } }) + '\n';
  }
  return out;
}

function writeConfig(name: string): string {
  const d = path.join(dir, name);
  fs.mkdirSync(path.join(d, 'logs'), { recursive: true });
  const file = path.join(d, 'agent.yaml');
  fs.writeFileSync(file, 'data_dir: ./data\nmodels:\n  - name: fraud\n    task: classification\n    logs: ["./logs/*.jsonl"]\n');
  return file;
}


interface WindowLine {
  start: number;
  count: number;
  drift: { dataset: { drift: boolean; share: number }; features: Record<string, { drift: boolean; method: string }> } | null;
}

async function windows(config: string): Promise<WindowLine[]> {
  const r = await cli('windows', '--config', config, '--model', 'fraud', '--json');
  expect(r.code).toBe(0);
  return r.out.trim().split('\n').map((l) => JSON.parse(l) as WindowLine);
}

describe('baselines', () => {
  const ref = path.join(dir, 'ref.jsonl');
  fs.writeFileSync(ref, lines(6_000, 1, T0 - 86_400_000));

  it('compares each closed window with the baseline: stationary windows pass, shifted ones drift', async () => {
    const config = writeConfig('one');
    const made = await cli('baseline', '--config', config, '--model', 'fraud', '--from', ref);
    expect(made.code).toBe(0);
    expect(made.out).toContain('6000 records');
    // Progress, as plain lines when not on a terminal: one pass to find the deciles, one to count on them.
    expect(made.err).toMatch(/^ref\.jsonl \(pass 1 of 2\): 100% \((\d+) of \1 bytes\)\nref\.jsonl \(pass 2 of 2\): 100% \(\1 of \1 bytes\)\n$/);
    // 5 minutes like the baseline (3,000 records a window), then 5 minutes with x shifted by one std.
    fs.writeFileSync(path.join(path.dirname(config), 'logs', 'app.jsonl'), lines(15_000, 2, T0) + lines(15_000, 3, T0 + 300_000, 1));
    expect((await cli('run', '--config', config, '--once', '--log-level', 'error')).code).toBe(0);
    const ws = await windows(config);
    expect(ws).toHaveLength(10);
    for (const w of ws) {
      const shifted = w.start >= T0 + 300_000;
      expect(w.drift?.features['x']?.drift, `window ${new Date(w.start).toISOString()}`).toBe(shifted);
      expect(w.drift?.features['x']?.method).toBe('ks');
      expect(w.drift?.features['c']?.drift).toBe(false);
    }
  });

  it('counts the baseline and the windows made after it exactly on its deciles: PSI is exact', async () => {
    const config = writeConfig('exact');
    expect((await cli('baseline', '--config', config, '--model', 'fraud', '--from', ref)).code).toBe(0);
    fs.writeFileSync(path.join(path.dirname(config), 'logs', 'app.jsonl'), lines(6_000, 4, T0, 0.5));
    expect((await cli('run', '--config', config, '--once', '--log-level', 'error')).code).toBe(0);
    const store = AgentStore.openForReading(loadAgentConfig(config).data_dir);
    try {
      const stored = store.baselines.get('fraud', '*');
      const baseline = WindowProfile.decode(stored!.profile);
      const edges = binEdgesFor(baseline).binEdges.get('x');
      // The stored baseline's own counts are on the deciles of its (decoded) digest.
      const bx = baseline.feature('x') as NumericSummary;
      expect(bx.bins?.edges).toEqual(edges);
      const windows = store.closedWindows('fraud');
      expect(windows.length).toBeGreaterThan(1);
      for (const w of windows) {
        const cx = WindowProfile.decode(w.profile).feature('x') as NumericSummary;
        expect(cx.bins?.edges).toEqual(edges);
        const shares = (s: NumericSummary): number[] => s.bins!.counts.map((c) => c / s.count);
        const d = featureDrift(bx, cx);
        expect(typeof d !== 'string' && d.psi).toBe(psiFromShares(shares(bx), shares(cx)));
        const drift = JSON.parse(w.drift!) as { features: { x: { psi: number } } };
        expect(drift.features.x.psi).toBe(psiFromShares(shares(bx), shares(cx)));
      }
    } finally {
      store.close();
    }
  });

  it('exports a baseline to a file and imports it elsewhere, refusing damaged or foreign files', async () => {
    const from = writeConfig('exporter');
    expect((await cli('baseline', '--config', from, '--model', 'fraud', '--from', ref, '--version', 'v1')).code).toBe(0);
    const file = path.join(dir, 'fraud-v1.baseline');
    const ex = await cli('baseline', '--config', from, '--model', 'fraud', '--export', file, '--version', 'v1');
    expect(ex.code).toBe(0);
    const to = writeConfig('importer');
    const im = await cli('baseline', '--config', to, '--import', file);
    expect(im.err).toBe('');
    expect(im.code).toBe(0);
    const store = AgentStore.openForReading(loadAgentConfig(to).data_dir);
    try {
      const b = store.baselines.get('fraud', 'v1');
      expect(b?.records).toBe(6_000);
      expect(store.baselines.get('fraud', 'v2')).toBeNull(); // a version's baseline is its own
    } finally {
      store.close();
    }
    // With a baseline for every version beside it, v1 keeps its own and v2 gets the shared one.
    expect((await cli('baseline', '--config', to, '--model', 'fraud', '--from', ref)).code).toBe(0);
    const both = AgentStore.openForReading(loadAgentConfig(to).data_dir);
    try {
      expect(both.baselines.get('fraud', 'v1')?.modelVersion).toBe('v1');
      expect(both.baselines.get('fraud', 'v2')?.modelVersion).toBe('*');
    } finally {
      both.close();
    }

    const bytes = fs.readFileSync(file);
    const damaged = path.join(dir, 'damaged.baseline');
    fs.writeFileSync(damaged, Buffer.concat([bytes.subarray(0, bytes.length - 40), Buffer.alloc(40, 7)]));
    const r1 = await cli('baseline', '--config', to, '--import', damaged);
    expect(r1.code).toBe(2);
    expect(r1.err).toContain('damaged.baseline');
    const foreign = path.join(dir, 'foreign.baseline');
    fs.writeFileSync(foreign, encode({ v: 9, kind: 'edgewatch-baseline' }));
    const r2 = await cli('baseline', '--config', to, '--import', foreign);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('format version 9');
    expect((await cli('baseline', '--config', to, '--model', 'nope', '--from', ref)).code).toBe(2);
    expect((await cli('baseline', '--config', to, '--model', 'fraud')).code).toBe(2);
  });

  it('a running agent takes up a baseline added while it runs', async () => {
    const config = loadAgentConfig(writeConfig('live'));
    const log = path.join(path.dirname(config.source), 'logs', 'app.jsonl');
    fs.writeFileSync(log, lines(9_000, 4, T0));
    const agent = Agent.open(config);
    try {
      agent.ingestAvailable();
      agent.commit();
      const r = await cli('baseline', '--config', config.source, '--model', 'fraud', '--from', ref);
      expect(r.code).toBe(0);
      fs.appendFileSync(log, lines(9_000, 5, T0 + 180_000));
      agent.ingestAvailable();
    } finally {
      agent.shutdown({ closeWindows: true });
    }
    const store = AgentStore.openForReading(config.data_dir);
    try {
      const ws = store.closedWindows('fraud');
      expect(ws).toHaveLength(6);
      // The first window closed before the baseline existed (the watermark passed it plus the
      // lateness while the first 3 minutes were read); every window closed after has a report.
      expect(ws[0]!.drift).toBeNull();
      for (const w of ws.slice(2)) expect(w.drift).not.toBeNull();
    } finally {
      store.close();
    }
  });
});
