// The sync scenarios, run against each broker (e2e-embedded.test.ts, e2e-mosquitto.test.ts):
// agent -> link -> broker -> collector store, under the failures a real link and real processes
// see. After each, every summary is in the collector's store exactly once.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Mosquitto } from '../helpers/mosquitto.js';
import type { RunningCollector } from '../../collector/cli/run.js';
import { Link } from '../helpers/link.js';
import {
  agentConfig,
  collector,
  expectExactlyOnce,
  InProcessAgent,
  readOutbox,
  storedSeqs,
  summaryCount,
  waitFor,
  writeWindows,
  cleanupAfterEach,
} from './harness.js';

const { cleanups, tmp } = cleanupAfterEach('ew-e2e-');

export type BrokerKind = 'embedded' | 'mosquitto';

interface Setup {
  dir: string;
  collectorDir: string;
  link: Link;
  agent: InProcessAgent;
  readonly col: RunningCollector;
  /** Stops the broker, runs `meanwhile`, starts it again on the same port. */
  restartBroker(pauseMs: number, meanwhile?: () => void): Promise<void>;
  /** Stops the collector, runs `meanwhile`, starts it again with the same store. */
  restartCollector(pauseMs: number, meanwhile?: () => void): Promise<void>;
}

async function setup(kind: BrokerKind, sync: Parameters<typeof agentConfig>[1] = {}): Promise<Setup> {
  const dir = tmp();
  const collectorDir = path.join(dir, 'collector');
  let mosquitto: Mosquitto | null = null;
  if (kind === 'mosquitto') {
    mosquitto = new Mosquitto(path.join(dir, 'mosquitto'));
    await mosquitto.start();
    const m = mosquitto;
    cleanups.push(() => m.stop());
  }
  const start = (port?: number) =>
    collector(mosquitto === null ? { dataDir: collectorDir, ...(port === undefined ? {} : { port }) } : { dataDir: collectorDir, brokerUrl: mosquitto.url });
  let col: RunningCollector = await start();
  cleanups.push(() => col.close());
  const port = mosquitto?.port ?? col.broker!.port;
  const link = new Link(() => ({ host: '127.0.0.1', port }));
  await link.listen();
  cleanups.push(() => link.close());
  const agent = new InProcessAgent(agentConfig(dir, { mode: 'continuous', url: link.url, ...sync }));
  cleanups.push(() => agent.halt());
  const restartCollector = async (pauseMs: number, meanwhile: () => void = () => {}) => {
    await col.close();
    meanwhile();
    await sleep(pauseMs);
    col = await start(mosquitto === null ? port : undefined);
  };
  return {
    dir,
    collectorDir,
    link,
    agent,
    get col() {
      return col;
    },
    restartCollector,
    async restartBroker(pauseMs: number, meanwhile: () => void = () => {}) {
      if (mosquitto === null) return restartCollector(pauseMs, meanwhile);
      await mosquitto.stop();
      meanwhile();
      await sleep(pauseMs);
      await mosquitto.start();
    },
  };
}

export function syncScenarios(kind: BrokerKind): void {
describe(`sync through ${kind === 'embedded' ? "the collector's embedded broker" : 'Mosquitto'}`, () => {
  it('delivers every summary once in steady operation', async () => {
    const s = await setup(kind);
    s.agent.start();
    writeWindows(s.dir, 0, 30);
    await waitFor('30 summaries', () => summaryCount(s.collectorDir) >= 30);
    await waitFor('the outbox to drain', () => readOutbox(s.agent.config.data_dir).messages === 0);
    await s.agent.halt();
    const r = expectExactlyOnce(s.agent.config.data_dir, s.collectorDir);
    expect(r.windows).toBe(30);
    // The device shows up online while connected, offline after a clean stop. The agent's last
    // status reaches the collector through the broker after halt() returns (through Mosquitto, the
    // broker's acknowledgement is all the agent waits for): wait for it.
    await waitFor('the offline status', () => s.col.store.device('dev-e2e')?.online === false);
    const dev = s.col.store.device('dev-e2e');
    expect(dev?.sync).toEqual({ mode: 'continuous', cron: null });
    // device.tags of the agent config travel in its status message.
    expect(dev?.tags).toEqual(['e2e']);
  });

  it('loses and doubles nothing when the broker restarts mid-stream', async () => {
    const s = await setup(kind);
    s.agent.start();
    writeWindows(s.dir, 0, 40);
    await waitFor('some summaries', () => summaryCount(s.collectorDir) >= 5);
    // Windows close while it is down: they wait in the outbox and go when it is back.
    await s.restartBroker(300, () => writeWindows(s.dir, 41, 60));
    writeWindows(s.dir, 61, 80);
    await waitFor('80 summaries', () => summaryCount(s.collectorDir) >= 80);
    await waitFor('the outbox to drain', () => readOutbox(s.agent.config.data_dir).messages === 0);
    await s.agent.halt();
    expect(expectExactlyOnce(s.agent.config.data_dir, s.collectorDir).windows).toBe(80);
  });

  it('loses and doubles nothing when the collector restarts mid-stream', async () => {
    const s = await setup(kind);
    s.agent.start();
    writeWindows(s.dir, 0, 40);
    await waitFor('some summaries', () => summaryCount(s.collectorDir) >= 5);
    await s.restartCollector(300, () => writeWindows(s.dir, 41, 60));
    writeWindows(s.dir, 61, 80);
    await waitFor('80 summaries', () => summaryCount(s.collectorDir) >= 80);
    await waitFor('the outbox to drain', () => readOutbox(s.agent.config.data_dir).messages === 0);
    await s.agent.halt();
    expect(expectExactlyOnce(s.agent.config.data_dir, s.collectorDir).windows).toBe(80);
  });

  it('keeps 100 windows while the broker is unreachable, then delivers them once', async () => {
    const s = await setup(kind);
    s.link.down();
    s.agent.start();
    writeWindows(s.dir, 0, 100);
    await waitFor('100 windows in the outbox', () => readOutbox(s.agent.config.data_dir).messages >= 100);
    await sleep(500);
    expect(storedSeqs(s.collectorDir)).toEqual([]);
    s.link.up();
    await waitFor('100 summaries', () => summaryCount(s.collectorDir) >= 100);
    await waitFor('the outbox to drain', () => readOutbox(s.agent.config.data_dir).messages === 0);
    await s.agent.halt();
    expect(expectExactlyOnce(s.agent.config.data_dir, s.collectorDir).windows).toBe(100);
  });

  it('resends what was in flight when the link dropped before the PUBACKs came back', async () => {
    const s = await setup(kind);
    s.agent.start();
    await waitFor('the agent to connect', () => s.agent.agent?.syncStats?.connected === true);
    s.link.hold(true);
    writeWindows(s.dir, 0, 30);
    // The collector has them (committed before its PUBACK), the agent has heard nothing back.
    await waitFor('the collector to store 30 summaries', () => summaryCount(s.collectorDir) >= 30);
    expect(readOutbox(s.agent.config.data_dir).messages).toBeGreaterThanOrEqual(30);
    s.link.down();
    s.link.hold(false);
    await sleep(200);
    s.link.up();
    await waitFor('the outbox to drain', () => readOutbox(s.agent.config.data_dir).messages === 0);
    await s.agent.halt();
    const r = expectExactlyOnce(s.agent.config.data_dir, s.collectorDir);
    expect(r.windows).toBe(30);
    // They were sent again, and the collector dropped the repeats.
    expect(r.duplicates).toBeGreaterThanOrEqual(30);
  });
});

describe(`sync through ${kind === 'embedded' ? "the collector's embedded broker" : 'Mosquitto'}, agent process`, () => {
  it('loses and doubles nothing when the agent is SIGKILLed between publish and PUBACK', async () => {
    const s = await setup(kind);
    const configFile = path.join(s.dir, 'agent.yaml');
    fs.writeFileSync(configFile, agentYaml(s.dir, s.link.url));
    buildAgent();
    // First life: connected, then the PUBACKs are held back while summaries go out.
    let child = spawnAgent(configFile);
    await waitFor('the agent to say online', () => s.col.store.device('dev-e2e')?.online === true);
    s.link.hold(true);
    writeWindows(s.dir, 0, 25);
    await waitFor('the collector to store 25 summaries', () => summaryCount(s.collectorDir) >= 25);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // Its last will says offline (the broker publishes it when the dead agent's connection drops).
    s.link.hold(false);
    await waitFor('the last will to mark the device offline', () => s.col.store.device('dev-e2e')?.online === false);
    expect(readOutbox(path.join(s.dir, 'agent-data')).messages).toBeGreaterThanOrEqual(25);
    s.link.down();
    s.link.up();
    // Second life: the outbox goes again; the collector drops the repeats.
    writeWindows(s.dir, 26, 40);
    child = spawnAgent(configFile);
    await waitFor('the outbox to drain', () => readOutbox(path.join(s.dir, 'agent-data')).messages === 0);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    const r = expectExactlyOnce(path.join(s.dir, 'agent-data'), s.collectorDir);
    expect(r.windows).toBe(40);
    expect(r.duplicates).toBeGreaterThanOrEqual(25);
  }, 60_000);

  it('delivers everything once on a schedule whose link is up only for short spells', async () => {
    const s = await setup(kind, { mode: 'scheduled', cron: '* * * * * *', max_duration_ms: 700 });
    s.link.down();
    s.agent.start();
    let spells = 0;
    for (let batch = 0; batch < 6; batch++) {
      writeWindows(s.dir, batch * 10, batch * 10 + 10);
      // Down most of the time; up for a spell shorter than a session.
      await sleep(900);
      s.link.up();
      spells++;
      await sleep(400);
      s.link.down();
    }
    // The spells carried summaries already, each session cut short or ended when drained.
    expect(summaryCount(s.collectorDir)).toBeGreaterThan(0);
    s.link.up();
    await waitFor('the outbox to drain', () => readOutbox(s.agent.config.data_dir).messages === 0, 30_000);
    await s.agent.halt();
    const r = expectExactlyOnce(s.agent.config.data_dir, s.collectorDir);
    expect(r.windows).toBe(60);
    expect(spells).toBe(6);
    // Scheduled sessions end with a clean disconnect: the device is offline between them, as planned.
    expect(s.col.store.device('dev-e2e')?.sync).toEqual({ mode: 'scheduled', cron: '* * * * * *' });
  }, 60_000);
});

}

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

function buildAgent(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'ignore' });
}

function spawnAgent(configFile: string): ChildProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/edgewatch-agent.js'), 'run', '--config', configFile, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return child;
}

function agentYaml(dir: string, url: string): string {
  return [
    'device: {id: dev-e2e, site: lab}',
    'data_dir: ./agent-data',
    'system: {enabled: false}',
    'ingest: {poll_interval: 20ms, commit_interval: 50ms}',
    `sync: {mode: continuous, url: "${url}"}`,
    'models:',
    '  - name: m',
    '    task: classification',
    '    logs: ["./logs/*.jsonl"]',
    '    window: 60s',
    '    allowed_lateness: 0s',
  ].join('\n') + '\n';
}
