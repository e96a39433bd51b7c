// The synthetic dataset: each feature's distribution, category values and shares, the classes, and
// which features drift (describeDataset exposes it so tests can check the output against it).

import { resolveOptions, type GenOptions, type ResolvedGenOptions } from './options.js';
import { Rng, streamSeed } from './rng.js';

export interface NumericFeatureSpec {
  name: string;
  dist: 'normal' | 'lognormal' | 'uniform';
  /** normal: mean and std; lognormal: mu and sigma of the log; uniform: low and high. */
  a: number;
  b: number;
  mean: number;
  std: number;
  /** Added to every value from driftFrom on (driftShift x std), 0 when not drifted. */
  shift: number;
}

export interface CategoricalFeatureSpec {
  name: string;
  values: string[];
  /** Shares of `values`, before drift; after drift a share-changed feature uses them reversed. */
  shares: number[];
  shareDrift: boolean;
  /** The category that appears only after drift (with driftNewCategoryShare), or null. */
  newValue: string | null;
}

export interface DatasetSchema {
  numeric: NumericFeatureSpec[];
  /** c0..cM-1, then `region` when regions are configured. */
  categorical: CategoricalFeatureSpec[];
  classes: string[];
}

const WORDS = [
  ['red', 'green', 'blue', 'black', 'white', 'silver', 'yellow', 'orange', 'purple', 'brown', 'pink', 'grey', 'teal'],
  ['mobile', 'desktop', 'tablet', 'kiosk', 'tv', 'watch', 'console', 'car', 'speaker', 'camera', 'router', 'printer', 'drone'],
  ['web', 'app', 'pos', 'atm', 'phone', 'mail', 'partner', 'branch', 'chat', 'sms', 'api', 'batch', 'ivr'],
  ['basic', 'plus', 'pro', 'team', 'business', 'enterprise', 'trial', 'student', 'family', 'legacy', 'edu', 'gov', 'ngo'],
  ['visa', 'mastercard', 'amex', 'paypal', 'applepay', 'googlepay', 'sepa', 'ach', 'wire', 'crypto', 'giftcard', 'klarna', 'cash'],
  ['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'sv', 'ja', 'ko', 'zh', 'ar'],
] as const;

export function describeDataset(opts: GenOptions = {}): DatasetSchema {
  return buildDataset(resolveOptions(opts));
}

export function buildDataset(o: ResolvedGenOptions): DatasetSchema {
  const rng = new Rng(streamSeed(o.seed, 2));
  const drifting = o.driftFrom !== null;
  const driftNum = new Set(o.driftNumeric ?? (o.numericFeatures > 0 ? ['f0'] : []));
  const driftCat = new Set(o.driftCategorical ?? (o.categoricalFeatures > 0 ? ['c0'] : []));
  const driftNew = new Set(o.driftNewCategory ?? (o.categoricalFeatures > 1 ? ['c1'] : o.categoricalFeatures > 0 ? ['c0'] : []));
  const numeric = Array.from({ length: o.numericFeatures }, (_, i): NumericFeatureSpec => {
    const dist = (['normal', 'lognormal', 'normal', 'uniform'] as const)[i % 4] ?? 'normal';
    let a: number, b: number, mean: number, std: number;
    if (dist === 'normal') [a, b] = [mean, std] = [round(-20 + 120 * rng.next(), 2), round(0.5 + 20 * rng.next(), 2)];
    else if (dist === 'lognormal') {
      [a, b] = [round(3 * rng.next(), 2), round(0.3 + 0.7 * rng.next(), 2)];
      mean = Math.exp(a + (b * b) / 2);
      std = Math.sqrt((Math.exp(b * b) - 1) * Math.exp(2 * a + b * b));
    } else {
      a = round(-10 + 20 * rng.next(), 2);
      b = round(a + 1 + 50 * rng.next(), 2);
      [mean, std] = [(a + b) / 2, (b - a) / Math.sqrt(12)];
    }
    const name = `f${i}`;
    return { name, dist, a, b, mean, std, shift: drifting && driftNum.has(name) ? o.driftShift * std : 0 };
  });
  const categorical = Array.from({ length: o.categoricalFeatures }, (_, i) => {
    const theme = WORDS[i % WORDS.length] ?? WORDS[0];
    const suffix = i >= WORDS.length ? String(Math.floor(i / WORDS.length)) : '';
    const n = 3 + rng.int(10);
    return { name: `c${i}`, words: theme.map((w) => w + suffix), n };
  });
  if (o.regions.length > 0) categorical.push({ name: 'region', words: [...o.regions, 'other-region'], n: o.regions.length });
  return {
    numeric,
    categorical: categorical.map(({ name, words, n }): CategoricalFeatureSpec => {
      const skew = 0.8 + 0.8 * rng.next();
      const raw = Array.from({ length: n }, (_, k) => 1 / (k + 1) ** skew);
      const total = raw.reduce((s, w) => s + w, 0);
      const values = words.slice(0, n);
      let extra = words[n] ?? `${name}-new`;
      while (values.includes(extra)) extra += '-new';
      return { name, values, shares: raw.map((w) => w / total), shareDrift: drifting && driftCat.has(name), newValue: drifting && driftNew.has(name) ? extra : null };
    }),
    classes: o.task === 'classification' ? Array.from({ length: o.classes }, (_, k) => String(k)) : [],
  };
}

function round(x: number, digits: number): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}
