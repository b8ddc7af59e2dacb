import {
  InvalidArgumentError,
  VocabMismatchError,
  argmax,
  sampleFromProbabilities,
  seededRandom,
  invariant,
} from '@decodekit/core';
import type {
  CausalLM,
  DraftContext,
  DraftTree,
  Drafter,
  RandomSource,
  Sequence,
} from '@decodekit/core';
import { bm25ChunkScorer, type ChunkScorer } from './chunk-scorer.js';
import { checkShortenOptions, shortenContext } from './shorten-context.js';

/** Options of `rapidDrafter()`. */
export interface RapidDrafterOptions {
  /**
   * The model that drafts on the RAG context. Default: the target itself (the paper's self-speculation);
   * a different model must share the target's vocabulary.
   */
  readonly model?: CausalLM;
  /** Ranks chunks of the long context against the recent tokens. Default `bm25ChunkScorer()`. */
  readonly scorer?: ChunkScorer;
  /** Tokens per chunk (the paper: 512 with 8K-128K contexts). Default 32. */
  readonly chunkTokens?: number;
  /** Chunks in the RAG context (the paper: 16). Default 4. */
  readonly topChunks?: number;
  /** Most recent prompt tokens kept verbatim; they are also the retrieval query. Default 64. */
  readonly recentTokens?: number;
  /** Prompt tokens kept verbatim at the start (BOS). Default 1. */
  readonly keepPrefix?: number;
  /** Tokens drafted per step (γ; the paper: 10). Default 5. */
  readonly numDraftTokens?: number;
  /**
   * 0 (default): greedy drafts without probabilities. > 0: drafts sampled from `softmax(logits / temperature)`
   * with their distributions, so `speculative()` runs exact speculative sampling.
   */
  readonly temperature?: number;
  /** Seed of the draft sampler when the engine gives none. Default 0. */
  readonly seed?: number;
}

/** The RAPID drafter, with counters for cost accounting. */
export interface RapidDrafter extends Drafter {
  readonly name: 'rapid';
  readonly providesProbabilities: boolean;
  /** Draft forwards so far. */
  readonly draftForwards: number;
  /** Length of the last generation's RAG prompt (what the draft model sees instead of the full prompt). */
  readonly ragPromptLength: number;
  /** Start offsets of the chunks kept for the last generation (empty when the prompt was kept whole). */
  readonly retrievedChunkStarts: readonly number[];
}

interface Generation {
  readonly prompt: readonly number[];
  readonly rag: readonly number[];
}

/**
 * RAPID's RAG drafter (Chen et al., 2025, "Long-Context Inference with Retrieval-Augmented Speculative
 * Decoding", https://arxiv.org/abs/2502.20330): at the start of a generation the long prompt is cut into
 * chunks, the chunks most relevant to the recent tokens are kept, and the draft model runs on
 * `prefix ; top chunks ; recent tokens ; generated tokens` with its own KV sequence — a much shorter context
 * than the target's. The target verifies over the full context with `speculative()`, so the output follows
 * the target exactly (the paper's lossy "retrieval-augmented target distribution" is not applied).
 *
 * @example
 * const decoder = createDecoder({ model }).use(speculative({ drafter: rapidDrafter({ topChunks: 4 }) }));
 */
export function rapidDrafter(options: RapidDrafterOptions = {}): RapidDrafter {
  const {
    model: draftOption,
    scorer = bm25ChunkScorer(),
    chunkTokens = 32,
    topChunks = 4,
    recentTokens = 64,
    keepPrefix = 1,
    numDraftTokens = 5,
    temperature = 0,
    seed = 0,
  } = options;
  if (
    draftOption !== undefined &&
    (typeof draftOption.createSequence !== 'function' || !draftOption.info)
  ) {
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'rapidDrafter() needs a CausalLM to draft with, or none to draft with the target.',
    });
  }
  if (typeof scorer !== 'function')
    throw new InvalidArgumentError({
      argument: 'scorer',
      message: 'must be a ChunkScorer function, e.g. bm25ChunkScorer()',
    });
  checkShortenOptions({ keepPrefix, recentTokens, chunkTokens, topChunks });
  if (!Number.isInteger(numDraftTokens) || numDraftTokens < 1) {
    throw new InvalidArgumentError({
      argument: 'numDraftTokens',
      message: `must be a positive integer, got ${numDraftTokens}`,
    });
  }
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `must be >= 0 (0 = greedy drafts), got ${String(temperature)}`,
    });
  }
  if (!Number.isSafeInteger(seed))
    throw new InvalidArgumentError({
      argument: 'seed',
      message: `must be a safe integer, got ${String(seed)}`,
    });

  const sampling = temperature > 0;
  let draft: CausalLM | undefined = draftOption;
  let sequence: Sequence | undefined;
  let generations: Generation[] = [];
  let trusted = 0;
  let random: RandomSource = seededRandom(seed);
  let eos = new Set<number>();
  let draftForwards = 0;
  let ragPromptLength = 0;
  let retrievedChunkStarts: number[] = [];

  /** The draft model's view of the context: the RAG prompt, then everything generated after the prompt. */
  function viewOf(tokens: readonly number[]): readonly number[] {
    let best: Generation | undefined;
    for (const generation of generations) {
      const { prompt } = generation;
      if (prompt.length > tokens.length || (best && best.prompt.length >= prompt.length)) continue;
      let same = true;
      for (let i = prompt.length - 1; i >= 0 && same; i--) same = prompt[i] === tokens[i];
      if (same) best = generation;
    }
    // A context this drafter has not seen a prompt for (no begin): draft on it as it is.
    return best ? [...best.rag, ...tokens.slice(best.prompt.length)] : tokens;
  }

  async function syncTo(
    draftModel: CausalLM,
    context: readonly number[],
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    sequence ??= draftModel.createSequence();
    const committed = sequence.tokens;
    const limit = Math.min(committed.length, context.length - 1);
    let common = generations.length > 1 ? 0 : Math.min(trusted, limit);
    while (common < limit && committed[common] === context[common]) common++;
    if (common < committed.length) sequence.truncate(common);
    const feed = Int32Array.from(context.slice(common));
    const { logits } = await sequence.forward({ tokens: feed }, { signal });
    draftForwards++;
    sequence.commit(Array.from({ length: feed.length }, (_, i) => i));
    trusted = context.length;
    const vocab = draftModel.info.vocabSize;
    return logits.subarray((feed.length - 1) * vocab, feed.length * vocab);
  }

  function pick(logits: Float32Array, distribution: Float32Array | undefined): number {
    if (!distribution) return argmax(logits);
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
    let sum = 0;
    for (let i = 0; i < logits.length; i++)
      sum += distribution[i] = Math.exp((logits[i] - max) / temperature);
    for (let i = 0; i < logits.length; i++) distribution[i] /= sum;
    return sampleFromProbabilities(distribution, random);
  }

  return {
    name: 'rapid',
    providesProbabilities: sampling,
    get draftForwards() {
      return draftForwards;
    },
    get ragPromptLength() {
      return ragPromptLength;
    },
    get retrievedChunkStarts() {
      return retrievedChunkStarts;
    },
    async begin({ tokens, model: target, random: draftRandom, signal }) {
      if (draftRandom) random = draftRandom;
      if (draft && draft !== target && draft.info.vocabSize !== target.info.vocabSize) {
        throw new VocabMismatchError({
          message:
            `The RAPID draft model "${draft.info.name}" has ${draft.info.vocabSize} tokens but the target "${target.info.name}" has ` +
            `${target.info.vocabSize}: draft with the target itself (leave model out) or a model with the same tokenizer.`,
        });
      }
      if (!draft) draft = target;
      else if (!draftOption && draft !== target) {
        // Self-speculation follows the target of this generation.
        sequence?.dispose();
        sequence = undefined;
        draft = target;
      }
      eos = new Set(target.info.eosTokenIds);
      const rag = await shortenContext(tokens, {
        keepPrefix,
        recentTokens,
        chunkTokens,
        topChunks,
        scorer,
        signal,
      });
      generations.push({ prompt: [...tokens], rag: rag.tokens });
      ragPromptLength = rag.tokens.length;
      retrievedChunkStarts = rag.chunkStarts;
      trusted = 0;
    },
    async propose(context: DraftContext): Promise<DraftTree | undefined> {
      if (!draft) return undefined;
      const view = viewOf(context.tokens);
      const room = draft.info.contextLength - view.length + 1;
      const count = Math.min(numDraftTokens, context.maxNodes, context.remaining, room);
      if (count < 1) return undefined;
      const vocab = draft.info.vocabSize;
      const tokens = new Int32Array(count);
      const q = sampling ? new Float32Array(count) : undefined;
      const qDistributions = sampling ? new Float32Array(count * vocab) : undefined;
      let logits = await syncTo(draft, view, context.signal);
      const draftSequence = sequence;
      invariant(draftSequence !== undefined, 'syncTo creates the draft sequence');
      const step = new Int32Array(1);
      let drafted = 0;
      for (;;) {
        const distribution = qDistributions?.subarray(drafted * vocab, (drafted + 1) * vocab);
        const token = pick(logits, distribution);
        tokens[drafted] = token;
        if (q && distribution) q[drafted] = distribution[token];
        drafted++;
        if (drafted === count || eos.has(token)) break;
        step[0] = token;
        ({ logits } = await draftSequence.forward({ tokens: step }, { signal: context.signal }));
        draftForwards++;
        draftSequence.commit([0]);
      }
      const parents = Int32Array.from({ length: drafted }, (_, i) => i - 1);
      return {
        tokens: tokens.slice(0, drafted),
        parents,
        q: q?.slice(0, drafted),
        qDistributions: qDistributions?.slice(0, drafted * vocab),
      };
    },
    end() {
      generations.pop();
      if (generations.length === 0) {
        sequence?.dispose();
        sequence = undefined;
        trusted = 0;
        if (!draftOption) draft = undefined;
      }
    },
  };
}
