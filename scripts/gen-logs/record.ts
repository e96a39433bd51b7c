// Draws one good record: feature values (with missing values and drift), the hidden model's prediction,
// label, latency and status, each already encoded for the output format.

import { ERRORS, isoTime, num4, type Plan } from './plan.js';
import type { Rng } from './rng.js';

/** One record, its fields already encoded for the output format (JSON tokens or CSV cells). */
export interface Rec {
  ts: string;
  version: string;
  requestId: string;
  /** undefined: key absent (JSONL) / empty cell (CSV). */
  feats: (string | undefined)[];
  prediction: string;
  confidence: string | null;
  probs: string[] | null;
  label: string | null;
  latency: string;
  status: string;
  error: string | null;
}

function pick(cum: number[], u: number): number {
  let k = 0;
  while (k < cum.length - 1 && u >= (cum[k] ?? 1)) k++;
  return k;
}

export function drawRecord(p: Plan, rng: Rng, i: number, tsMs: number, requestId: string): Rec {
  const { o, data, z, catIdx, scores } = p;
  const drifted = i >= p.driftFrom;
  const feats: (string | undefined)[] = [];
  for (let j = 0; j < data.numeric.length; j++) {
    const f = data.numeric[j]!;
    let x = f.dist === 'normal' ? f.a + f.b * rng.normal() : f.dist === 'lognormal' ? Math.exp(f.a + f.b * rng.normal()) : f.a + (f.b - f.a) * rng.next();
    if (drifted) x += f.shift;
    if (o.missingRate > 0 && rng.next() < o.missingRate) {
      feats.push(rng.next() < 0.5 ? p.nullTok : undefined);
      z[j] = 0;
    } else {
      feats.push(num4(x));
      z[j] = (x - f.mean) / f.std;
    }
  }
  for (let c = 0; c < p.cats.length; c++) {
    const cat = p.cats[c]!;
    const fresh = drifted && cat.spec.newValue !== null && rng.next() < o.driftNewCategoryShare;
    const idx = fresh ? cat.spec.values.length : pick(drifted ? cat.cumDrift : cat.cum, rng.next());
    if (cat.missable && o.missingRate > 0 && rng.next() < o.missingRate) {
      feats.push(rng.next() < 0.5 ? p.nullTok : undefined);
      catIdx[c] = -1;
    } else {
      feats.push(cat.tokens[idx]);
      catIdx[c] = idx < cat.spec.values.length ? p.catOffset[c]! + idx : -1;
    }
  }
  let max = -Infinity;
  let best = 0;
  for (let k = 0; k < scores.length; k++) {
    const w = p.weights[k]!;
    const eff = p.effects[k]!;
    let s = 0;
    for (let j = 0; j < w.length; j++) s += w[j]! * z[j]!;
    for (let c = 0; c < catIdx.length; c++) if (catIdx[c]! >= 0) s += eff[catIdx[c]!]!;
    scores[k] = s;
    if (s > max) [max, best] = [s, k];
  }
  let prediction: string;
  let confidence: string | null = null;
  let probs: string[] | null = null;
  let label: string | null = null;
  const labelled = rng.next() < o.labelRate;
  if (o.task === 'regression') {
    const y = 100 + 25 * scores[0]!;
    prediction = num4(y);
    if (labelled) label = num4(y + 8 * rng.normal());
  } else {
    let total = 0;
    for (let k = 0; k < scores.length; k++) total += Math.exp(scores[k]! - max);
    prediction = p.classTokens[best]!;
    confidence = num4(1 / total);
    probs = [];
    for (let k = 0; k < scores.length; k++) probs.push(num4(Math.exp(scores[k]! - max) / total));
    if (labelled) {
      // Ground truth is the scores plus noise the model cannot see: accuracy is high but not 1.
      let truth = 0;
      let top = -Infinity;
      for (let k = 0; k < scores.length; k++) {
        const noisy = scores[k]! + 1.2 * rng.normal();
        if (noisy > top) [top, truth] = [noisy, k];
      }
      label = p.classTokens[truth]!;
    }
  }
  const failed = rng.next() < o.errorRate;
  const latency = o.latencyMedianMs * Math.exp(o.latencySigma * rng.normal()) * (failed ? 4 : 1);
  return {
    ts: isoTime(p, tsMs),
    version: p.versionToks[i >= p.versionFrom ? 1 : 0],
    requestId,
    feats,
    prediction,
    confidence,
    probs,
    label,
    latency: num4(Math.max(0.1, Math.round(latency * 10) / 10)),
    status: failed ? '500' : '200',
    error: failed ? p.errorToks[rng.int(ERRORS.length)]! : null,
  };
}
