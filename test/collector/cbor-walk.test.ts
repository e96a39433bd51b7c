// The CBOR walker behind the structural profile check agrees with a full decoder: it accepts what
// cbor-x writes, reads the scalars the check needs, and refuses what is not exactly one item.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../../agent/wire/index.js';
import { skipItem, topLevelMap } from '../../collector/ingest/cbor-walk.js';
import { profile } from './messages.js';

describe('cbor walk', () => {
  it('reads a real profile: scalars decoded (epoch ms written as floats too), containers named', () => {
    const p = profile();
    const top = topLevelMap(p.encode());
    expect(top.get('v')).toEqual({ kind: 'int', value: 1 });
    expect(top.get('m')).toEqual({ kind: 'text', value: p.model });
    expect(top.get('s')).toEqual({ kind: 'int', value: p.start });
    expect(top.get('e')).toEqual({ kind: 'int', value: p.end });
    expect(top.get('fn')).toEqual({ kind: 'array' });
    expect(top.get('lat')).toEqual({ kind: 'map' });
  });

  it('steps over any value exactly as far as a decoder reads it', () => {
    fc.assert(
      fc.property(fc.anything({ withTypedArray: false, withMap: false, withSet: false, withBigInt: false, withDate: false, withObjectString: false, withBoxedValues: false, withNullPrototype: false }), (v) => {
        const bytes = encodeCbor(v);
        expect(skipItem(bytes, 0)).toBe(bytes.length);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses truncated, trailing and lying bytes, and never throws anything but its own error', () => {
    const good = profile().encode();
    expect(() => topLevelMap(good.subarray(0, good.length - 1))).toThrow(/truncated|past the end|claims/);
    expect(() => topLevelMap(new Uint8Array([...good, 0]))).toThrow(/after the map/);
    expect(() => topLevelMap(new Uint8Array([0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(/claims/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        let walked: boolean;
        try {
          topLevelMap(bytes);
          walked = true;
        } catch (err) {
          expect((err as Error).name === 'Error' || (err as Error).constructor.name === 'CborWalkError').toBe(true);
          walked = false;
        }
        // What the walker accepts, a full decoder reads as one map.
        if (walked) expect(typeof decodeCbor(bytes)).toBe('object');
      }),
      { numRuns: 20_000 },
    );
  });
});
