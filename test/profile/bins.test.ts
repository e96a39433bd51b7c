// Exact bin counts of numeric summaries (a baseline's deciles, for exact PSI): counted as binShares
// bins them, added in merges only on identical edges and dropped otherwise, kept by clone and the
// wire, refused on decode when inconsistent, and given by a WindowProfile to the features named.

import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NumericSummary, WindowProfile, type ProfileOptions } from '../../agent/profile/index.js';
import { testRecord } from '../helpers/records.js';

const SEED = 20251124;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
const EDGES = [-1, 0, 2.5];

/** Bins (-inf, e1], (e1, e2], ..., (e_k, inf) counted directly. */
function exactCounts(xs: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of xs) {
    if (!Number.isFinite(x)) continue;
    const i = edges.findIndex((e) => x <= e);
    counts[i === -1 ? edges.length : i]!++;
  }
  return counts;
}

function summary(xs: readonly number[], edges?: readonly number[]): NumericSummary {
  const s = new NumericSummary(undefined, edges);
  for (const x of xs) s.add(x);
  return s;
}

const values = fc.array(
  fc.oneof(fc.double({ min: -5, max: 5, noNaN: true }), fc.constantFrom(-1, 0, -0, 2.5, NaN, Infinity)),
  { maxLength: 60 },
);

describe('numeric summary bins', () => {
  it('count every finite value, also through merges and clones on the same edges (property)', () => {
    fc.assert(
      fc.property(fc.array(values, { minLength: 1, maxLength: 4 }), (parts) => {
        const merged = summary([], EDGES);
        for (const xs of parts) merged.merge(summary(xs, EDGES));
        const all = parts.flat();
        expect(merged.bins).toEqual({ edges: EDGES, counts: exactCounts(all, EDGES) });
        expect(merged.clone().bins).toEqual(merged.bins);
        expect(summary(all, EDGES).bins).toEqual(merged.bins);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('are dropped by a merge with values counted on other edges or not at all', () => {
    const a = summary([1, 2, 3], EDGES);
    a.merge(summary([1], [0, 1]));
    expect(a.bins).toBeNull();
    a.add(-3);
    expect(a.bins).toBeNull(); // for good: later values are not counted either
    const b = summary([1, 2, 3], EDGES);
    b.merge(summary([4]));
    expect(b.bins).toBeNull();
    // The other side's missing and non-finite values alone leave them as they are.
    const c = summary([1, 2, 3], EDGES);
    const other = summary([NaN, Infinity]);
    other.addMissing(2);
    c.merge(other);
    expect(c.bins).toEqual({ edges: EDGES, counts: [0, 0, 2, 1] });
    // A summary without values takes the other's bins, or their absence: none of its values is uncounted.
    const d = summary([], [7]);
    d.merge(summary([1, 5], EDGES));
    expect(d.bins).toEqual({ edges: EDGES, counts: [0, 0, 1, 1] });
    const e = summary([], EDGES);
    e.merge(summary([1]));
    expect(e.bins).toBeNull();
    const f = summary([1]);
    f.merge(summary([1], EDGES));
    expect(f.bins).toBeNull();
  });

  it('survive clone when empty, and a copy of the counts is handed out', () => {
    const s = summary([], EDGES);
    expect(s.clone().bins).toEqual({ edges: EDGES, counts: [0, 0, 0, 0] });
    s.add(1);
    s.bins!.counts[0] = 99;
    expect(s.bins?.counts).toEqual([0, 0, 1, 0]);
  });

  it('round-trip the wire exactly, and a wire without them (older profiles) reads as none', () => {
    const s = summary([-2, -0.5, 0, 1, 3, 3, NaN], EDGES);
    const w = cbor.decode(cbor.encode(s.toWire())) as ReturnType<NumericSummary['toWire']>;
    expect(w.b).toEqual({ e: EDGES, c: [1, 2, 1, 2] });
    const back = NumericSummary.fromWire(w, 'x');
    expect(back.bins).toEqual(s.bins);
    expect(cbor.encode(back.toWire())).toEqual(cbor.encode(s.toWire()));
    expect(summary([1]).toWire().b).toBeNull();
    const { b: _b, ...old } = w;
    expect(NumericSummary.fromWire(old as typeof w, 'x').bins).toBeNull();
    // -0 as an edge is written as 0, so the bytes stay stable.
    expect(summary([1], [-0, 1]).toWire().b?.e).toEqual([0, 1]);
    expect(Object.is(summary([1], [-0, 1]).bins?.edges[0], 0)).toBe(true);
  });

  it('refuse bins on decode that are out of order, not finite, the wrong length or the wrong total', () => {
    const w = summary([-2, 1, 3], EDGES).toWire();
    const bad = (b: unknown): (() => NumericSummary) => () => NumericSummary.fromWire({ ...w, b } as typeof w, 'feature x');
    expect(bad({ e: [0, -1, 2.5], c: [1, 0, 1, 1] })).toThrow(/feature x: bin edges are not strictly ascending at 1/);
    expect(bad({ e: [-1, -1, 2.5], c: [1, 0, 1, 1] })).toThrow(/not strictly ascending/);
    expect(bad({ e: [-1, 0], c: [1, 0, 2, 0] })).toThrow(/2 bin edges but 4 bin counts/);
    expect(bad({ e: EDGES, c: [1, 0, 1, 2] })).toThrow(/bin counts add up to 4 but the summary counts 3 values/);
    // Through the profile codec: the shape check names the field, then the consistency check.
    const p = new WindowProfile({ model: 'm', modelVersion: 'v', start: 0, end: 1 }, {
      task: 'classification', categoricalCap: 4, segmentCap: 2, segmentPaths: [], binEdges: new Map([['g', EDGES]]),
    });
    p.add(testRecord({ features: { g: 2 } }));
    const raw = cbor.decode(p.encode()) as { fn: [string, { b: unknown }][] };
    const withBins = (b: unknown): Uint8Array => cbor.encode({ ...raw, fn: [['g', { ...raw.fn[0]![1], b }]] });
    expect(WindowProfile.decode(withBins({ e: EDGES, c: [0, 0, 1, 0] })).feature('g')).toMatchObject({ bins: { edges: EDGES } });
    expect(() => WindowProfile.decode(withBins({ e: [0, Infinity], c: [0, 1, 0] }))).toThrow(/malformed[\s\S]*fn\[0\]\[1\]\.b\.e\[1\]/);
    expect(() => WindowProfile.decode(withBins({ e: EDGES, c: [0, -1, 2, 0] }))).toThrow(/malformed[\s\S]*fn\[0\]\[1\]\.b\.c\[1\]/);
    expect(() => WindowProfile.decode(withBins({ e: EDGES }))).toThrow(/malformed[\s\S]*fn\[0\]\[1\]\.b\.c/);
    expect(() => WindowProfile.decode(withBins({ e: EDGES, c: [0, 0, 0, 0] }))).toThrow(/inconsistent: feature g: bin counts add up to 0/);
    const { b: _b, ...old } = raw.fn[0]![1];
    expect((WindowProfile.decode(cbor.encode({ ...raw, fn: [['g', old]] })).feature('g') as NumericSummary).bins).toBeNull();
  });
});

describe('window profile with bin edges', () => {
  const REG: ProfileOptions = {
    task: 'regression',
    categoricalCap: 4,
    segmentCap: 2,
    segmentPaths: [],
    binEdges: new Map([['x', EDGES], ['s', [1]]]),
    predictionBinEdges: [10, 20],
  };
  const meta = { model: 'm', modelVersion: 'v', start: 0, end: 60_000 };
  const xs = [-3, -1, 0.5, 2.5, 4, NaN];
  const build = (opts: ProfileOptions): WindowProfile => {
    const p = new WindowProfile(meta, opts);
    for (const [i, x] of xs.entries()) p.add(testRecord({ features: { x, y: x, s: i < 2 ? 'a' : i }, prediction: i * 5, label: null }));
    return p;
  };

  it('counts the features named (and the prediction) exactly, others not', () => {
    const p = build(REG);
    expect((p.feature('x') as NumericSummary).bins).toEqual({ edges: EDGES, counts: exactCounts(xs, EDGES) });
    expect((p.feature('y') as NumericSummary).bins).toBeNull();
    // s turned numeric after two strings: its bins count its numbers, the strings are missing.
    expect((p.feature('s') as NumericSummary).bins).toEqual({ edges: [1], counts: [0, 4] });
    expect((p.prediction as NumericSummary).bins).toEqual({ edges: [10, 20], counts: [3, 2, 1] });
    expect((p.label as NumericSummary).bins).toBeNull();
  });

  it('keeps them through clone, merge, encode and decode; options carry the edges', () => {
    const p = build(REG);
    expect(p.options.binEdges).toBe(REG.binEdges);
    expect(p.options.predictionBinEdges).toBe(REG.predictionBinEdges);
    const c = p.clone();
    expect(c.encode()).toEqual(p.encode());
    c.merge(build(REG));
    expect((c.feature('x') as NumericSummary).bins?.counts).toEqual(exactCounts([...xs, ...xs], EDGES));
    expect((c.prediction as NumericSummary).bins?.counts).toEqual([6, 4, 2]);
    const back = WindowProfile.decode(c.encode());
    expect((back.feature('x') as NumericSummary).bins).toEqual((c.feature('x') as NumericSummary).bins);
    expect(back.encode()).toEqual(c.encode());
    // An empty profile with edges merging one that has the feature: it takes their counts.
    const empty = new WindowProfile(meta, REG);
    empty.merge(p);
    expect(empty.encode()).toEqual(p.encode());
  });

  it('drops them where a merged profile did not count on the same edges', () => {
    const p = build(REG);
    p.merge(build({ ...REG, binEdges: new Map([['x', [0]]]), predictionBinEdges: null }));
    expect((p.feature('x') as NumericSummary).bins).toBeNull();
    expect((p.feature('s') as NumericSummary).bins).toBeNull();
    expect((p.prediction as NumericSummary).bins).toBeNull();
    const q = build({ ...REG, binEdges: new Map() });
    q.merge(build(REG));
    expect((q.feature('x') as NumericSummary).bins).toBeNull();
    // Without bin edges nothing changes: the options stay as they were.
    expect(new WindowProfile(meta, { ...REG, binEdges: undefined, predictionBinEdges: undefined }).options).toEqual({
      task: 'regression', categoricalCap: 4, segmentCap: 2, segmentPaths: [],
    });
  });

  it('refuses bad edges when created, naming the feature', () => {
    expect(() => new WindowProfile(meta, { ...REG, binEdges: new Map([['x', [1, 0]]]) })).toThrow(/x: bin edges are not strictly ascending/);
    expect(() => new WindowProfile(meta, { ...REG, predictionBinEdges: [NaN] })).toThrow(/prediction\): bin edge 0 is not a finite/);
  });
});
