// The publisher outside continuous mode connects only inside a session: a reconnect that was
// waiting when a scheduled session ran out of time must not open a connection afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../agent/log.js';
import { AgentStore } from '../../agent/store/index.js';
import { Publisher } from '../../agent/sync/publisher.js';
import { encodeBody } from '../../agent/wire/index.js';
import { Link } from '../helpers/link.js';
import { DEFAULT_SYNC } from '../helpers/config.js';
import { collector } from './harness.js';

const undo: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const u of undo.splice(0).reverse()) await u();
});

describe('publisher sessions', () => {
  it('does not connect after a scheduled session ended while the link was down', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-pub-'));
    undo.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const col = await collector({ dataDir: path.join(dir, 'collector') });
    undo.push(() => col.close());
    const link = new Link(() => ({ host: '127.0.0.1', port: col.broker!.port }));
    await link.listen();
    undo.push(() => link.close());
    const store = AgentStore.openForWriting(path.join(dir, 'agent'), 'dev-pub');
    undo.push(() => store.close());
    const body = encodeBody({ kind: 'gap', body: { from_seq: 1, to_seq: 1, messages: 1, records: 1, windows_from: null, windows_to: null, reason: 'outbox_full' } });
    store.commit([], 1, [], { entries: [{ kind: 'gap', body, enc: null, records: 0, windowStart: null, windowEnd: null }], maxBytes: 1 << 20, trimmedExamples: 0, splitSummaries: 0 });
    const publisher = new Publisher({
      config: { device: { id: 'dev-pub', site: 'lab' }, sync: { ...DEFAULT_SYNC, mode: 'scheduled', url: link.url, cron: '0 0 1 1 *' } },
      outbox: store.outbox,
      log: silentLogger,
      backoff: { firstMs: 150, capMs: 150 },
    });
    undo.push(() => publisher.stop());
    // Started as the agent starts it: on its schedule (next run months away); sessions run by hand here.
    await publisher.start();
    link.down();
    expect(await publisher.session(400)).toBe(0);
    link.up();
    await sleep(800);
    expect(publisher.stats.connections).toBe(0);
    expect(store.outbox.messages).toBe(1);
    // The next session sends it.
    expect(await publisher.session(5_000)).toBe(1);
    expect(store.outbox.messages).toBe(0);
    expect(publisher.stats.connected).toBe(false);
  });
});
