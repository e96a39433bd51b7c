// The line sequence: good records in event-time order, with bad, blank, long and CRLF lines mixed in
// from their own random stream, so the good records never depend on those rates.

import type { RejectReason } from '../../agent/records/types.js';
import { malformedKindsFor, resolveOptions, type GenOptions } from './options.js';
import { buildPlan, type Plan } from './plan.js';
import { drawRecord } from './record.js';
import { NO_PATCH, badLine, render } from './render.js';
import { Rng, streamSeed } from './rng.js';

export interface GenLine {
  /** The line without its ending. */
  text: string;
  kind: 'good' | 'bad' | 'blank' | 'header';
  /** Set on bad lines: what the agent's parser must answer. */
  reason?: RejectReason;
  /** Event time written on a good line, epoch ms. */
  ts?: number;
  eol: '\n' | '\r\n';
}

/** Lazily yields the lines; options are validated at the call, before the first line. */
export function generateLines(opts: GenOptions = {}): Generator<GenLine> {
  return lines(buildPlan(resolveOptions(opts)));
}

function* lines(p: Plan): Generator<GenLine> {
  const o = p.o;
  const recRng = new Rng(streamSeed(o.seed, 0));
  const lineRng = new Rng(streamSeed(o.seed, 1));
  const kinds = o.malformedKinds ?? malformedKindsFor(o.format, o.task);
  const eol = (): '\n' | '\r\n' => (o.crlfRate > 0 && lineRng.next() < o.crlfRate ? '\r\n' : '\n');
  const longAt = (k: number) => Math.floor(((k + 1) * o.records) / (o.longLines + 1));
  const step = 1000 / o.rate;
  if (o.format === 'csv') yield { text: p.header, kind: 'header', eol: eol() };
  let t = p.startMs;
  let bad = 0;
  let long = 0;
  for (let i = 0; i <= o.records; ) {
    for (; long < o.longLines && (longAt(long) <= i || i === o.records); long++) {
      yield { text: badLine(p, lineRng, long, 'too_long', i, Math.floor(t)), kind: 'bad', reason: 'too_long', eol: eol() };
    }
    if (i === o.records) break;
    const u = lineRng.next();
    if (u < o.blankRate) {
      yield { text: '', kind: 'blank', eol: eol() };
      continue;
    }
    if (u < o.blankRate + o.malformedRate) {
      const reason = kinds[bad % kinds.length] ?? 'unparseable';
      yield { text: badLine(p, lineRng, bad++, reason, i, Math.floor(t)), kind: 'bad', reason, eol: eol() };
      continue;
    }
    if (i > 0) t = o.arrivals === 'even' ? p.startMs + i * step : t - step * Math.log(1 - recRng.next());
    let ts = Math.floor(t);
    // Only backwards: a line is never later than its true time, so no line is more than the jitter late.
    if (o.outOfOrderRate > 0 && recRng.next() < o.outOfOrderRate) ts = Math.max(p.startMs, Math.floor(t - recRng.next() * o.outOfOrderJitterMs));
    const rec = drawRecord(p, recRng, i, ts, `r-${i}`);
    yield { text: render(p, rec, NO_PATCH), kind: 'good', ts, eol: eol() };
    i++;
  }
}
