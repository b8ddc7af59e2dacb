import { InvalidArgumentError } from '@decodekit/core';

/** Which rows of a `[rows, vocab]` logits block take part in the pooling. */
export interface SpladePoolingOptions {
  /** 1 keeps a row, 0 drops it (padding). Omitted = every row. [rows] */
  readonly mask?: ArrayLike<number | bigint>;
  /** First row to pool (Mistral-SPLADE's echo mode pools only the second copy of the input). Default 0. */
  readonly fromRow?: number;
}

/**
 * SPLADE max pooling (Formal et al., SPLADE v2, https://arxiv.org/abs/2109.10086; Mistral-SPLADE,
 * https://arxiv.org/abs/2408.11119): `w_j = max_i log(1 + ReLU(z_ij))` over the kept rows `i`.
 * Returns the dense weight vector [vocab]; prune it with `pruneTopK`.
 */
export function spladeMaxPool(
  logits: Float32Array, // [rows, vocab]
  vocabSize: number,
  { mask, fromRow = 0 }: SpladePoolingOptions = {},
): Float32Array {
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || logits.length % vocabSize !== 0) {
    throw new InvalidArgumentError({
      argument: 'vocabSize',
      message: `logits of length ${logits.length} are not a whole number of rows of ${vocabSize}`,
    });
  }
  const rows = logits.length / vocabSize;
  if (mask && mask.length !== rows) {
    throw new InvalidArgumentError({
      argument: 'mask',
      message: `mask has ${mask.length} entries for ${rows} rows`,
    });
  }
  // Running max of the raw logit; log1p(relu(.)) is monotone, so apply it once at the end.
  const best = new Float32Array(vocabSize);
  for (let row = fromRow; row < rows; row++) {
    if (mask && Number(mask[row]) === 0) continue;
    const offset = row * vocabSize;
    for (let term = 0; term < vocabSize; term++) {
      const value = logits[offset + term];
      if (value > best[term]) best[term] = value;
    }
  }
  for (let term = 0; term < vocabSize; term++) best[term] = Math.log1p(best[term]);
  return best;
}
