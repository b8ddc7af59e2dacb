import { fc, test } from '@fast-check/vitest';
import { assert, describe, expect, it } from 'vitest';
import { insertNext, lookupNext, type NgramMap } from './ngram-map.js';

describe('ngram map (persistent HAMT)', () => {
  it('keeps keys whose hashes collide apart', () => {
    let map: NgramMap = undefined;
    map = insertNext(map, [1, 2], 5, 42);
    map = insertNext(map, [3], 6, 42);
    map = insertNext(map, [1, 2], 7, 42);
    expect(lookupNext(map, [1, 2], 42)).toEqual([5, 7]);
    expect(lookupNext(map, [3], 42)).toEqual([6]);
    expect(lookupNext(map, [4], 42)).toBeUndefined();
  });

  it('returns the same map when nothing changes', () => {
    const map = insertNext(insertNext(undefined, [1], 2), [3], 4);
    expect(insertNext(map, [1], 2)).toBe(map);
  });

  test.prop([
    fc.array(fc.tuple(fc.array(fc.nat(3), { maxLength: 2 }), fc.nat(5), fc.nat(0xffffffff)), {
      maxLength: 200,
    }),
  ])('behaves like a map of sets, and old versions stay intact', inserts => {
    const versions: NgramMap[] = [undefined];
    const reference: Map<string, Set<number>>[] = [new Map()];
    // Use only a few distinct hashes so that branches, leaves and collisions all occur.
    const hashOf = (key: number[]) => {
      const insert = inserts.find(([other]) => other.join() === key.join());
      assert(insert, 'every key comes from an insert');
      return insert[2] & 0x8000_0fff;
    };
    for (const [key, token] of inserts) {
      versions.push(insertNext(versions.at(-1), key, token, hashOf(key)));
      const next = new Map([...(reference.at(-1) ?? [])].map(([k, v]) => [k, new Set(v)]));
      next.set(key.join(), (next.get(key.join()) ?? new Set()).add(token));
      reference.push(next);
    }
    versions.forEach((map, index) => {
      for (const [key] of inserts) {
        const expected = reference[index].get(key.join());
        expect(lookupNext(map, key, hashOf(key))).toEqual(expected ? [...expected] : undefined);
      }
    });
  });
});
