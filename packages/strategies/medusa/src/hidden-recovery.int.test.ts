import { loadReferenceModel } from '@decodekit/conformance';
import { expect, it, assert } from 'vitest';
import { HiddenFromLogits } from '@decodekit/core';

/** The model's embedding table (our converted models have one). */
function tableOf(model: { embeddingTable?(): Float32Array }): Float32Array {
  const table = model.embeddingTable?.();
  assert(table, 'the model has an embedding table');
  return table;
}

it('reads stories260K’s final hidden states back from its logits (tied LM head)', async () => {
  const model = await loadReferenceModel();
  expect(model.capabilities.hiddenStates).toBe(true);
  const { vocabSize, hiddenSize } = model.info;
  const recovery = new HiddenFromLogits(tableOf(model), vocabSize, hiddenSize);
  const tokens = Int32Array.from(
    model.tokenizer.encode('Once upon a time, there was a little dog named Max.'),
  );
  const sequence = model.createSequence();
  const { logits, hidden } = await sequence.forward({ tokens, hidden: true });
  sequence.dispose();
  let worst = 0;
  for (let row = 0; row < tokens.length; row++) {
    const recovered = recovery.recover(logits.subarray(row * vocabSize, (row + 1) * vocabSize));
    for (let i = 0; i < hiddenSize; i++)
      worst = Math.max(
        worst,
        Math.abs(recovered[i] - (hidden?.[row * hiddenSize + i] ?? Number.NaN)),
      );
  }
  expect(worst).toBeLessThan(1e-3);
});
