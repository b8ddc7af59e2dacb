import { InvalidArgumentError, type CausalLM, type Sequence } from '@decodekit/core';

/** A span of the passage with its score. */
export interface ScoredSpan {
  /** First passage token of the span. */
  start: number;
  /** One past the last passage token. */
  end: number;
  /** The span's token ids. */
  tokens: number[];
  /** log P(span, terminator | prompt) under the model (natural log). */
  logProbability: number;
  /** The ranking score: logProbability, or logProbability / (length + 1) when length-normalized. */
  score: number;
}

/** Options of `scoreSpans`. */
export interface ScoreSpansOptions {
  /** Passage token ids; answers are their contiguous sub-arrays. */
  passage: readonly number[];
  /** Longest span in tokens. Default 16 (the official `trim_context`-style cap). */
  maxSpanLength?: number;
  /** Tokens that end an answer; their probabilities are summed. Default: the model's EOS ids. */
  terminatorTokenIds?: readonly number[];
  /** Rank by log-probability / (length + 1) instead of log-probability. Default false. */
  lengthNormalized?: boolean;
  /** Most rows per forward when the model verifies trees. Default 64. */
  maxRows?: number;
  signal?: AbortSignal;
}

/** @internal validated options. */
export interface ResolvedSpanOptions {
  passage: readonly number[];
  maxSpanLength: number;
  terminators: readonly number[];
  lengthNormalized: boolean;
  maxRows: number;
}

/** Validates span options against a model. */
export function resolveSpanOptions(
  model: CausalLM,
  options: ScoreSpansOptions,
): ResolvedSpanOptions {
  const { passage, maxSpanLength = 16, lengthNormalized = false, maxRows = 64 } = options;
  const terminators = options.terminatorTokenIds ?? model.info.eosTokenIds;
  const vocab = model.info.vocabSize;
  if (
    !Array.isArray(passage) ||
    passage.length === 0 ||
    !passage.every(id => Number.isInteger(id) && id >= 0 && id < vocab)
  ) {
    throw new InvalidArgumentError({
      argument: 'passage',
      message: `must be a non-empty array of token ids in [0, ${vocab}).`,
    });
  }
  if (!Number.isInteger(maxSpanLength) || maxSpanLength < 1) {
    throw new InvalidArgumentError({
      argument: 'maxSpanLength',
      message: `must be a positive integer, got ${maxSpanLength}.`,
    });
  }
  if (
    terminators.length === 0 ||
    !terminators.every(id => Number.isInteger(id) && id >= 0 && id < vocab)
  ) {
    throw new InvalidArgumentError({
      argument: 'terminatorTokenIds',
      message: 'the model has no EOS id: pass terminatorTokenIds (e.g. the newline token).',
    });
  }
  if (!Number.isInteger(maxRows) || maxRows < 2)
    throw new InvalidArgumentError({
      argument: 'maxRows',
      message: `must be an integer ≥ 2, got ${maxRows}.`,
    });
  return { passage, maxSpanLength, terminators, lengthNormalized, maxRows };
}

function logSoftmaxAt(
  logits: Float32Array,
  row: number,
  vocab: number,
  ids: readonly number[],
): number {
  const offset = row * vocab;
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
  let picked = 0;
  for (const id of ids) picked += Math.exp(logits[offset + id] - max);
  return Math.log(picked) - Math.log(sum);
}

/**
 * Exact-extract's scoring (Castel et al., 2022, https://arxiv.org/abs/2108.05857; code ocastel/exact-extract
 * `mlspan`): for every passage start i, teacher-force the pending token and c_i .. c_{i+T-1} after the shared
 * prompt KV, then L(i, j) = Σ log p(c_k) + log p(terminator | c_i..c_{j-1}) for every end j. All spans are
 * scored exactly; with tree attention many starts share one forward (chains hanging off the pending token).
 * `sequence` must hold the prompt minus its last (pending) token; nothing is committed.
 * Returns every distinct span (a repeated span keeps its first occurrence), best first.
 */
export async function scoreSequenceSpans(
  model: CausalLM,
  sequence: Sequence,
  pending: number,
  options: ResolvedSpanOptions,
  remaining = Infinity,
  signal?: AbortSignal,
  forward: Sequence['forward'] = (input, forwardOptions) => sequence.forward(input, forwardOptions),
): Promise<ScoredSpan[]> {
  const { passage, maxSpanLength, terminators, lengthNormalized, maxRows } = options;
  const vocab = model.info.vocabSize;
  const room = Math.min(model.info.contextLength - sequence.tokens.length - 2, remaining);
  const maxLength = Math.min(maxSpanLength, room);
  if (maxLength < 1) return [];
  const spans: ScoredSpan[] = [];
  const chains = passage.map((_, start) =>
    passage.slice(start, Math.min(passage.length, start + maxLength)),
  );
  const score = (
    start: number,
    chain: readonly number[],
    logits: Float32Array,
    rowOf: (k: number) => number,
  ): void => {
    let prefix = 0;
    for (let length = 1; length <= chain.length; length++) {
      prefix += logSoftmaxAt(logits, rowOf(length - 1), vocab, [chain[length - 1]]);
      const logProbability = prefix + logSoftmaxAt(logits, rowOf(length), vocab, terminators);
      const tokens = chain.slice(0, length);
      spans.push({
        start,
        end: start + length,
        tokens,
        logProbability,
        score: lengthNormalized ? logProbability / (length + 1) : logProbability,
      });
    }
  };
  if (model.capabilities.tree) {
    // Row 0: the pending token; each start's chain hangs off it.
    let start = 0;
    while (start < chains.length) {
      const batch: number[] = [];
      let rows = 1;
      while (
        start < chains.length &&
        (batch.length === 0 || rows + chains[start].length <= maxRows)
      ) {
        batch.push(start);
        rows += chains[start].length;
        start += 1;
      }
      const tokens = new Int32Array(rows);
      const parents = new Int32Array(rows);
      tokens[0] = pending;
      parents[0] = -1;
      const firstRow: number[] = [];
      let row = 1;
      for (const s of batch) {
        firstRow.push(row);
        chains[s].forEach((token, k) => {
          tokens[row] = token;
          parents[row] = k === 0 ? 0 : row - 1;
          row += 1;
        });
      }
      const { logits } = await forward({ tokens, parents }, { signal });
      batch.forEach((s, b) =>
        score(s, chains[s], logits, k => (k === 0 ? 0 : firstRow[b] + k - 1)),
      );
    }
  } else {
    for (let s = 0; s < chains.length; s++) {
      const { logits } = await forward(
        { tokens: Int32Array.from([pending, ...chains[s]]) },
        { signal },
      );
      score(s, chains[s], logits, k => k);
    }
  }
  sequence.commit([]);
  // A span repeated in the passage is one answer: keep its first occurrence.
  const seen = new Set<string>();
  return spans
    .sort((a, b) => a.start - b.start || a.end - b.end)
    .filter(span => {
      const key = span.tokens.join(',');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => b.score - a.score || a.start - b.start || a.end - b.end);
}

/**
 * Scores every span of `passage` (up to `maxSpanLength` tokens) as the continuation of `prompt` ended by a
 * terminator, exactly, and returns them best first (the first is exact-extract's answer).
 *
 * @example
 * const spans = await scoreSpans(model, { prompt: tokenizer.encode('Q: who ran? A:'), passage: tokenizer.encode(' Tom ran home.', { addSpecialTokens: false }) });
 */
export async function scoreSpans(
  model: CausalLM,
  { prompt, ...options }: ScoreSpansOptions & { prompt: readonly number[] },
): Promise<ScoredSpan[]> {
  if (!Array.isArray(prompt) || prompt.length === 0)
    throw new InvalidArgumentError({
      argument: 'prompt',
      message: 'give at least one prompt token (e.g. BOS).',
    });
  const resolved = resolveSpanOptions(model, options);
  const sequence = model.createSequence();
  try {
    if (prompt.length > 1) {
      await sequence.forward(
        { tokens: Int32Array.from(prompt.slice(0, -1)) },
        { signal: options.signal },
      );
      sequence.commit(Array.from({ length: prompt.length - 1 }, (_, i) => i));
    }
    return await scoreSequenceSpans(
      model,
      sequence,
      prompt[prompt.length - 1],
      resolved,
      Infinity,
      options.signal,
    );
  } finally {
    sequence.dispose();
  }
}
