// `edgewatch-agent export`: the outbox into a bundle file for a site with no link (docs/sync.md).
// The bundle is written to a temporary name, flushed to disk and renamed, so a full disk or a pulled
// stick never leaves a half bundle under the real name; only then, with --mark-sent, are its
// messages removed from the outbox. Runs beside a running agent (SQLite serialises the writes).
import fs from 'node:fs';
import path from 'node:path';
import type { AgentConfig } from '../config/types.js';
import { AgentError } from '../errors.js';
import { AgentStore } from '../store/index.js';
import { encodeEnvelope, WIRE_VERSION, writeBundle } from '../wire/index.js';

export interface ExportResult {
  file: string;
  messages: number;
  bytes: number;
  from_seq: number | null;
  to_seq: number | null;
  signed: boolean;
  marked_sent: number;
}

export function exportBundle(config: AgentConfig, out: string, opts: { markSent: boolean; now?: number }): ExportResult {
  const now = opts.now ?? Date.now();
  const store = AgentStore.openShared(config.data_dir);
  try {
    const waiting = store.outbox.all();
    const { device } = config;
    const messages = waiting.map((m) => ({
      seq: m.seq,
      bytes: encodeEnvelope({ v: WIRE_VERSION, device: device.id, site: device.site, seq: m.seq, kind: m.kind, sent_at: now, body: m.body, ...(m.enc === null ? {} : { enc: m.enc }) }),
    }));
    const bundle = writeBundle({ device: device.id, site: device.site, createdAt: now, messages, hmacKey: config.sync.hmac_key });
    writeDurably(out, bundle);
    const marked = opts.markSent ? store.outbox.remove(waiting.map((m) => m.seq)) : 0;
    return {
      file: out,
      messages: messages.length,
      bytes: bundle.length,
      from_seq: waiting[0]?.seq ?? null,
      to_seq: waiting.at(-1)?.seq ?? null,
      signed: config.sync.hmac_key !== null,
      marked_sent: marked,
    };
  } finally {
    store.close();
  }
}

function writeDurably(file: string, data: Buffer): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    // The rename itself is durable once the folder is flushed.
    const dir = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new AgentError('EW_ERR_BUNDLE', `could not write the bundle ${file}: ${(err as Error).message}`);
  }
}
