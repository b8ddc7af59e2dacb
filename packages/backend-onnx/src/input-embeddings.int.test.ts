import { UnsupportedCapabilityError, type LoadedModel } from '@decodekit/core';
import { assert, afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stories260KFolder, stubTokenizerFactory } from './__fixtures__/model-folders';
import { createCpuBackend } from './index';

const backend = createCpuBackend({ createTokenizer: stubTokenizerFactory });

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  return diff;
}

/** The tokens' own embedding rows. [rows, hidden] */
function rowsOf(model: LoadedModel, tokens: readonly number[]): Float32Array {
  assert(model.embeddingTable, 'the onnx backend exposes its embedding table');
  const table = model.embeddingTable();
  const dim = model.info.hiddenSize;
  const rows = new Float32Array(tokens.length * dim);
  tokens.forEach((token, row) =>
    rows.set(table.subarray(token * dim, (token + 1) * dim), row * dim),
  );
  return rows;
}

describe('onnx-cpu forward({ embeddings }) (onnx/model_embeds.onnx)', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await backend.load(stories260KFolder());
  });
  afterAll(() => model?.dispose());

  const prompt = [1, 403, 407, 261, 378, 270, 302, 308];

  it('reports the capability and the [vocab, hidden] table', () => {
    expect(model.capabilities.inputEmbeddings).toBe(true);
    expect(model.embeddingTable?.().length).toBe(model.info.vocabSize * model.info.hiddenSize);
  });

  it("the tokens' own embedding rows give the token forward's logits and hidden states", async () => {
    const byTokens = await model
      .createSequence()
      .forward({ tokens: Int32Array.from(prompt), hidden: true });
    const byEmbeddings = await model.createSequence().forward({
      tokens: Int32Array.from(prompt),
      embeddings: rowsOf(model, prompt),
      hidden: true,
    });
    expect(maxDiff(byEmbeddings.logits, byTokens.logits)).toBeLessThan(1e-4);
    assert(
      byEmbeddings.hidden && byTokens.hidden,
      'forward({ hidden: true }) returns hidden states',
    );
    expect(maxDiff(byEmbeddings.hidden, byTokens.hidden)).toBeLessThan(1e-4);
  });

  it('the KV of a committed embeddings forward continues like the token forward (chains and trees)', async () => {
    const reference = model.createSequence();
    await reference.forward({ tokens: Int32Array.from(prompt) });
    reference.commit(prompt.map((_, i) => i));
    const mixed = model.createSequence();
    await mixed.forward({ tokens: Int32Array.from(prompt.slice(0, 5)) });
    mixed.commit([0, 1, 2, 3, 4]);
    const rest = prompt.slice(5);
    await mixed.forward({ tokens: Int32Array.from(rest), embeddings: rowsOf(model, rest) });
    mixed.commit(rest.map((_, i) => i));
    expect(mixed.tokens).toEqual(prompt);
    const next = { tokens: Int32Array.of(300, 301, 302), parents: Int32Array.of(-1, 0, -1) };
    const expected = await reference.forward(next);
    const actual = await mixed.forward(next);
    expect(maxDiff(actual.logits, expected.logits)).toBeLessThan(1e-4);
    // A tree forward of embeddings, one path committed, then a token forward.
    const tree = { tokens: Int32Array.of(300, 301, 302), parents: Int32Array.of(-1, 0, -1) };
    await reference.forward(tree);
    reference.commit([2]);
    await mixed.forward({ ...tree, embeddings: rowsOf(model, [300, 301, 302]) });
    mixed.commit([2]);
    const after = { tokens: Int32Array.of(310) };
    expect(
      maxDiff((await mixed.forward(after)).logits, (await reference.forward(after)).logits),
    ).toBeLessThan(1e-4);
  });

  it('a non-one-hot mixture changes the logits (the embeddings are really used)', async () => {
    const dim = model.info.hiddenSize;
    const mixture = rowsOf(model, [403]);
    const other = rowsOf(model, [407]);
    for (let h = 0; h < dim; h++) mixture[h] = 0.5 * mixture[h] + 0.5 * other[h];
    const sequence = model.createSequence();
    const a = (await sequence.forward({ tokens: Int32Array.of(403), embeddings: mixture })).logits;
    const b = (await sequence.forward({ tokens: Int32Array.of(403) })).logits;
    expect(maxDiff(a, b)).toBeGreaterThan(1e-2);
  });

  it('rejects embeddings of the wrong size', async () => {
    await expect(
      model.createSequence().forward({
        tokens: Int32Array.of(1, 2),
        embeddings: new Float32Array(model.info.hiddenSize),
      }),
    ).rejects.toThrow(/embeddings/);
  });

  it('a plain folder (no model_embeds.onnx) throws UnsupportedCapabilityError with a hint', async () => {
    const plain = await backend.load(stories260KFolder({ plain: true }));
    try {
      expect(plain.capabilities.inputEmbeddings).toBe(false);
      expect(plain.embeddingTable).toBeUndefined();
      const error = await plain
        .createSequence()
        .forward({ tokens: Int32Array.of(1), embeddings: new Float32Array(plain.info.hiddenSize) })
        .catch((caught: unknown) => caught);
      expect(UnsupportedCapabilityError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain('model_embeds.onnx');
    } finally {
      await plain.dispose();
    }
  });
});
