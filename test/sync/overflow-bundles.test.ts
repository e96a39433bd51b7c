// What a device that is offline for weeks, or never online, sends: an outbox that overflows
// arrives with a gap naming exactly the seqs lost; bundles carried by hand import once, refuse
// damage and the wrong key, and mix with MQTT without duplicates.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main as agentMain } from '../../agent/cli/main.js';
import { main as collectorMain } from '../../collector/cli/main.js';
import { Agent } from '../../agent/runtime/index.js';
import { WindowProfile } from '../../agent/profile/index.js';
import { CollectorStore } from '../../collector/store/index.js';
import { AgentStore } from '../../agent/store/index.js';
import { decodeBody } from '../../agent/wire/index.js';
import { Link } from '../helpers/link.js';
import {
  agentConfig,
  agentWindows,
  collector,
  collectorRows,
  DEVICE,
  expectExactlyOnce,
  InProcessAgent,
  readOutbox,
  storedSeqs,
  summaryCount,
  waitFor,
  writeWindows,
  cleanupAfterEach,
} from './harness.js';

const { cleanups, tmp } = cleanupAfterEach('ew-bundle-');

async function run(main: (argv: string[], io: { out(s: string): void; err(s: string): void }) => Promise<number>, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function writeYaml(file: string, lines: string[]): string {
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Agent and collector YAML in `dir`, the agent in manual mode (bundles only). */
function configs(dir: string, opts: { agentKey?: string; collectorKey?: string; requireHmac?: boolean } = {}) {
  const agent = writeYaml(path.join(dir, 'agent.yaml'), [
    `device: {id: ${DEVICE}, site: lab}`,
    'data_dir: ./agent-data',
    'system: {enabled: false}',
    ...(opts.agentKey ? [`sync: {mode: manual, hmac_key: "${opts.agentKey}"}`] : []),
    'models:',
    '  - name: m',
    '    task: classification',
    '    logs: ["./logs/*.jsonl"]',
    '    window: 60s',
    '    allowed_lateness: 0s',
  ]);
  const col = writeYaml(path.join(dir, 'collector.yaml'), [
    'data_dir: ./collector',
    'http: {listen: null}',
    ...(opts.collectorKey || opts.requireHmac ? [`bundles: {${[opts.collectorKey ? `hmac_key: "${opts.collectorKey}"` : '', opts.requireHmac ? 'require_hmac: true' : ''].filter(Boolean).join(', ')}}`] : []),
  ]);
  return { agent, col, agentData: path.join(dir, 'agent-data'), collectorData: path.join(dir, 'collector') };
}

async function ingestWindows(dir: string, agentYaml: string, from: number, to: number): Promise<void> {
  writeWindows(dir, from, to);
  const r = await run(agentMain, 'run', '--config', agentYaml, '--once');
  expect(r.code, r.err).toBe(0);
}

describe('outbox overflow', () => {
  it('arrives at the collector as a gap with the exact lost seq range, shown by status --json', async () => {
    const dir = tmp();
    const col = await collector({ dataDir: path.join(dir, 'collector') });
    cleanups.push(() => col.close());
    const link = new Link(() => ({ host: '127.0.0.1', port: col.broker!.port }));
    await link.listen();
    cleanups.push(() => link.close());
    link.down();
    const agent = new InProcessAgent(agentConfig(dir, { mode: 'continuous', url: link.url, outbox_max_bytes: 64 * 1024 }));
    cleanups.push(() => agent.halt());
    agent.start();
    // Many more windows than 64 KiB holds.
    writeWindows(dir, 0, 120);
    await waitFor('the outbox to overflow', () => readOutbox(agent.config.data_dir).droppedMessages > 0 && agentWindows(agent.config.data_dir).length === 120);
    // What the agent lost, from its own store, before anything is sent.
    const store = AgentStore.openForReading(agent.config.data_dir);
    const waiting = store.outbox.all();
    const stats = store.outbox.stats();
    store.close();
    const gapRow = waiting.find((m) => m.kind === 'gap');
    expect(gapRow).toBeDefined();
    const gap = decodeBody('gap', gapRow!.body);
    if (!gap.ok || gap.value.kind !== 'gap') throw new Error('gap did not decode');
    const keptSummaries = waiting.filter((m) => m.kind === 'summary').length;
    expect(stats.droppedMessages).toBe(gap.value.body.messages);
    link.up();
    await waitFor('the outbox to drain', () => readOutbox(agent.config.data_dir).messages === 0);
    await agent.halt();
    expect(summaryCount(path.join(dir, 'collector'))).toBe(keptSummaries);
    const colYaml = writeYaml(path.join(dir, 'collector.yaml'), ['data_dir: ./collector', 'http: {listen: null}']);
    const st = await run(collectorMain, 'status', '--config', colYaml, '--json');
    expect(st.code, st.err).toBe(0);
    const status = JSON.parse(st.out) as { gaps: Array<{ device: string; from_seq: number; to_seq: number; records: number }> };
    expect(status.gaps).toEqual([{ device: DEVICE, from_seq: gap.value.body.from_seq, to_seq: gap.value.body.to_seq, records: gap.value.body.records }]);
    // The range is exactly the seqs that never arrived, less the gap messages folded into this one.
    const arrived = new Set(storedSeqs(path.join(dir, 'collector')));
    const missing: number[] = [];
    for (let s = 1; s < readOutbox(agent.config.data_dir).nextSeq; s++) if (!arrived.has(s)) missing.push(s);
    const g = gap.value.body;
    expect(Math.min(...missing)).toBe(g.from_seq);
    expect(missing.filter((s) => s > g.to_seq)).toEqual([]);
    // Records lost = records of the windows that never arrived.
    const got = collectorRows<{ n: number }>(path.join(dir, 'collector'), `SELECT COALESCE(SUM(count), 0) AS n FROM summaries WHERE device = ?`, DEVICE)[0]!.n;
    expect(got + gap.value.body.records).toBe(120 * 20);
  });
});

describe('bundles', () => {
  it('round trip: export, import, exactly once; a second import stores nothing new', async () => {
    const dir = tmp();
    const c = configs(dir, { agentKey: 'site-7-bundle-key-0001', collectorKey: 'site-7-bundle-key-0001' });
    // `run --once` closes the last window too: 13 windows.
    await ingestWindows(dir, c.agent, 0, 12);
    const bundle = path.join(dir, 'out.ewb');
    const ex = await run(agentMain, 'export', '--config', c.agent, '--out', bundle, '--mark-sent');
    expect(ex.code, ex.err).toBe(0);
    expect(ex.out).toMatch(/wrote \d+ messages .*signed.*marked sent/);
    expect(readOutbox(c.agentData).messages).toBe(0);
    const im = await run(collectorMain, 'import', bundle, '--config', c.col);
    expect(im.code, im.err).toBe(0);
    expect(expectExactlyOnce(c.agentData, c.collectorData).windows).toBe(13);
    // Bodies are stored as they came (deflated) and read back as CBOR, each a window profile.
    const store = CollectorStore.open(c.collectorData);
    try {
      const stored = store.summaryBodies(DEVICE, 'm', 0, Number.MAX_SAFE_INTEGER);
      expect(stored).toHaveLength(13);
      expect(collectorRows<{ n: number }>(c.collectorData, `SELECT COUNT(*) AS n FROM summaries WHERE body_enc = 'deflate'`)[0]!.n).toBe(13);
      for (const s of stored) {
        const b = decodeBody('summary', s.body);
        if (!b.ok || b.value.kind !== 'summary') throw new Error(b.ok ? 'not a summary' : b.detail);
        expect(WindowProfile.decode(b.value.body.profile).start).toBe(s.start_ms);
      }
    } finally {
      store.close();
    }
    const again = await run(collectorMain, 'import', bundle, '--config', c.col);
    expect(again.code, again.err).toBe(0);
    const r = expectExactlyOnce(c.agentData, c.collectorData);
    expect(r.duplicates).toBe(storedSeqs(c.collectorData).length);
  });

  it('one corrupted byte anywhere: refused with a clear error, nothing stored', async () => {
    const dir = tmp();
    const c = configs(dir);
    await ingestWindows(dir, c.agent, 0, 5);
    const bundle = path.join(dir, 'out.ewb');
    expect((await run(agentMain, 'export', '--config', c.agent, '--out', bundle)).code).toBe(0);
    const good = fs.readFileSync(bundle);
    for (const at of [3, 20, 40, Math.floor(good.length / 2), good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] = bad[at]! ^ 0x01;
      fs.writeFileSync(bundle, bad);
      const im = await run(collectorMain, 'import', bundle, '--config', c.col);
      expect(im.code, `byte ${at}`).toBe(1);
      expect(im.err).toMatch(/bundle/);
      expect(fs.existsSync(path.join(c.collectorData, 'collector.db')) ? storedSeqs(c.collectorData) : []).toEqual([]);
    }
    // Export without --mark-sent left them in the outbox; the good file still imports.
    expect(readOutbox(c.agentData).messages).toBeGreaterThan(0);
    fs.writeFileSync(bundle, good);
    expect((await run(collectorMain, 'import', bundle, '--config', c.col)).code).toBe(0);
    expect(summaryCount(c.collectorData)).toBe(6);
  });

  it('a wrong HMAC key, a missing key and an unsigned bundle under require_hmac are refused', async () => {
    const dir = tmp();
    const c = configs(dir, { agentKey: 'the-right-key-0123456789', collectorKey: 'the-wrong-key-0123456789' });
    await ingestWindows(dir, c.agent, 0, 3);
    const bundle = path.join(dir, 'out.ewb');
    expect((await run(agentMain, 'export', '--config', c.agent, '--out', bundle)).code).toBe(0);
    const wrong = await run(collectorMain, 'import', bundle, '--config', c.col);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/HMAC|signature/i);
    const noKey = configs(tmp(), {});
    const missing = await run(collectorMain, 'import', bundle, '--config', noKey.col);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/hmac_key/);
    const strict = configs(tmp(), { requireHmac: true, collectorKey: 'the-right-key-0123456789' });
    await ingestWindows(path.dirname(strict.agent), strict.agent, 0, 2);
    const unsigned = path.join(path.dirname(strict.agent), 'unsigned.ewb');
    expect((await run(agentMain, 'export', '--config', strict.agent, '--out', unsigned)).code).toBe(0);
    const refused = await run(collectorMain, 'import', unsigned, '--config', strict.col);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/require_hmac/);
    expect(fs.existsSync(path.join(c.collectorData, 'collector.db')) ? storedSeqs(c.collectorData) : []).toEqual([]);
  });

  it('mixes with MQTT for one device: what went both ways is stored once', async () => {
    const dir = tmp();
    const col = await collector({ dataDir: path.join(dir, 'collector') });
    cleanups.push(() => col.close());
    const cfg = agentConfig(dir, { mode: 'continuous', url: col.mqttUrl.replace('0.0.0.0', '127.0.0.1') });
    // First windows go into a bundle (kept in the outbox: no --mark-sent), then the link comes up.
    writeWindows(dir, 0, 8);
    const offline = Agent.open({ ...cfg, sync: { ...cfg.sync, mode: 'manual' } });
    offline.ingestAvailable();
    offline.shutdown();
    const bundle = path.join(dir, 'out.ewb');
    const agentYaml = writeYaml(path.join(dir, 'agent.yaml'), [
      `device: {id: ${DEVICE}, site: lab}`, `data_dir: ${cfg.data_dir}`, 'models:', '  - {name: m, task: classification, logs: ["./logs/*.jsonl"], window: 60s}',
    ]);
    expect((await run(agentMain, 'export', '--config', agentYaml, '--out', bundle)).code).toBe(0);
    const agent = new InProcessAgent(cfg);
    cleanups.push(() => agent.halt());
    agent.start();
    writeWindows(dir, 9, 15);
    await waitFor('15 windows sent', () => agentWindows(cfg.data_dir).length === 15 && readOutbox(cfg.data_dir).messages === 0);
    await agent.halt();
    const im = col.ingest.importBundle(fs.readFileSync(bundle), { hmacKey: null, requireHmac: false });
    expect(im.duplicates).toBe(im.messages);
    expect(expectExactlyOnce(cfg.data_dir, path.join(dir, 'collector')).windows).toBe(15);
  });
});
