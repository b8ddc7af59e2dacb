import {
  createDecoder,
  InvalidArgumentError,
  noRepeatNgram,
  repetitionPenalty,
  ModelFormatError,
  seededRandom,
  speculative,
  topIndices,
  UnsupportedCapabilityError,
} from '@decodekit/core';
import { distributionCheck, greedyCheck, O_DIST_SETTING, toyModel } from '@decodekit/conformance';
import { assert, describe, expect, it } from 'vitest';
import { withInputEmbeddings } from './__fixtures__/embeddings-model.js';
import {
  fusedPpdTree,
  parsePpdWeights,
  ppd,
  promptTokenCount,
  randomPpdWeights,
  serializePpdWeights,
  virtualTokenCount,
} from './index.js';

const weights = randomPpdWeights({ vocabSize: 16, hiddenSize: 4, promptTokens: 2, seed: 3 });

describe('ppd weights', () => {
  it('round-trips through JSON', () => {
    const parsed = parsePpdWeights(serializePpdWeights(weights));
    expect(Array.from(parsed.embeddings)).toEqual(Array.from(weights.embeddings));
    expect(parsed.tree).toEqual(weights.tree);
    expect(promptTokenCount(parsed)).toBe(2);
  });

  it('writes ensemble prompt tokens as version 2 and one virtual token as version 1 (older readers)', () => {
    expect(JSON.parse(serializePpdWeights(weights))).toMatchObject({ format: 'decodekit-ppd/1' });
    expect(JSON.parse(serializePpdWeights(weights))).not.toHaveProperty('virtualTokens');
    const ensemble = randomPpdWeights({
      vocabSize: 16,
      hiddenSize: 4,
      promptTokens: 2,
      virtualTokens: 3,
      seed: 3,
    });
    expect(ensemble.embeddings).toHaveLength(2 * 3 * 4);
    const json = serializePpdWeights(ensemble);
    expect(JSON.parse(json)).toMatchObject({ format: 'decodekit-ppd/2', virtualTokens: 3 });
    const parsed = parsePpdWeights(json);
    expect(virtualTokenCount(parsed)).toBe(3);
    expect(promptTokenCount(parsed)).toBe(2);
    expect(Array.from(parsed.embeddings)).toEqual(Array.from(ensemble.embeddings));
    expect(virtualTokenCount(parsePpdWeights(serializePpdWeights(weights)))).toBe(1);
  });

  it.each([
    { json: '{', error: /not JSON/ },
    { json: '{"format":"decodekit-medusa/1"}', error: /decodekit-ppd\/1/ },
    { json: '{"format":"decodekit-ppd/2","embeddings":""}', error: /numeric virtualTokens/ },
  ])('rejects $json with a ModelFormatError', ({ json, error }) => {
    expect(() => parsePpdWeights(json, 'w.json')).toThrow(ModelFormatError);
    expect(() => parsePpdWeights(json, 'w.json')).toThrow(error);
  });

  it.each([
    { change: { embeddings: new Float32Array(5) }, error: /k × 1 × 4 finite floats/ },
    { change: { virtualTokens: 3 }, error: /k × 3 × 4 finite floats/ },
    { change: { virtualTokens: 0 }, error: /virtualTokens/ },
    { change: { tree: [[0, 0, 0, 0]] }, error: /at most 3 deep/ },
    { change: { tree: [[0, 1]] }, error: /after its parent/ },
    { change: { vocabSize: 1 }, error: /positive integers/ },
  ])('ppd() rejects $error', ({ change, error }) => {
    expect(() => ppd({ weights: { ...weights, ...change } })).toThrow(InvalidArgumentError);
    expect(() => ppd({ weights: { ...weights, ...change } })).toThrow(error);
  });
});

describe('ppd drafter', () => {
  it('needs a model that takes input embeddings', async () => {
    const drafter = ppd({ weights });
    expect(drafter.requires).toEqual(['inputEmbeddings']);
    const model = toyModel({ vocabSize: 16 });
    expect(() =>
      drafter.begin?.({ tokens: [1], model, random: seededRandom(0), temperature: 0 }),
    ).toThrow(UnsupportedCapabilityError);
  });

  it('rejects prompt tokens trained for another vocabulary', () => {
    const drafter = ppd({ weights });
    const model = withInputEmbeddings(toyModel({ vocabSize: 12 }));
    expect(() =>
      drafter.begin?.({ tokens: [1], model, random: seededRandom(0), temperature: 0 }),
    ).toThrow(/decodekit train ppd/);
  });

  it('unfused: forwards the new tokens then the prompt embeddings, and lays the tree out from their top-k', async () => {
    const target = toyModel({ vocabSize: 16, seed: 4 });
    const model = withInputEmbeddings(target);
    const tree = [[0], [1], [0, 0], [0, 1], [0, 0, 0]];
    const drafter = ppd({ weights: { ...weights, tree }, fused: false });
    drafter.begin?.({ tokens: [1, 5, 7], model, random: seededRandom(0), temperature: 0 });
    const context = {
      promptLength: 3,
      maxNodes: 8,
      remaining: 8,
      treeCapable: true,
      greedy: true,
    };
    const draft = await drafter.propose({ ...context, tokens: [1, 5, 7] });
    expect(model.calls[0]).toMatchObject({ prefixLength: 0, tokens: [1, 5, 7, 7, 7] });
    const embeddings = model.calls[0].embeddings;
    const table = model.embeddingTable?.();
    expect(embeddings && table).toBeTruthy();
    if (!embeddings || !table) return;
    expect(Array.from(embeddings.subarray(4, 8))).toEqual(Array.from(table.subarray(20, 24)));
    expect(Array.from(embeddings.subarray(12))).toEqual(Array.from(weights.embeddings));
    // The wrapper's logits at row r are the toy target's after the row ids up to r.
    const reference = await target
      .createSequence()
      .forward({ tokens: Int32Array.from([1, 5, 7, 7, 7]) });
    const top = (row: number, k: number) =>
      topIndices(reference.logits.subarray(row * 16, (row + 1) * 16), k);
    const [first, second] = top(2, 2);
    expect(Array.from(draft?.tokens ?? [])).toEqual([
      first,
      second,
      top(3, 1)[0],
      top(3, 2)[1],
      top(4, 1)[0],
    ]);
    expect(Array.from(draft?.parents ?? [])).toEqual([-1, -1, 0, 0, 2]);

    // Next step: only the tokens emitted since are forwarded (the sequence kept 1, 5, 7).
    await drafter.propose({ ...context, tokens: [1, 5, 7, 9, 2] });
    expect(model.calls[1]).toMatchObject({ prefixLength: 3, tokens: [9, 2, 2, 2] });
    drafter.end?.();
  });

  it('unfused: is token-identical to greedy decoding under the speculative engine', async () => {
    const target = toyModel({ vocabSize: 16, seed: 9, copyBias: 3 });
    const prompt = { tokens: [1, 4, 6] };
    const plain = await createDecoder({ model: target }).generate(prompt, { maxTokens: 40 });
    const model = withInputEmbeddings(target);
    const fast = await createDecoder({ model: target })
      .use(speculative({ drafter: ppd({ weights, fused: false, draftModel: model }) }))
      .generate(prompt, { maxTokens: 40 });
    expect(fast.tokens).toEqual(plain.tokens);
    expect(model.calls.length).toBeGreaterThan(1);
  });
});

describe('ensemble prompt tokens (virtual tokens per prompt token)', () => {
  const ensemble = randomPpdWeights({
    vocabSize: 16,
    hiddenSize: 4,
    promptTokens: 2,
    virtualTokens: 3,
    seed: 7,
  });

  it('unfused: forwards m chains of prompt rows and drafts from their averaged logits', async () => {
    const target = toyModel({ vocabSize: 16, seed: 4 });
    const tree = [[0], [1], [0, 0], [0, 1], [0, 0, 0]];
    const context = { promptLength: 3, maxNodes: 8, remaining: 8, treeCapable: true, greedy: true };
    const drafts = [];
    for (const w of [ensemble, weights]) {
      const model = withInputEmbeddings(target);
      const drafter = ppd({ weights: { ...w, tree }, fused: false });
      drafter.begin?.({ tokens: [1, 5, 7], model, random: seededRandom(0), temperature: 0 });
      drafts.push(await drafter.propose({ ...context, tokens: [1, 5, 7] }));
      if (w === ensemble) {
        // 3 emitted rows, then [P1]'s 3 virtual tokens after the last one, then [P2]'s, chain by chain.
        expect(model.calls[0].tokens).toEqual([1, 5, 7, 7, 7, 7, 7, 7, 7]);
        expect(model.calls[0].parents).toEqual([-1, 0, 1, 2, 2, 2, 3, 4, 5]);
        expect(Array.from(model.calls[0].embeddings?.subarray(12) ?? [])).toEqual(
          Array.from(ensemble.embeddings),
        );
      } else expect(model.calls[0].parents).toBeUndefined();
      drafter.end?.();
    }
    // The wrapper's logits follow the row ids along each row's ancestors, so the 3 virtual tokens of a prompt
    // token have the same logits: their mean ranks as one chain's.
    expect(Array.from(drafts[0]?.tokens ?? [])).toEqual(Array.from(drafts[1]?.tokens ?? []));
    expect(Array.from(drafts[0]?.parents ?? [])).toEqual(Array.from(drafts[1]?.parents ?? []));
  });

  it('fused: appends k × m prompt rows in m chains after the pending token, one forward per step', async () => {
    const target = toyModel({ vocabSize: 16, seed: 9, copyBias: 3 });
    const model = withInputEmbeddings(target);
    const prompt = { tokens: [1, 4, 6] };
    const plain = await createDecoder({ model: target }).generate(prompt, { maxTokens: 40 });
    const fast = await createDecoder({ model })
      .use(speculative({ drafter: ppd({ weights: ensemble }), adaptive: false }))
      .generate(prompt, { maxTokens: 40 });
    expect(fast.tokens).toEqual(plain.tokens);
    expect(model.calls.length).toBe(fast.stats.forwardPasses);
    expect(fast.stats.acceptedDraftTokens ?? 0).toBeGreaterThan(0);
    for (const call of model.calls.slice(1)) {
      const { embeddings, tokens, parents } = call;
      assert(embeddings && parents);
      // Pending token and tree rows, then [P1]'s 3 virtual tokens on the pending token (row 0) and [P2]'s
      // j-th on [P1]'s j-th.
      const base = tokens.length - 6;
      expect(parents.slice(base)).toEqual([0, 0, 0, base, base + 1, base + 2]);
      expect(Array.from(embeddings.subarray(base * 4))).toEqual(Array.from(ensemble.embeddings));
    }
  });

  it('fused and unfused are token-identical to greedy; fused O-dist holds', async () => {
    for (const fused of [true, false]) {
      const model = withInputEmbeddings(toyModel({ vocabSize: 16, seed: 2, copyBias: 3 }));
      const { mismatches } = await greedyCheck({
        model,
        makeStrategy: () => speculative({ drafter: ppd({ weights: ensemble, fused }) }),
        prompts: [[0], [1, 2, 3, 1, 2]],
        options: { maxTokens: 40 },
        processors: () => [repetitionPenalty(1.2)],
      });
      expect(mismatches).toEqual([]);
    }
    const model = withInputEmbeddings(
      toyModel({ vocabSize: O_DIST_SETTING.vocabSize, seed: 11, copyBias: 2 }),
    );
    const strategy = speculative({
      drafter: ppd({
        weights: randomPpdWeights({
          vocabSize: O_DIST_SETTING.vocabSize,
          hiddenSize: 4,
          virtualTokens: 2,
          seed: 2,
        }),
      }),
    });
    const { pValue } = await distributionCheck({ model, strategy, samples: 5_000 });
    expect(pValue).toBeGreaterThan(0.01);
  }, 120_000);

  it('unfused ensemble prompt tokens need tree attention', () => {
    const model = withInputEmbeddings(toyModel({ vocabSize: 16 }));
    const chainOnly = { ...model, capabilities: { ...model.capabilities, tree: false } };
    const drafter = ppd({ weights: ensemble, fused: false });
    expect(() =>
      drafter.begin?.({ tokens: [1], model: chainOnly, random: seededRandom(0), temperature: 0 }),
    ).toThrow(UnsupportedCapabilityError);
  });
});

describe('fused ppd (prompt rows in the verification forward)', () => {
  // The decoder's target itself takes input embeddings (the wrapper computes logits from the row ids, so a
  // prompt row guesses what follows its carrier repeated).
  const fusedWeights = randomPpdWeights({ vocabSize: 16, hiddenSize: 4, promptTokens: 3, seed: 5 });

  it('derives the fused tree from the stored one and checks its options', () => {
    expect(fusedPpdTree([[0], [0, 0], [0, 1], [1], [0, 0, 2]])).toEqual([[0], [1], [0, 2]]);
    expect(() => ppd({ weights, promptNodes: -1 })).toThrow(/non-negative/);
    expect(() => ppd({ weights, draftModel: toyModel({ vocabSize: 16 }) })).toThrow(/fused: false/);
    expect(() => ppd({ weights: fusedWeights, tree: [[0, 0, 0, 0]] })).toThrow(/at most 3 deep/);
    expect(() => ppd({ weights: { ...fusedWeights, tree: [[0]] } })).toThrow(/tree-size 2/);
    expect(() => ppd({ weights: { ...fusedWeights, tree: [[0]] }, fused: false })).not.toThrow();
  });

  it('runs one target forward per step: the tree, then k prompt rows after the pending token and each carrier', async () => {
    const target = toyModel({ vocabSize: 16, seed: 9, copyBias: 3 });
    const model = withInputEmbeddings(target);
    const prompt = { tokens: [1, 4, 6] };
    const plain = await createDecoder({ model: target }).generate(prompt, { maxTokens: 40 });
    const drafter = ppd({ weights: fusedWeights, promptNodes: 2 });
    const fast = await createDecoder({ model })
      .use(speculative({ drafter, adaptive: false }))
      .generate(prompt, { maxTokens: 40 });
    expect(fast.tokens).toEqual(plain.tokens);
    // Prefill, then one forward per step (no second sequence: every call extends the decoder's own).
    expect(model.calls.length).toBe(fast.stats.forwardPasses);
    expect(model.calls[0].embeddings).toBeUndefined();
    expect(fast.stats.acceptedDraftTokens ?? 0).toBeGreaterThan(0);
    const table = model.embeddingTable?.();
    assert(table);
    for (const call of model.calls.slice(1)) {
      const { embeddings, tokens } = call;
      assert(embeddings);
      const rows = tokens.length;
      expect(embeddings.length).toBe(rows * 4);
      // Rows: pending + tree nodes (treeRows in all), then 3 prompt rows for the pending token and for each
      // of the first (at most) 2 tree nodes.
      const treeRows = rows === 4 ? 1 : rows === 8 ? 2 : rows - 9;
      expect(treeRows + 3 * (1 + Math.min(2, treeRows - 1))).toBe(rows);
      // Verified rows run on their tokens' table rows; prompt rows on the trained embeddings, in order.
      for (let row = 0; row < treeRows; row++)
        expect(Array.from(embeddings.subarray(row * 4, row * 4 + 4))).toEqual(
          Array.from(table.subarray(tokens[row] * 4, tokens[row] * 4 + 4)),
        );
      expect(Array.from(embeddings.subarray(treeRows * 4, treeRows * 4 + 12))).toEqual(
        Array.from(fusedWeights.embeddings),
      );
    }
  });

  it('is token-identical to greedy with penalties and n-gram bans', async () => {
    for (const seed of [1, 2, 3]) {
      const model = withInputEmbeddings(toyModel({ vocabSize: 16, seed, copyBias: 3 }));
      const { mismatches } = await greedyCheck({
        model,
        makeStrategy: () => speculative({ drafter: ppd({ weights: fusedWeights }) }),
        prompts: [[0], [1, 2, 3, 1, 2], [5, 4, 5, 4, 5, 4]],
        options: { maxTokens: 40 },
        processors: () => [repetitionPenalty(1.2), noRepeatNgram(3)],
      });
      expect(mismatches).toEqual([]);
    }
  });

  it('O-dist: samples match the exact processed target joint (chi-square p > 0.01)', async () => {
    const model = withInputEmbeddings(
      toyModel({ vocabSize: O_DIST_SETTING.vocabSize, seed: 11, copyBias: 2 }),
    );
    const strategy = speculative({
      drafter: ppd({
        weights: randomPpdWeights({ vocabSize: O_DIST_SETTING.vocabSize, hiddenSize: 4, seed: 2 }),
      }),
    });
    const { pValue } = await distributionCheck({ model, strategy, samples: 20_000 });
    expect(pValue).toBeGreaterThan(0.01);
  }, 120_000);
});
