import { assert, describe, expect, it } from 'vitest';
import { mockModel } from '../testing/mock-model.js';
import { DraftLengthPolicy } from './draft-length-policy.js';

const chain = (n: number) => Int32Array.from({ length: n }, (_, i) => i - 1);
const kept = (mask: Uint8Array) => mask.reduce((sum, flag) => sum + flag, 0);

function withCosts(costs: number[]): DraftLengthPolicy {
  const policy = new DraftLengthPolicy();
  (policy as unknown as { costs: Float64Array }).costs = Float64Array.from([1, ...costs]);
  return policy;
}

describe('DraftLengthPolicy', () => {
  it('keeps long drafts when rows are nearly free and acceptance is high', () => {
    const policy = withCosts([1, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08]);
    for (let i = 0; i < 200; i++) policy.record(chain(8), [0, 1, 2, 3, 4, 5, 6, 7]);
    expect(kept(policy.selectRows(chain(8)))).toBe(8);
  });

  it('drafts nothing when acceptance is low and rows are expensive', () => {
    const policy = withCosts([1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]);
    for (let i = 0; i < 200; i++) policy.record(chain(8), []);
    expect(kept(policy.selectRows(chain(8)))).toBe(0);
  });

  it('cuts a chain where expected tokens per unit of cost peak', () => {
    // Depth 1 and 2 accepted 90% of the time, depth 3 almost never: keep two rows at a steep curve.
    const policy = withCosts([1, 1.1, 1.2, 1.8, 2.4, 3, 3.6, 4.2, 4.8]);
    for (let i = 0; i < 1000; i++)
      policy.record(chain(8), i % 10 === 0 ? [] : i % 50 === 1 ? [0, 1, 2] : [0, 1]);
    expect(Array.from(policy.selectRows(chain(8)))).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('prunes a tree to its likely branches and keeps ancestors of kept rows', () => {
    // Root children of ranks 0..3; rank 0 is accepted 80%, the others rarely; one grandchild under each.
    const parents = Int32Array.from([-1, -1, -1, -1, 0, 1, 2, 3]);
    const policy = withCosts([1, 1.05, 1.3, 1.6, 1.9, 2.2, 2.5, 2.8, 3.1]);
    for (let i = 0; i < 500; i++) policy.record(parents, i % 5 === 0 ? [1] : [0, 4]);
    const mask = policy.selectRows(parents);
    expect(mask[0]).toBe(1);
    expect(mask[4]).toBe(1);
    expect(mask[3]).toBe(0);
    for (let row = 4; row < 8; row++) if (mask[row]) expect(mask[parents[row]]).toBe(1);
  });

  it('prices tree rows on top of the rows the drafter appends through extend', () => {
    // A forward of 1 or 2 rows costs 1 or 2, 4 or more rows cost 2.2 to 2.6: alone a row does not pay for
    // itself at 60% acceptance, on top of 4 appended rows (PPD's prompt rows) it nearly is free.
    const costs = [1, 2, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7];
    const alone = withCosts(costs);
    const extended = withCosts(costs);
    for (const policy of [alone, extended])
      for (let i = 0; i < 500; i++) policy.record(chain(2), i % 5 < 3 ? [0] : []);
    extended.noteExtraRows(4);
    expect(kept(alone.selectRows(chain(2)))).toBe(0);
    expect(kept(extended.selectRows(chain(2)))).toBe(1);
  });

  it('calibrates a monotone cost curve on a real sequence', async () => {
    const model = mockModel({ vocabSize: 4, logits: () => [0, 1, 2, 3] });
    const policy = new DraftLengthPolicy();
    await policy.calibrate(model.createSequence(), 1, 9);
    const costs = policy.costCurve;
    assert(costs, 'calibrate sets a cost curve');
    expect(costs[1]).toBe(1);
    for (let k = 2; k <= 9; k++) expect(costs[k]).toBeGreaterThanOrEqual(costs[k - 1]);
  });
});

describe('DraftLengthPolicy exploration', () => {
  it('still verifies one row every few steps after deciding that drafting does not pay', () => {
    const policy = withCosts([1, 3, 5, 7, 9, 11, 13, 15, 17]);
    for (let i = 0; i < 100; i++) policy.record(chain(8), []);
    const kept = Array.from({ length: 16 }, () =>
      policy.selectRows(chain(8)).reduce((a, b) => a + b, 0),
    );
    expect(kept.filter(count => count === 1)).toHaveLength(2);
    expect(kept.filter(count => count === 0)).toHaveLength(14);
  });
});
