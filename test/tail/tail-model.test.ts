// Model-based test of exactly-once tailing through the whole agent (real files, real SQLite):
// random sequences of writer actions (append, partial append, rename-rotate, copy-truncate,
// delete-and-recreate) and agent actions (read a little, commit, restart, crash without commit),
// checked against a model of which complete lines must be counted exactly once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../agent/runtime/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { AgentStore } from '../../agent/store/index.js';
import { testConfig, testModel } from '../helpers/config.js';

const SEED = Number(process.env.EW_SEED ?? 20261124);
const RUNS = Number(process.env.EW_RUNS ?? 1000);
const MAX_LINE = 300;

type LineKind = 'plain' | 'crlf' | 'blank' | 'long';
type Op =
  | { t: 'append'; kinds: LineKind[] }
  | { t: 'partial' }
  | { t: 'rename' }
  | { t: 'copytruncate' }
  | { t: 'delete' }
  | { t: 'step'; budget: number }
  | { t: 'commit' }
  | { t: 'crash' }
  | { t: 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('append' as const), kinds: fc.array(fc.constantFrom<LineKind>('plain', 'plain', 'plain', 'crlf', 'blank', 'long'), { minLength: 1, maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'partial' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'rename' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'copytruncate' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'delete' as const }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('step' as const), budget: fc.integer({ min: 1, max: 2048 }) }) },
  { weight: 3, arbitrary: fc.constant({ t: 'commit' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'crash' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
);

interface ModelFile {
  path: string;
  ids: number[];
  /** Lines over the cap (rejected as too_long). */
  longs: number;
  /** Some of its lines may be lost for a documented reason: they must be counted at most once. */
  risky: boolean;
  opened: boolean;
  durable: boolean;
}

interface Expect {
  /** id -> must be counted exactly once (true) or at most once (false). */
  ids: Map<number, boolean>;
  longSure: number;
  longRisky: number;
}

function lineText(id: number, kind: LineKind): string {
  const base = `{"ts":${1_767_225_600_000 + id},"prediction":"p","features":{"id":"i${id}"}`;
  if (kind === 'long') return base + `,"pad":"${'x'.repeat(MAX_LINE)}"}`;
  return base + '}';
}

interface Scenario {
  /** broad: the glob also matches rotated names (app.log*), so rotated files stay discoverable. */
  broad: boolean;
  /** Close idle files after this long (1 ms: at every step, to exercise close and reopen). */
  idleCloseMs: number;
  ops: Op[];
}

async function runScenario({ broad, idleCloseMs, ops }: Scenario): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-model-'));
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  const live = path.join(logs, 'app.log');
  const glob = path.join(logs, broad ? 'app.log*' : '*.log');
  const config = testConfig(
    path.join(dir, 'data'),
    [testModel({ logs: [glob], max_line_bytes: MAX_LINE, categorical_cap: 100_000 })],
    { idle_close_ms: idleCloseMs },
  );
  let agent: Agent | null = null;
  let nextId = 0;
  let renames = 0;
  const w: { current: ModelFile | null; partial: { id: number; rest: string } | null } = { current: null, partial: null };
  const files: ModelFile[] = [];
  const ensureAgent = (): Agent => {
    if (!agent) {
      agent = Agent.open(config);
      // A new agent reopens what is at the watched path and what it committed a checkpoint for.
      for (const f of files) f.opened = f.durable && fs.existsSync(f.path);
    }
    return agent;
  };
  const write = (text: string) => fs.appendFileSync(live, text);
  const ensureFile = (): ModelFile => {
    if (!w.current) {
      w.current = { path: live, ids: [], longs: 0, risky: false, opened: false, durable: false };
      files.push(w.current);
      fs.writeFileSync(live, '');
    }
    return w.current;
  };

  try {
    for (const op of ops) {
      switch (op.t) {
        case 'append': {
          const f = ensureFile();
          if (w.partial) {
            write(w.partial.rest + '\n');
            f.ids.push(w.partial.id);
            w.partial = null;
          }
          let text = '';
          for (const kind of op.kinds) {
            if (kind === 'blank') {
              text += '  \n';
              continue;
            }
            const id = nextId++;
            text += lineText(id, kind) + (kind === 'crlf' ? '\r\n' : '\n');
            if (kind === 'long') f.longs++;
            else f.ids.push(id);
          }
          write(text);
          break;
        }
        case 'partial': {
          const f = ensureFile();
          if (w.partial) {
            write(w.partial.rest + '\n');
            f.ids.push(w.partial.id);
          }
          const id = nextId++;
          const text = lineText(id, 'plain');
          const cut = 1 + (id % (text.length - 1));
          write(text.slice(0, cut));
          w.partial = { id, rest: text.slice(cut) };
          break;
        }
        case 'rename': {
          if (!w.current) break;
          if (w.partial) {
            write(w.partial.rest + '\n');
            w.current.ids.push(w.partial.id);
            w.partial = null;
          }
          const to = path.join(logs, `app.log.${++renames}`);
          fs.renameSync(live, to);
          w.current.path = to;
          if (!broad && !w.current.opened && !w.current.durable) w.current.risky = true;
          w.current = null;
          break;
        }
        case 'copytruncate': {
          if (!w.current) break;
          fs.copyFileSync(live, path.join(logs, `copy-${++renames}.bak`));
          fs.truncateSync(live, 0);
          // The documented gap: what was in the file and not yet read may be lost (never doubled).
          const old: ModelFile = { ...w.current, path: '', risky: true, opened: false, durable: false };
          files.push(old);
          w.current.ids = [];
          w.current.longs = 0;
          w.partial = null;
          break;
        }
        case 'delete': {
          if (!w.current) break;
          fs.rmSync(live);
          w.current.risky = true;
          w.current.path = '';
          w.current = null;
          w.partial = null;
          break;
        }
        case 'step': {
          const a = ensureAgent();
          a.step(op.budget, true);
          if (w.current) w.current.opened = true;
          break;
        }
        case 'commit':
          ensureAgent().commit();
          for (const f of files) if (f.opened) f.durable = true;
          break;
        case 'crash':
          if (agent) {
            (agent as Agent).abandon();
            agent = null;
            for (const f of files) {
              if (!broad && f !== w.current && !f.durable) f.risky = true;
              f.opened = false;
            }
          }
          break;
        case 'restart':
          if (agent) {
            (agent as Agent).shutdown();
            agent = null;
            for (const f of files) if (f.opened) f.durable = true;
          }
          break;
      }
    }
    const a = ensureAgent();
    a.ingestAvailable();
    a.shutdown({ closeWindows: true });
    agent = null;

    const expected: Expect = { ids: new Map(), longSure: 0, longRisky: 0 };
    for (const f of files) for (const id of f.ids) expected.ids.set(id, !f.risky);
    for (const f of files) {
      if (f.risky) expected.longRisky += f.longs;
      else expected.longSure += f.longs;
    }
    checkCounts(config.data_dir, expected);
  } finally {
    if (agent) (agent as Agent).abandon();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function checkCounts(dataDir: string, expected: Expect): void {
  const store = AgentStore.openForReading(dataDir);
  try {
    const seen = new Map<number, number>();
    let windowsAccepted = 0;
    for (const win of store.closedWindows('fraud')) {
      const json = WindowProfile.decode(win.profile).toJSON();
      windowsAccepted += json.count;
      const f = json.features['id'];
      if (!f || f.type !== 'categorical') continue;
      expect(f.other).toBe(0);
      for (const [v, n] of Object.entries(f.values)) seen.set(Number(v.slice(1)), n);
    }
    const counters = store.loadCounters('fraud');
    const accepted = counters?.accepted ?? 0;
    expect(windowsAccepted).toBe(accepted);
    for (const [id, n] of seen) {
      const sure = expected.ids.get(id);
      if (sure === undefined) throw new Error(`line ${id} counted but never completed`);
      expect(n, `line ${id}`).toBeLessThanOrEqual(1);
    }
    for (const [id, sure] of expected.ids) {
      if (sure) expect(seen.get(id), `line ${id} must be counted exactly once`).toBe(1);
    }
    const tooLong = counters?.rejectedByReason['too_long'] ?? 0;
    expect(tooLong).toBeGreaterThanOrEqual(expected.longSure);
    expect(tooLong).toBeLessThanOrEqual(expected.longSure + expected.longRisky);
    expect(counters?.rejected ?? 0).toBe(tooLong);
  } finally {
    store.close();
  }
}

describe('tailing through the agent, against a model', () => {
  it(`counts every complete line exactly once (${RUNS} runs, seed ${SEED})`, async () => {
    const scenario = fc.record({
      broad: fc.boolean(),
      idleCloseMs: fc.constantFrom(1, 300_000),
      ops: fc.array(opArb, { minLength: 1, maxLength: 30 }),
    });
    await fc.assert(fc.asyncProperty(scenario, runScenario), {
      numRuns: RUNS,
      seed: SEED,
      endOnFailure: true,
    });
  }, 300_000);
});
