import { loadReferenceModel } from '@decodekit/conformance';
import { expect, it } from 'vitest';
import { HiddenFromLogits } from '@decodekit/core';

it('reads stories260K’s final hidden states back from its logits (tied LM head)', async () => {
  const model = await loadReferenceModel();
  expect(model.capabilities.hiddenStates).toBe(true);
  const { vocabSize, hiddenSize } = model.info;
  const recovery = new HiddenFromLogits(model.embeddingTable!(), vocabSize, hiddenSize);
  const tokens = Int32Array.from(model.tokenizer.encode('Once upon a time, there was a little dog named Max.'));
  const sequence = model.createSequence();
  const { logits, hidden } = await sequence.forward({ tokens, hidden: true });
  sequence.dispose();
  let worst = 0;
  for (let row = 0; row < tokens.length; row++) {
    const recovered = recovery.recover(logits.subarray(row * vocabSize, (row + 1) * vocabSize));
    for (let i = 0; i < hiddenSize; i++) worst = Math.max(worst, Math.abs(recovered[i] - hidden![row * hiddenSize + i]));
  }
  expect(worst).toBeLessThan(1e-3);
});
