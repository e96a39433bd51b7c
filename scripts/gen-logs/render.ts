// Turns a record into a JSONL or CSV line, and builds the malformed lines: each is made so that the
// agent's parser must reject it with the reason it is tagged with.

import type { RejectReason } from '../../agent/records/types.js';
import { num4, type Plan } from './plan.js';
import { drawRecord, type Rec } from './record.js';
import type { Rng } from './rng.js';

/** Raw replacements used to build bad lines; prediction null drops the field. */
export interface Patch {
  ts?: string;
  model?: string;
  prediction?: string | null;
  latency?: string;
  error?: string;
  extra?: string;
}
export const NO_PATCH: Patch = {};

function jsonLine(p: Plan, r: Rec, patch: Patch): string {
  let s = `{"ts": ${patch.ts ?? `"${r.ts}"`}, "model": ${patch.model ?? p.modelTok}, "model_version": ${r.version}, "request_id": "${r.requestId}", "features": {`;
  let keys = p.keys;
  for (let j = 0; j < r.feats.length; j++) {
    const v = r.feats[j];
    if (v === undefined) continue;
    s += keys[j]! + v;
    keys = p.sepKeys;
  }
  s += '}';
  const prediction = patch.prediction === undefined ? r.prediction : patch.prediction;
  if (prediction !== null) s += `, "prediction": ${prediction}`;
  if (r.confidence !== null) s += `, "confidence": ${r.confidence}`;
  if (r.probs !== null) {
    s += ', "probabilities": {';
    for (let k = 0; k < r.probs.length; k++) s += (k === 0 ? '' : ', ') + p.classKeys[k]! + r.probs[k]!;
    s += '}';
  }
  if (r.label !== null) s += `, "label": ${r.label}`;
  s += `, "latency_ms": ${patch.latency ?? r.latency}, "status": ${r.status}`;
  if (r.error !== null) s += `, "error": ${r.error}`;
  if (patch.extra !== undefined) s += `, ${patch.extra}`;
  return s + '}';
}

function csvCells(p: Plan, r: Rec, patch: Patch): string[] {
  const cells = [patch.ts ?? r.ts, patch.model ?? p.modelTok, r.version, r.requestId];
  for (const v of r.feats) cells.push(v ?? '');
  const prediction = patch.prediction === undefined ? r.prediction : patch.prediction;
  cells.push(prediction ?? '', r.confidence ?? '', r.label ?? '', patch.latency ?? r.latency, r.status, patch.error ?? r.error ?? '');
  return cells;
}

export function render(p: Plan, r: Rec, patch: Patch): string {
  return p.o.format === 'jsonl' ? jsonLine(p, r, patch) : csvCells(p, r, patch).join(',');
}

export function badLine(p: Plan, rng: Rng, k: number, reason: RejectReason, i: number, tsMs: number): string {
  if (reason === 'not_object') {
    const variant = k % 3;
    if (variant === 0) return `[${rng.int(10)}, ${rng.int(10)}, ${rng.int(10)}]`;
    return variant === 1 ? num4(1000 * rng.next()) : '"prediction served"';
  }
  const r = drawRecord(p, rng, i, tsMs, `${reason === 'too_long' ? 'r-long' : 'r-bad'}-${k}`);
  switch (reason) {
    case 'unparseable': {
      const full = jsonLine(p, r, NO_PATCH);
      return full.slice(0, 10 + rng.int(full.length - 12));
    }
    case 'missing_field':
      return render(p, r, { prediction: null });
    case 'wrong_type':
      return render(p, r, { latency: p.enc('fast') });
    case 'non_finite':
      // The bare token, as Python's json.dumps writes float('nan').
      return render(p, r, { prediction: 'NaN' });
    case 'bad_timestamp':
      return render(p, r, { ts: p.enc('yesterday') });
    case 'unknown_model':
      return render(p, r, { model: p.otherModelTok });
    case 'csv_columns': {
      const cells = csvCells(p, r, NO_PATCH);
      if (k % 2 === 0) cells.push('surplus');
      else cells.length -= 2;
      return cells.join(',');
    }
    case 'too_long': {
      // Exactly one byte over the cap, so the cap is exceeded whether or not a parser counts the newline.
      const build = (pad: string) =>
        p.o.format === 'jsonl' ? jsonLine(p, r, { extra: `"debug": "${pad}"` }) : csvCells(p, r, { error: pad }).join(',');
      return build('x'.repeat(Math.max(0, p.o.longLineBytes + 1 - Buffer.byteLength(build('')))));
    }
  }
}
