import { InvalidArgumentError, softmax, type LogitsProcessor } from '@decodekit/core';

/**
 * Resistance r(ℓ) against re-entering a circuit of length ℓ (ℓ = 0: the candidate is a new node; ℓ = 1:
 * seen before, no longer n-gram repeats; ℓ = n: generating it repeats an n-gram). Named tables are the
 * official code's `ngram_lookup_table_*` functions:
 * - `'block-4gram'` (the code's active default, `ours`): 0 for ℓ ≤ 3, 5 for ℓ = 4, ∞ beyond.
 * - `'linear'` (the table commented "for GPT2-XL"): r(ℓ) = ℓ for ℓ ≤ 5, ∞ beyond.
 * - `'constant'`: 0 for ℓ = 0, else 2.
 * - `'log'`: 0 for ℓ = 0, else log₆(1 + ℓ) / 0.2.
 * - `'exp'`: 0 for ℓ = 0, else 1.5^ℓ / 2.
 */
export type ResistanceFunction =
  'block-4gram' | 'linear' | 'constant' | 'log' | 'exp' | ((repetitionLength: number) => number);

/** Options of `momentumDecoding`. */
export interface MomentumDecodingOptions {
  /** α, the weight of the resistance against the model's probability. Default 0.2 (the paper's). */
  alpha?: number;
  /** Candidate pool: the k most likely tokens (`beam_width` in the code). Default 2000 (the 4-gram-block run; capped at the vocabulary). */
  topK?: number;
  /** Longest circuit (n-gram) looked for. Default 5 (the code's `max_length`). */
  maxLength?: number;
  /** Default `'block-4gram'`. */
  resistance?: ResistanceFunction;
}

/** State: every token of the context so far (the graph's node positions are derived from it). */
export interface MomentumState {
  readonly tokens: readonly number[];
}

const tables: Record<Exclude<ResistanceFunction, Function>, (length: number) => number> = {
  'block-4gram': length => (length <= 3 ? 0 : length === 4 ? 5 : Infinity),
  linear: length => (length <= 5 ? length : Infinity),
  constant: length => (length === 0 ? 0 : 2),
  log: length => (length === 0 ? 0 : Math.log(1 + length) / Math.log(6) / 0.2),
  exp: length => (length === 0 ? 0 : 1.5 ** length / 2),
};

/**
 * The repetition length ℓ of appending `candidate` to `tokens` (the official `find_max_repetition_length`):
 * 0 when the candidate never occurred; otherwise the largest n ≤ `maxLength` such that the n-gram
 * `tokens[-(n-1):] + [candidate]` already occurred in `tokens`, and 1 when no n ≥ 2 does.
 */
export function repetitionLength(
  tokens: readonly number[],
  candidate: number,
  maxLength = 5,
  positions?: readonly number[],
): number {
  const at = positions ?? tokens.flatMap((token, index) => (token === candidate ? [index] : []));
  if (at.length === 0) return 0;
  const end = tokens.length;
  let best = 1;
  for (const position of at) {
    let length = 1;
    while (
      length < maxLength &&
      position - length >= 0 &&
      end - length >= 0 &&
      tokens[position - length] === tokens[end - length]
    )
      length++;
    if (length > best) best = length;
    if (best === maxLength) break;
  }
  return best;
}

/**
 * Momentum Decoding (Lan et al., 2022, "Momentum Decoding: Open-ended Text Generation as Graph
 * Exploration", https://arxiv.org/abs/2212.02175): generation walks a graph whose nodes are tokens; among
 * the top-k candidates, the next node maximizes `p(c) − α · r(ℓ(c))`, where ℓ(c) is the length of the
 * circuit (repeated n-gram) that entering c would close. A deterministic decoding method written as a
 * logits processor: the top-k tokens get their momentum score, the rest −∞. Use it at temperature 0 (the
 * scores are not log-probabilities, so sampling from them is not the paper's method).
 *
 * @example
 * const decoder = createDecoder({ model }).use(momentumDecoding({ alpha: 0.2 }));
 * const { text } = await decoder.generate('Once upon a time', { maxTokens: 128, temperature: 0 });
 */
export function momentumDecoding(
  options: MomentumDecodingOptions = {},
): LogitsProcessor<MomentumState> {
  const alpha = options.alpha ?? 0.2;
  if (!Number.isFinite(alpha) || alpha < 0)
    throw new InvalidArgumentError({
      argument: 'alpha',
      message: `must be a finite number ≥ 0, got ${alpha}.`,
    });
  const topK = options.topK ?? 2000;
  if (!Number.isInteger(topK) || topK < 1)
    throw new InvalidArgumentError({
      argument: 'topK',
      message: `must be a positive integer, got ${topK}.`,
    });
  const maxLength = options.maxLength ?? 5;
  if (!Number.isInteger(maxLength) || maxLength < 1)
    throw new InvalidArgumentError({
      argument: 'maxLength',
      message: `must be a positive integer, got ${maxLength}.`,
    });
  const resistanceOption = options.resistance ?? 'block-4gram';
  const resistance =
    typeof resistanceOption === 'function' ? resistanceOption : tables[resistanceOption];
  if (!resistance) {
    throw new InvalidArgumentError({
      argument: 'resistance',
      message: `must be one of ${Object.keys(tables).join(', ')} or a function, got ${String(resistanceOption)}.`,
    });
  }
  return {
    name: `momentum-decoding(α=${alpha}, k=${topK})`,
    init: prefix => ({ tokens: [...prefix] }),
    advance: (state, token) => ({ tokens: [...state.tokens, token] }),
    process(logits, state) {
      const probabilities = softmax(logits);
      const candidates = topIndices(logits, Math.min(topK, logits.length));
      const positions = new Map<number, number[]>();
      state.tokens.forEach((token, index) => {
        const list = positions.get(token);
        if (list) list.push(index);
        else positions.set(token, [index]);
      });
      const scores = candidates.map(candidate => {
        const length = repetitionLength(
          state.tokens,
          candidate,
          maxLength,
          positions.get(candidate) ?? [],
        );
        const r = resistance(length);
        // α = 0 or no resistance: the plain probability (avoids 0 · ∞ = NaN).
        return alpha === 0 || r === 0
          ? probabilities[candidate]
          : probabilities[candidate] - alpha * r;
      });
      logits.fill(-Infinity);
      let any = false;
      candidates.forEach((candidate, index) => {
        logits[candidate] = scores[index];
        if (scores[index] > -Infinity) any = true;
      });
      // Every candidate blocked: the official code's argmax over all −∞ falls back to the most likely one.
      if (!any && candidates.length > 0) logits[candidates[0]] = 0;
    },
  };
}

/** Indices of the k largest values, largest first (ties: lower index first). */
function topIndices(values: Float32Array, k: number): number[] {
  const order = Array.from(values.keys()).filter(index => values[index] > -Infinity);
  order.sort((a, b) => values[b] - values[a] || a - b);
  return order.slice(0, k);
}
