import {
  invariant,
  InvalidArgumentError,
  seededRandom,
  softmax,
  speculative,
} from '@decodekit/core';
import type {
  DraftContext,
  DraftTree,
  Drafter,
  Sequence,
  Strategy,
  StrategyContext,
  Verifier,
} from '@decodekit/core';
import { BayesSearch } from './bayes-search.js';

/** Options of `swift()`. */
export interface SwiftOptions {
  /** Fraction of the skippable layers (all but the first and last) to skip (`skip_ratio`). Default 0.45. */
  skipRatio?: number;
  /**
   * A fixed layer set to skip; disables the search. `[]` drafts with the full model (every draft token is
   * the target's, a check of the machinery). Default: searched on the fly.
   */
  skipLayers?: readonly number[];
  /** Generated tokens the search scores a layer set on (`context_window`). Default 50. */
  contextWindow?: number;
  /** Stop searching once a layer set reproduces this fraction of the window (`max_score`). Default 0.93. */
  maxScore?: number;
  /** Stop after this many search iterations without improvement (`max_tolerance_iter`). Default 300. */
  maxToleranceIterations?: number;
  /** Stop after this many search iterations in all (`max_opt_iter`). Default 1000. */
  maxOptimizationIterations?: number;
  /** Every this-many-th iteration asks the Bayesian optimizer instead of random search (`bayes_interval`). Default 25. */
  bayesInterval?: number;
  /** Search iterations run every this many decoding steps (`opt_interval`). Default 1. */
  optimizationInterval?: number;
  /** Most autoregressive draft steps (`max_step_draft`). Default 25. */
  maxDraftSteps?: number;
  /** Drafting stops after a token whose draft top-1 probability is below this (`stop_threshold`). Default 0.8. */
  stopThreshold?: number;
  /** Most draft rows verified per target forward. Default 16 (stories260K's cost curve). */
  budget?: number;
  /** Seed of the layer search. Default 0. */
  seed?: number;
  /** Acceptance rule. Default: the engine's rejection sampling (greedy match at T = 0). */
  verifier?: Verifier;
  /**
   * The engine's adaptive depth cut. Default false: SWIFT already sizes its drafts by confidence, and a cut
   * after drafting throws away draft forwards already paid for.
   */
  adaptive?: boolean;
}

/** Where the layer search stands. */
export interface SwiftSearchState {
  /** Layers the drafts skip now. */
  readonly skipLayers: readonly number[];
  /** Fraction of the scoring window the current layer set reproduces (0 before the first iteration). */
  readonly score: number;
  readonly iterations: number;
  /** Iterations since the last improvement. */
  readonly tolerance: number;
  /** False once a stopping rule fired (or with a fixed layer set). */
  readonly searching: boolean;
  /** Every layer set tried, in order, with its score. */
  readonly history: readonly {
    readonly skipLayers: readonly number[];
    readonly score: number;
    readonly bayes: boolean;
  }[];
}

/** A SWIFT strategy; its layer search persists across generations (as the official evaluation's does). */
export interface SwiftStrategy extends Strategy {
  search(): SwiftSearchState;
}

function check(condition: boolean, argument: string, message: string): void {
  if (!condition) throw new InvalidArgumentError({ argument, message });
}

const positiveInteger = (value: number) => Number.isInteger(value) && value >= 1;

/**
 * SWIFT (Xia et al., 2024, "SWIFT: On-the-Fly Self-Speculative Decoding for LLM Inference Acceleration",
 * https://arxiv.org/abs/2410.06916; official code hemingkx/SWIFT). The target drafts for itself with some
 * layers skipped: each step runs the skipped model autoregressively on a fork of the target's KV cache
 * until its top-1 probability drops below `stopThreshold`, widens each draft position into top-k siblings
 * by confidence (3/5/8/10 candidates greedy, 1/3/5/10 sampling, for >0.95/>0.8/>0.5/else), and the target
 * verifies the tree in one forward. Which layers to skip is searched on the fly: once `contextWindow + 1`
 * tokens are generated, every `optimizationInterval` steps one candidate set (random, or from a Gaussian
 * process with UCB every `bayesInterval`-th iteration) is scored by the fraction of the generated window
 * the skipped model reproduces under teacher forcing, and kept when it beats the current one.
 *
 * Needs `capabilities.layerSkip` (decodekit's graph builder exports per-layer skip switches); it skips whole
 * layers, where the paper skips attention and MLP sublayers separately.
 *
 * @example
 * const strategy = swift();
 * const decoder = createDecoder({ model }).use(strategy);
 * await decoder.generate('Once upon a time', { maxTokens: 128 });
 * console.log(strategy.search().skipLayers);
 */
export function swift(options: SwiftOptions = {}): SwiftStrategy {
  const {
    skipRatio = 0.45,
    contextWindow = 50,
    maxScore = 0.93,
    maxToleranceIterations = 300,
    maxOptimizationIterations = 1000,
    bayesInterval = 25,
    optimizationInterval = 1,
    maxDraftSteps = 25,
    stopThreshold = 0.8,
    budget = 16,
    seed = 0,
    verifier,
    adaptive = false,
  } = options;
  check(skipRatio > 0 && skipRatio < 1, 'skipRatio', `must be in (0, 1), got ${skipRatio}.`);
  for (const [value, name] of [
    [contextWindow, 'contextWindow'],
    [maxToleranceIterations, 'maxToleranceIterations'],
    [maxOptimizationIterations, 'maxOptimizationIterations'],
    [bayesInterval, 'bayesInterval'],
    [optimizationInterval, 'optimizationInterval'],
    [maxDraftSteps, 'maxDraftSteps'],
    [budget, 'budget'],
  ] as const) {
    check(positiveInteger(value), name, `must be a positive integer, got ${value}.`);
  }
  check(maxScore > 0 && maxScore <= 1, 'maxScore', `must be in (0, 1], got ${maxScore}.`);
  check(
    stopThreshold >= 0 && stopThreshold <= 1,
    'stopThreshold',
    `must be in [0, 1], got ${stopThreshold}.`,
  );
  if (options.skipLayers !== undefined) {
    check(
      Array.isArray(options.skipLayers) &&
        options.skipLayers.every(layer => Number.isInteger(layer) && layer >= 0),
      'skipLayers',
      'must be an array of layer indices.',
    );
  }

  const random = seededRandom(seed >>> 0);
  const history: { skipLayers: number[]; score: number; bayes: boolean }[] = [];
  let current: number[] | undefined = options.skipLayers ? [...options.skipLayers] : undefined;
  let bestScore = 0;
  let iterations = 0;
  let tolerance = 0;
  let searching = options.skipLayers === undefined;
  let bayes: BayesSearch | undefined;

  /** The layers a point of [0, 1]^(L - 2) selects: its `count` largest coordinates (layer i + 1). */
  const pointToLayers = (point: Float64Array, count: number): number[] =>
    Array.from(point, (value, index) => ({ value, layer: index + 1 }))
      .sort((a, b) => b.value - a.value || a.layer - b.layer)
      .slice(0, count)
      .map(entry => entry.layer)
      .sort((a, b) => a - b);
  const layersToPoint = (layers: readonly number[], dimensions: number): Float64Array =>
    Float64Array.from({ length: dimensions }, (_, index) => (layers.includes(index + 1) ? 1 : 0));

  function skipCount(numLayers: number): number {
    return Math.max(1, Math.floor((numLayers - 2) * skipRatio));
  }

  function randomLayers(numLayers: number): number[] {
    const pool = Array.from({ length: numLayers - 2 }, (_, index) => index + 1);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(random.next() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, skipCount(numLayers)).sort((a, b) => a - b);
  }

  async function run(context: StrategyContext): Promise<void> {
    const { model } = context;
    const numLayers = model.info.numLayers;
    if (current) {
      for (const layer of current) {
        check(
          layer < numLayers,
          'skipLayers',
          `layer ${layer} does not exist; ${model.info.name} has ${numLayers} layers.`,
        );
      }
    }
    if (numLayers < 3) searching = false; // nothing skippable between the first and the last layer
    if (current === undefined) current = numLayers < 3 ? [] : randomLayers(numLayers);
    const dimensions = Math.max(1, numLayers - 2);
    bayes ??= new BayesSearch(dimensions);

    // The prompt's KV (everything but the pending token), kept for scoring layer sets on this generation.
    const promptState = context.sequence.fork();
    const promptPending = context.tokens[context.tokens.length - 1];
    const promptLength = context.tokens.length;
    const scored = new Map<string, number>();
    let steps = 0;

    /** Fraction of the first window of generated tokens the skipped model predicts under teacher forcing. */
    async function score(layers: readonly number[], generated: readonly number[]): Promise<number> {
      const key = layers.join();
      const known = scored.get(key);
      if (known !== undefined) return known; // same window, same set: same score (saves a forward)
      const input = Int32Array.from([promptPending, ...generated.slice(0, contextWindow)]);
      const { logits } = await promptState.forward(
        { tokens: input, skipLayers: layers },
        { signal: context.signal },
      );
      promptState.commit([]);
      const vocab = model.info.vocabSize;
      let hits = 0;
      for (let row = 0; row < input.length; row++) {
        if (argmax(logits, row * vocab, vocab) === generated[row]) hits++;
      }
      const value = hits / input.length;
      scored.set(key, value);
      return value;
    }

    async function optimize(tokens: readonly number[]): Promise<void> {
      const generated = tokens.slice(promptLength);
      if (!searching || generated.length <= contextWindow + 1 || steps % optimizationInterval !== 0)
        return;
      if (history.length === 0 && current) {
        bestScore = await score(current, generated);
        history.push({ skipLayers: [...current], score: bestScore, bayes: false });
      }
      const useBayes = (iterations + 1) % bayesInterval === 0;
      invariant(bayes !== undefined, 'searching creates the Bayesian optimizer');
      const candidate = useBayes
        ? pointToLayers(bayes.suggest(random), skipCount(numLayers))
        : randomLayers(numLayers);
      const value = await score(candidate, generated);
      bayes.register(layersToPoint(candidate, dimensions), value);
      history.push({ skipLayers: candidate, score: value, bayes: useBayes });
      if (value > bestScore) {
        bestScore = value;
        current = candidate;
        tolerance = 0;
        if (value > maxScore) searching = false;
      } else {
        tolerance++;
      }
      iterations++;
      if (tolerance > maxToleranceIterations || iterations > maxOptimizationIterations)
        searching = false;
    }

    const drafter: Drafter = {
      name: 'swift',
      async propose(draft: DraftContext): Promise<DraftTree | undefined> {
        steps++;
        await optimize(draft.tokens);
        return selfDraft(context.sequence, draft, current ?? [], model.info.vocabSize, {
          maxDraftSteps,
          stopThreshold,
          signal: context.signal,
        });
      },
    };
    try {
      await speculative({ drafter, verifier, budget, adaptive }).run(context);
    } finally {
      promptState.dispose();
    }
  }

  return {
    kind: 'strategy',
    name: 'swift',
    lossless: verifier?.lossless ?? true,
    requires: ['layerSkip'],
    run,
    search: () => ({
      skipLayers: current ? [...current] : [],
      score: bestScore,
      iterations,
      tolerance,
      searching,
      history: history.map(entry => ({ ...entry, skipLayers: [...entry.skipLayers] })),
    }),
  };
}

function argmax(values: Float32Array, start: number, length: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    if (values[start + i] > bestValue) {
      bestValue = values[start + i];
      best = i;
    }
  }
  return best;
}

/** Candidates per draft position by the draft's top-1 confidence (the official `get_choices_list`). */
function branchesFor(confidence: number, greedy: boolean): number {
  const [a, b, c, d] = greedy ? [3, 5, 8, 10] : [1, 3, 5, 10];
  return confidence > 0.95 ? a : confidence > 0.8 ? b : confidence > 0.5 ? c : d;
}

/**
 * Drafts autoregressively with `skipLayers` on a fork of the target's sequence (the fork shares the
 * target's KV for the prefix), then lays out the tree: the top-1 chain first, then each position's
 * alternatives (children of the chain node before it), shallow first, so a budget cut keeps the chain.
 */
async function selfDraft(
  sequence: Sequence,
  draft: DraftContext,
  skipLayers: readonly number[],
  vocabSize: number,
  {
    maxDraftSteps,
    stopThreshold,
    signal,
  }: { maxDraftSteps: number; stopThreshold: number; signal?: AbortSignal },
): Promise<DraftTree | undefined> {
  const limit = Math.min(maxDraftSteps, draft.remaining, draft.maxNodes);
  if (limit < 1) return undefined;
  const fork = sequence.fork();
  const chain: number[] = [];
  const alternatives: number[][] = [];
  try {
    let input = draft.tokens[draft.tokens.length - 1];
    for (let step = 0; step < limit; step++) {
      const { logits } = await fork.forward(
        { tokens: Int32Array.of(input), skipLayers },
        { signal },
      );
      fork.commit([0]);
      const probabilities = softmax(logits.subarray(0, vocabSize));
      const confidence = probabilities[argmax(probabilities, 0, vocabSize)];
      const ranked = topK(
        probabilities,
        draft.treeCapable ? branchesFor(confidence, draft.greedy) : 1,
      );
      chain.push(ranked[0]);
      alternatives.push(ranked.slice(1));
      input = ranked[0];
      if (confidence < stopThreshold) break;
    }
  } finally {
    fork.dispose();
  }
  const tokens: number[] = [...chain];
  const parents: number[] = chain.map((_, i) => i - 1);
  for (let depth = 0; depth < alternatives.length; depth++) {
    for (const token of alternatives[depth]) {
      tokens.push(token);
      parents.push(depth - 1);
    }
  }
  return { tokens: Int32Array.from(tokens), parents: Int32Array.from(parents) };
}

/** Indices of the k largest values, largest first. */
function topK(values: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length < k) {
      best.push(i);
      best.sort((a, b) => values[b] - values[a]);
    } else if (values[i] > values[best[k - 1]]) {
      best[k - 1] = i;
      best.sort((a, b) => values[b] - values[a]);
    }
  }
  return best;
}
