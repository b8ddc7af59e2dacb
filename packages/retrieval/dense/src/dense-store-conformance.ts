import { InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { binaryCode } from './binary-code.js';
import type { DenseStore } from './dense-store.js';
import { l2Normalize } from './pool-hidden.js';

/** Options of {@link runDenseStoreConformance}. */
export interface DenseStoreConformanceOptions {
  /** Shown in the test titles, e.g. `'postgres'`. */
  readonly name: string;
  /** Opens a fresh, empty store; every test opens its own and closes it. */
  readonly open: () => Promise<DenseStore>;
  /** When set, the whole suite is skipped and this reason is shown in its title. */
  readonly skip?: string;
}

const unit = (values: number[]): Float32Array => l2Normalize(Float32Array.from(values));

/**
 * The behaviour every `DenseStore` shares (vitest): exact cosine, Hamming over sign codes, search within a
 * candidate set, best-first order with ties to the lower id, replace-on-upsert, deletes, `get` order and
 * metadata, a fixed width, and typed errors after `close()`. The memory and PostgreSQL stores run it.
 */
export function runDenseStoreConformance({ name, open, skip }: DenseStoreConformanceOptions): void {
  describe.skipIf(skip !== undefined)(
    `${name} dense store${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      it('searches by exact cosine, by Hamming, and within a candidate set', async () => {
        const store = await open();
        await store.upsert([
          { id: 'a', text: 'A', vector: unit([1, 0.1, 0.1, 0.1]) },
          { id: 'b', text: 'B', vector: unit([0.8, 0.6, -0.1, 0.1]) },
          { id: 'c', text: 'C', vector: unit([-1, -1, -1, -1]) },
        ]);
        const query = unit([0.9, 0.5, -0.1, 0.1]);
        expect((await store.searchCosine(query, 3)).map(hit => hit.id)).toEqual(['b', 'a', 'c']);
        const hamming = await store.searchHamming(binaryCode(query), 3);
        expect(hamming).toEqual([
          { id: 'b', score: -0 },
          { id: 'a', score: -1 },
          { id: 'c', score: -3 },
        ]);
        expect(
          (await store.searchCosine(query, 3, { among: ['a', 'c', 'zz'] })).map(hit => hit.id),
        ).toEqual(['a', 'c']);
        await store.delete(['b']);
        expect(await store.count()).toBe(2);
        expect(await store.get(['c', 'b', 'a'])).toEqual([
          { id: 'c', text: 'C' },
          { id: 'a', text: 'A' },
        ]);
        await expect(
          store.upsert([{ id: 'd', text: 'D', vector: new Float32Array(3) }]),
        ).rejects.toThrow(InvalidArgumentError);
        await store.close();
        await expect(store.count()).rejects.toThrow(InvalidArgumentError);
      });

      it('scores cosine as the float32 dot product, cuts at k, and breaks ties by the lower id', async () => {
        const store = await open();
        const vectors = {
          m: unit([0.3, 0.7, 0.2, -0.5, 0.1]),
          n: unit([0.3, 0.7, 0.2, -0.5, 0.1]),
          o: unit([-0.2, 0.1, 0.9, 0.3, -0.4]),
        };
        await store.upsert(
          Object.entries(vectors).map(([id, vector]) => ({ id, text: id, vector })),
        );
        const query = unit([0.25, 0.5, 0.5, -0.25, 0.6]);
        const expected = (vector: Float32Array) =>
          vector.reduce((sum, value, i) => sum + value * query[i], 0);
        const hits = await store.searchCosine(query, 3);
        expect(hits.map(hit => hit.id)).toEqual(['m', 'n', 'o']);
        expect(hits[0].score).toBeCloseTo(expected(vectors.m), 6);
        expect(hits[2].score).toBeCloseTo(expected(vectors.o), 6);
        expect((await store.searchCosine(query, 1)).map(hit => hit.id)).toEqual(['m']);
        expect(await store.searchCosine(query, 0)).toEqual([]);
        expect((await store.searchHamming(binaryCode(vectors.o), 2))[0]).toEqual({
          id: 'o',
          score: -0,
        });
        await expect(store.searchCosine(query, -1)).rejects.toThrow(InvalidArgumentError);
        await expect(store.searchCosine(query, 1.5)).rejects.toThrow(InvalidArgumentError);
        await expect(store.searchCosine(new Float32Array(4), 1)).rejects.toThrow(
          InvalidArgumentError,
        );
        await expect(store.searchHamming(new Uint32Array(2), 1)).rejects.toThrow(
          InvalidArgumentError,
        );
        await store.close();
      });

      it('replaces on upsert and keeps metadata; the width stays fixed after deletes', async () => {
        const store = await open();
        const metadata = {
          source: 'wiki',
          tags: ['x', 'y'],
          nested: { depth: 2 },
          quote: 'say "hi" \\ bye',
        };
        await store.upsert([
          { id: 'p', text: 'first', vector: unit([1, 0, 0]) },
          { id: 'q', text: 'q', metadata, vector: unit([0, 1, 0]) },
        ]);
        await store.upsert([{ id: 'p', text: 'second', vector: unit([0, 0, 1]) }]);
        expect(await store.count()).toBe(2);
        expect(await store.get(['q', 'p'])).toEqual([
          { id: 'q', text: 'q', metadata },
          { id: 'p', text: 'second' },
        ]);
        expect((await store.searchCosine(unit([0, 0, 1]), 1))[0]).toEqual({
          id: 'p',
          score: expect.closeTo(1, 6),
        });
        await store.delete(['p', 'q', 'missing']);
        expect(await store.count()).toBe(0);
        expect(await store.searchCosine(unit([0, 0, 1]), 5)).toEqual([]);
        await expect(store.upsert([{ id: 'r', text: 'r', vector: unit([1, 1]) }])).rejects.toThrow(
          InvalidArgumentError,
        );
        await store.upsert([]);
        await store.close();
      });
    },
  );
}
