// Writes the lines to a file or a stream through one reused byte buffer, and tallies what was written
// into the summary the CLI prints.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { REJECT_REASONS, type RejectReason } from '../../agent/records/types.js';
import { generateLines, type GenLine } from './lines.js';
import type { GenOptions } from './options.js';

export interface GenSummary {
  lines: number;
  good: number;
  bad: number;
  blank: number;
  /** 1 for CSV (its header line), else 0; lines = good + bad + blank + header. */
  header: number;
  bad_by_reason: Record<RejectReason, number>;
  /** Earliest and latest event time among good lines (RFC 3339), null when there are none. */
  first_ts: string | null;
  last_ts: string | null;
  bytes: number;
}

class Tally {
  private readonly s: GenSummary = {
    lines: 0, good: 0, bad: 0, blank: 0, header: 0,
    bad_by_reason: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>,
    first_ts: null, last_ts: null, bytes: 0,
  };
  private minTs = Infinity;
  private maxTs = -Infinity;
  add(line: GenLine): void {
    this.s.lines++;
    this.s[line.kind]++;
    if (line.reason !== undefined) this.s.bad_by_reason[line.reason]++;
    if (line.ts !== undefined) {
      this.minTs = Math.min(this.minTs, line.ts);
      this.maxTs = Math.max(this.maxTs, line.ts);
    }
  }
  addBytes(n: number): void {
    this.s.bytes += n;
  }
  summary(): GenSummary {
    const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
    return { ...this.s, bad_by_reason: { ...this.s.bad_by_reason }, first_ts: iso(this.minTs), last_ts: iso(this.maxTs) };
  }
}

/**
 * Encodes lines straight into one reused 2 MiB buffer (a string rope of the same size took half again
 * as long) and yields views of it: a view is valid only until the next one is asked for.
 */
function* byteChunks(lineIter: Iterable<GenLine>, tally: Tally): Generator<Buffer> {
  const buf = Buffer.allocUnsafe(2 << 20);
  let off = 0;
  for (const line of lineIter) {
    tally.add(line);
    // 3 bytes per UTF-16 unit is the worst case, so a write that fits this bound is never cut short.
    const worst = 3 * (line.text.length + 2);
    if (off + worst > buf.length && off > 0) {
      yield buf.subarray(0, off);
      off = 0;
    }
    if (worst > buf.length) yield Buffer.from(line.text + line.eol);
    else {
      off += buf.write(line.text, off);
      off += buf.write(line.eol, off);
    }
  }
  if (off > 0) yield buf.subarray(0, off);
}

/** Writes (truncating; parent folders made) the file synchronously and returns what was written. */
export function writeLogFile(path: string, opts: GenOptions = {}): GenSummary {
  const lineIter = generateLines(opts);
  const tally = new Tally();
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    for (const chunk of byteChunks(lineIter, tally)) {
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      tally.addBytes(chunk.length);
    }
  } finally {
    closeSync(fd);
  }
  return tally.summary();
}

/** Writes to a stream (stdout, a socket), waiting for 'drain' so memory stays bounded. */
export async function writeLogStream(out: NodeJS.WritableStream, opts: GenOptions = {}): Promise<GenSummary> {
  const lineIter = generateLines(opts);
  const tally = new Tally();
  for (const chunk of byteChunks(lineIter, tally)) {
    tally.addBytes(chunk.length);
    // The stream keeps what it is given until flushed, and the view is about to be overwritten.
    if (!out.write(Buffer.from(chunk))) await once(out, 'drain');
  }
  return tally.summary();
}
