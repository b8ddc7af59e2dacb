import {
  InvalidArgumentError,
  ModelFormatError,
  mockModel,
  UnsupportedCapabilityError,
  type Drafter,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { withLayerSplit } from './__fixtures__/split-model.js';
import {
  hiddenTransfer,
  parseHiddenTransferWeights,
  randomHiddenTransferWeights,
  serializeHiddenTransferWeights,
} from './index.js';

/** A 12-token model whose next token is (last + 1) mod 12, with a runner-up at (last + 2). */
const counting = () =>
  mockModel({
    vocabSize: 12,
    logits: context => {
      const logits = new Float32Array(12);
      const last = context[context.length - 1];
      logits[(last + 1) % 12] = 3;
      logits[(last + 2) % 12] = 1;
      return logits;
    },
  });

const draftContext = (tokens: number[]) => ({
  tokens,
  promptLength: 3,
  maxNodes: 16,
  remaining: 16,
  treeCapable: true,
  greedy: true,
});

async function begin(drafter: Drafter, model: ReturnType<typeof withLayerSplit>) {
  await drafter.begin?.({
    tokens: [],
    model,
    random: {
      next: () => 0.5,
      clone: () => ({ next: () => 0.5, clone: () => undefined as never }),
    },
    temperature: 0,
  });
}

describe('weights files', () => {
  it('round-trips through JSON', () => {
    const weights = randomHiddenTransferWeights({ vocabSize: 12, hiddenSize: 4, seed: 3 });
    const parsed = parseHiddenTransferWeights(serializeHiddenTransferWeights(weights));
    expect(parsed.layer).toBe(1);
    expect(parsed.transfers).toBe(3);
    expect(Array.from(parsed.weight)).toEqual(Array.from(weights.weight));
    expect(parsed.tree).toEqual(weights.tree);
  });

  it('rejects other files, bad splits, bad shapes and bad trees with typed errors', () => {
    expect(() => parseHiddenTransferWeights('{"format":"decodekit-ppd/1"}')).toThrow(
      ModelFormatError,
    );
    expect(() => parseHiddenTransferWeights('not json')).toThrow(ModelFormatError);
    const weights = randomHiddenTransferWeights({ vocabSize: 12, hiddenSize: 4 });
    expect(() => hiddenTransfer({ weights: { ...weights, layer: 2 } })).toThrow(
      /layer \(the split\) must be an integer in \[1, 1\]/,
    );
    expect(() => hiddenTransfer({ weights: { ...weights, transfers: 2 } })).toThrow(
      /weight must hold 8×4/,
    );
    expect(() => hiddenTransfer({ weights, tree: [[0, 0]] })).toThrow(InvalidArgumentError);
    expect(() => hiddenTransfer({ weights, tree: [[0], [0, 0, 0, 0, 0]] })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('hiddenTransfer', () => {
  it('needs a model that serves the split forwards, of the trained shape', async () => {
    const weights = randomHiddenTransferWeights({ vocabSize: 12, hiddenSize: 4 });
    const plain = counting();
    const drafter = hiddenTransfer({ weights, draftModel: plain });
    await expect(begin(drafter, withLayerSplit(plain))).rejects.toThrow(UnsupportedCapabilityError);
    const wide = hiddenTransfer({
      weights,
      draftModel: withLayerSplit(counting(), { hiddenSize: 8 }),
    });
    await expect(begin(wide, withLayerSplit(plain))).rejects.toThrow(
      /decodekit train hidden-transfer --model/,
    );
  });

  it('runs the lower layers, the whole model, then the pseudo states through the upper layers', async () => {
    const weights = randomHiddenTransferWeights({
      vocabSize: 12,
      hiddenSize: 4,
      numLayers: 3,
      layer: 2,
      transfers: 2,
      seed: 5,
      tree: [[0], [1], [0, 0], [0, 1], [0, 0, 0]],
    });
    const model = withLayerSplit(counting(), { numLayers: 3 });
    const drafter = hiddenTransfer({ weights, draftModel: model });
    await begin(drafter, model);
    const tree = await drafter.propose(draftContext([0, 1, 2]));
    const [split, full, pseudo] = model.calls;
    expect(model.calls).toHaveLength(3);
    expect(split).toMatchObject({
      prefixLength: 0,
      tokens: [0, 1, 2],
      skipLayers: [2],
      hidden: true,
    });
    expect(full).toMatchObject({ prefixLength: 0, tokens: [0, 1, 2] });
    expect(full.skipLayers).toBeUndefined();
    expect(pseudo).toMatchObject({ prefixLength: 3, tokens: [2, 2], skipLayers: [0, 1] });
    // The pseudo states are W h + b of the pending token's split state (the fixture's hidden: its first logits).
    const h = [0, 0, 0, 3]; // logits[0..3] after [0, 1, 2]: token 3 scores 3 (and token 4 scores 1)
    const expected = Array.from({ length: 8 }, (_, row) =>
      h.reduce((sum, value, col) => sum + weights.weight[row * 4 + col] * value, weights.bias[row]),
    );
    expect(Array.from(pseudo.embeddings ?? [])).toEqual(
      expected.map(value => expect.closeTo(value, 5)),
    );
    // Depth 1 ranks the target's own logits after the pending token 2: 3 then 4. The toy fixture reads the
    // pending id for the pseudo rows, so depths 2 and 3 draft the target's guess after 2 again.
    expect(Array.from(tree?.tokens ?? [])).toEqual([3, 4, 3, 4, 3]);
    expect(Array.from(tree?.parents ?? [])).toEqual([-1, -1, 0, 0, 2]);

    // The next draft feeds only what was emitted since (the draft sequence holds the context, not the pending).
    model.calls.length = 0;
    await drafter.propose(draftContext([0, 1, 2, 3, 4]));
    expect(model.calls.map(call => [call.prefixLength, call.tokens])).toEqual([
      [3, [3, 4]],
      [3, [3, 4]],
      [5, [4, 4]],
    ]);
    drafter.end?.();
  });

  it('drafts only what fits the context', async () => {
    const weights = randomHiddenTransferWeights({ vocabSize: 12, hiddenSize: 4, transfers: 3 });
    const short = withLayerSplit(
      mockModel({ vocabSize: 12, contextLength: 5, logits: () => new Float32Array(12) }),
    );
    const drafter = hiddenTransfer({ weights, draftModel: short });
    await begin(drafter, short);
    const tree = await drafter.propose(draftContext([0, 1, 2, 3]));
    // One pseudo state fits (position 4); depth 3 and 4 paths are dropped.
    expect(short.calls.at(-1)?.tokens).toEqual([3]);
    expect(Math.max(...(tree?.parents ?? []).map((_, row) => depthOf(tree?.parents, row)))).toBe(2);
  });
});

function depthOf(parents: Int32Array | undefined, row: number): number {
  let depth = 1;
  for (let at = parents?.[row] ?? -1; at >= 0; at = parents?.[at] ?? -1) depth++;
  return depth;
}
