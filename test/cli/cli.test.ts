// The command line as outside checks use it: run --once, status --json, windows --json, exit codes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLogFile } from '../../scripts/gen-logs.js';
import { cli } from '../helpers/cli.js';



const MINIMAL = `device:
  id: dev-1          # default: hostname
  site: lab
data_dir: ./data
models:
  - name: fraud
    task: classification     # or regression
    logs: ["./logs/*.jsonl"] # globs; relative paths are relative to the config file's folder
    format: jsonl            # or csv (with header)
    window: 60s
`;

describe('edgewatch-agent command line', () => {
  let dir: string;
  let config: string;
  let gen: ReturnType<typeof writeLogFile>;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-cli-'));
    config = path.join(dir, 'agent.yaml');
    fs.writeFileSync(config, MINIMAL);
    gen = writeLogFile(path.join(dir, 'logs', 'app.jsonl'), {
      seed: 3,
      records: 3_000,
      rate: 10,
      malformedRate: 0.05,
      numericFeatures: 3,
      categoricalFeatures: 2,
      labelRate: 0.5,
    });
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('run --once ingests the logs, closes every window and prints the status table', async () => {
    const r = await cli('run', '--config', config, '--once', '--log-level', 'error');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fraud\s+3000\s+\d+\s+0\s+0\s+\d+/);
  });

  it('status --json reports exact counts and file offsets', async () => {
    const r = await cli('status', '--config', config, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as {
      device: string;
      models: Record<string, { accepted: number; rejected: number; rejected_by_reason: Record<string, number>; late: number; windows_open: number; windows_closed: number }>;
      files: Array<{ path: string; offset: number; size: number }>;
    };
    expect(s.device).toBe('dev-1');
    const m = s.models['fraud']!;
    expect(m.accepted).toBe(gen.good);
    expect(m.rejected).toBe(gen.bad);
    const reasons = Object.fromEntries(Object.entries(gen.bad_by_reason).filter(([, n]) => n > 0));
    expect(m.rejected_by_reason).toEqual(reasons);
    expect(m.late).toBe(0);
    expect(m.windows_open).toBe(0);
    // 3,000 records at 10/s span 300 s: five or six one-minute windows.
    expect(m.windows_closed).toBeGreaterThanOrEqual(5);
    expect(s.files).toEqual([{ model: 'fraud', path: path.join(dir, 'logs', 'app.jsonl'), offset: gen.bytes, size: gen.bytes, done: false }]);
  });

  it('windows --json prints one aligned window per line in the documented shape', async () => {
    const r = await cli('windows', '--config', config, '--model', 'fraud', '--json');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    let total = 0;
    let rejected = 0;
    for (const w of lines) {
      expect(w).toMatchObject({ model: 'fraud', model_version: 'v1' });
      const start = w['start'] as number;
      expect(start % 60_000).toBe(0);
      expect(w['end']).toBe(start + 60_000);
      total += w['count'] as number;
      rejected += w['rejected'] as number;
      const features = w['features'] as Record<string, Record<string, unknown>>;
      expect(features['f0']).toMatchObject({ type: 'numeric' });
      expect(Object.keys(features['f0']!['quantiles'] as object)).toEqual(['p50', 'p90', 'p99']);
      expect(features['c0']).toMatchObject({ type: 'categorical' });
      expect(w['latency_ms']).toMatchObject({ type: 'numeric' });
      expect(w['confidence']).toMatchObject({ type: 'numeric' });
      expect(w['prediction']).toMatchObject({ type: 'categorical' });
      expect(w['label']).toMatchObject({ type: 'categorical' });
      expect(typeof w['status']).toBe('object');
      expect(w['quality']).toHaveProperty('accuracy');
    }
    expect(total).toBe(gen.good);
    expect(rejected).toBe(gen.bad);
  });

  it('a second run finds nothing new and counts nothing twice', async () => {
    expect((await cli('run', '--config', config, '--once', '--log-level', 'error')).code).toBe(0);
    const s = JSON.parse((await cli('status', '--config', config, '--json')).out) as { models: Record<string, { accepted: number }> };
    expect(s.models['fraud']!.accepted).toBe(gen.good);
  });

  it('a bad config fails with exit code 2 naming the field and the closest key', async () => {
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, MINIMAL.replace('window: 60s', 'windw: 60s'));
    const r = await cli('run', '--config', bad, '--once');
    expect(r.code).toBe(2);
    expect(r.err).toContain('models[0].windw');
    expect(r.err).toContain('did you mean "window"');
  });

  it('usage errors exit with 2', async () => {
    expect((await cli('run')).code).toBe(2);
    expect((await cli('frobnicate', '--config', config)).code).toBe(2);
    expect((await cli('windows', '--config', config)).code).toBe(2);
    expect((await cli('windows', '--config', config, '--model', 'nope')).code).toBe(2);
    expect((await cli('status', '--config', config, '--bogus')).code).toBe(2);
  });

  it('a second agent on the same data_dir is refused while the first runs', async () => {
    const { Agent } = await import('../../agent/runtime/index.js');
    const { loadAgentConfig } = await import('../../agent/config/index.js');
    const first = Agent.open(loadAgentConfig(config));
    try {
      const r = await cli('run', '--config', config, '--once');
      expect(r.code).toBe(1);
      expect(r.err).toContain('EW_ERR_LOCKED');
    } finally {
      first.shutdown();
    }
  });
});
