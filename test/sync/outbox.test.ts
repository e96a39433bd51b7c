// The outbox: seqs that never repeat, removal on delivery, and a bounded size whose losses arrive as
// one gap message with the exact seq range, windows and records.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentStore, type OutboxEntry } from '../../agent/store/index.js';
import { decodeBody } from '../../agent/wire/index.js';

const dirs: string[] = [];
function tmpStore(): AgentStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-outbox-'));
  dirs.push(dir);
  return AgentStore.openForWriting(dir, 'dev-1');
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A summary-like entry of about `size` bytes for window i. */
function entry(i: number, size = 1000, records = 100): OutboxEntry {
  return {
    kind: 'alert',
    body: new Uint8Array(size).fill(i % 256),
    enc: null,
    records,
    windowStart: i * 60_000,
    windowEnd: (i + 1) * 60_000,
  };
}

function commit(store: AgentStore, entries: OutboxEntry[], maxBytes: number, now = 1): void {
  store.commit([], now, [], { entries, maxBytes, trimmedExamples: 0, splitSummaries: 0 });
}

describe('outbox', () => {
  it('gives seqs that rise by one and are never reused, even after the newest is removed', () => {
    const store = tmpStore();
    commit(store, [entry(0), entry(1)], 1 << 20);
    expect(store.outbox.all().map((m) => m.seq)).toEqual([1, 2]);
    expect(store.outbox.remove([2])).toBe(1);
    commit(store, [entry(2)], 1 << 20);
    expect(store.outbox.all().map((m) => m.seq)).toEqual([1, 3]);
    const dir = path.dirname(store.file);
    store.close();
    const again = AgentStore.openForWriting(dir, 'dev-1');
    commit(again, [entry(3)], 1 << 20);
    expect(again.outbox.all().map((m) => m.seq)).toEqual([1, 3, 4]);
    expect(again.outbox.stats()).toMatchObject({ messages: 3, bytes: 3000, delivered: 1, nextSeq: 5 });
    again.close();
  });

  it('drops the oldest when full and says so in one gap message with the exact range', () => {
    const store = tmpStore();
    const cap = 10_000;
    const dataSeqs: number[] = [];
    for (let i = 0; i < 25; i++) {
      const next = store.outbox.stats().nextSeq;
      commit(store, [entry(i)], cap);
      dataSeqs.push(next);
    }
    const left = store.outbox.all();
    const gaps = left.filter((m) => m.kind === 'gap');
    expect(gaps).toHaveLength(1);
    const gap = decodeBody('gap', gaps[0]!.body);
    if (!gap.ok || gap.value.kind !== 'gap') throw new Error('gap did not decode');
    const g = gap.value.body;
    const kept = new Set(left.filter((m) => m.kind !== 'gap').map((m) => m.seq));
    const lost = dataSeqs.filter((s) => !kept.has(s));
    // The range holds every lost data seq and no kept one.
    expect(g.from_seq).toBe(Math.min(...lost));
    expect(g.to_seq).toBe(Math.max(...lost));
    for (const s of kept) expect(s > g.to_seq || s < g.from_seq).toBe(true);
    expect(g.messages).toBe(lost.length);
    expect(g.records).toBe(lost.length * 100);
    const lostWindows = lost.map((s) => dataSeqs.indexOf(s));
    expect(g.windows_from).toBe(Math.min(...lostWindows) * 60_000);
    expect(g.windows_to).toBe((Math.max(...lostWindows) + 1) * 60_000);
    expect(store.outbox.bytes).toBeLessThanOrEqual(cap);
    expect(store.outbox.stats()).toMatchObject({ droppedMessages: lost.length, droppedRecords: lost.length * 100, messages: left.length });
    // The gap is the newest message: it goes out after what is left of the backlog... and seqs rise.
    expect(gaps[0]!.seq).toBe(Math.max(...left.map((m) => m.seq)));
    store.close();
  });

  it('counts what was dropped exactly across many overflows of different sizes', () => {
    const store = tmpStore();
    const records = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const next = store.outbox.stats().nextSeq;
      commit(store, [entry(i, 700 + (i % 7) * 50, i)], 20_000);
      records.set(next, i);
    }
    const left = store.outbox.all();
    const gapRows = left.filter((m) => m.kind === 'gap');
    expect(gapRows).toHaveLength(1);
    const g = decodeBody('gap', gapRows[0]!.body);
    if (!g.ok || g.value.kind !== 'gap') throw new Error('gap did not decode');
    const kept = new Set(left.map((m) => m.seq));
    let lostRecords = 0;
    let lostMessages = 0;
    for (const [seq, n] of records) {
      if (kept.has(seq)) continue;
      lostMessages++;
      lostRecords += n;
      expect(seq).toBeGreaterThanOrEqual(g.value.body.from_seq);
      expect(seq).toBeLessThanOrEqual(g.value.body.to_seq);
    }
    expect(g.value.body.messages).toBe(lostMessages);
    expect(g.value.body.records).toBe(lostRecords);
    expect(store.outbox.stats()).toMatchObject({ droppedMessages: lostMessages, droppedRecords: lostRecords });
    expect(store.outbox.bytes).toBeLessThanOrEqual(20_000);
    store.close();
  });
});
