import { DraftSession, InvalidArgumentError } from '@decodekit/core';
import type { CausalLM, DraftContext, DraftTree, Drafter } from '@decodekit/core';
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
  DraftSession.validate({ model: draftOption, modelOptional: true, temperature, seed });
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

  const sampling = temperature > 0;
  /** The draft model's session: `model`, or the target of the running generations (self-speculation). */
  const sessionOptions = {
    temperature,
    seed,
    mismatchHint:
      'draft with the target itself (leave `model` out) or a model with the same tokenizer.',
  };
  let session: DraftSession | undefined =
    draftOption && new DraftSession(draftOption, sessionOptions);
  /** Draft forwards of sessions released for another target. */
  let releasedForwards = 0;
  let generations: Generation[] = [];
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

  return {
    name: 'rapid',
    providesProbabilities: sampling,
    get draftForwards() {
      return releasedForwards + (session?.forwards ?? 0);
    },
    get ragPromptLength() {
      return ragPromptLength;
    },
    get retrievedChunkStarts() {
      return retrievedChunkStarts;
    },
    async begin(context) {
      const { tokens, model: target, signal } = context;
      if (
        session &&
        !draftOption &&
        session.model !== target &&
        session.vocabSize === target.info.vocabSize
      ) {
        // Self-speculation follows the target of this generation.
        releasedForwards += session.forwards;
        session.dispose();
        session = undefined;
      }
      session ??= new DraftSession(target, sessionOptions);
      session.begin(context);
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
    },
    async propose(context: DraftContext): Promise<DraftTree | undefined> {
      if (!session) return undefined;
      const view = viewOf(context.tokens);
      const room = session.room(view.length) + 1;
      const count = Math.min(numDraftTokens, context.maxNodes, context.remaining, room);
      if (count < 1) return undefined;
      return session.draftChain(view, { count, signal: context.signal });
    },
    end() {
      generations.pop();
      session?.end();
      if (generations.length === 0 && !draftOption && session) {
        releasedForwards += session.forwards;
        session = undefined;
      }
    },
  };
}
