import { InvalidArgumentError } from '@decodekit/core';

/**
 * Scores chunks of the long context against a query; higher is more relevant. Token ids in, one score per
 * chunk out. Wrap any retriever (dense embeddings, SPLADE, a server) in this shape.
 */
export type ChunkScorer = (
  chunks: readonly (readonly number[])[],
  query: readonly number[],
  options?: { signal?: AbortSignal },
) => readonly number[] | Promise<readonly number[]>;

/**
 * BM25 (Lucene idf `ln(1 + (N − df + 0.5) / (df + 0.5))`) over token ids: each chunk is a bag of token ids,
 * the query's distinct ids are the terms. Needs no tokenizer and no index outside the prompt.
 */
export function bm25ChunkScorer({
  k1 = 1.2,
  b = 0.75,
}: { k1?: number; b?: number } = {}): ChunkScorer {
  if (!(k1 >= 0) || !(b >= 0 && b <= 1)) {
    throw new InvalidArgumentError({
      argument: 'bm25',
      message: `need k1 >= 0 and 0 <= b <= 1, got k1=${k1}, b=${b}`,
    });
  }
  return (chunks, query) => {
    const counts = chunks.map(chunk => {
      const tf = new Map<number, number>();
      for (const token of chunk) tf.set(token, (tf.get(token) ?? 0) + 1);
      return tf;
    });
    const df = new Map<number, number>();
    for (const tf of counts) for (const token of tf.keys()) df.set(token, (df.get(token) ?? 0) + 1);
    const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const average = chunks.length === 0 ? 0 : total / chunks.length;
    const terms = [...new Set(query)];
    return counts.map((tf, i) => {
      let score = 0;
      const norm = k1 * (1 - b + (average === 0 ? 0 : (b * chunks[i].length) / average));
      for (const term of terms) {
        const f = tf.get(term);
        if (!f) continue;
        const n = df.get(term) ?? 0;
        score +=
          Math.log(1 + (chunks.length - n + 0.5) / (n + 0.5)) * ((f * (k1 + 1)) / (f + norm));
      }
      return score;
    });
  };
}
