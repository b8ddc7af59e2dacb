import { DraftSession, InvalidArgumentError } from '@decodekit/core';
import type { CausalLM, DraftContext, DraftTree, Drafter, VerifyResult } from '@decodekit/core';

/** How the number of drafted tokens changes between steps (Hugging Face `num_assistant_tokens_schedule`). */
export type DraftSchedule = 'heuristic' | 'heuristic-transient' | 'constant';

/** Options of `draftModel()`. */
export interface DraftModelOptions {
  /** The draft (assistant) model. Must share the target's tokenizer and vocabulary. */
  model: CausalLM;
  /** Tokens drafted per step at the start (`num_assistant_tokens`). Default 5. */
  numAssistantTokens?: number;
  /**
   * `'heuristic'` (default): +2 after a step whose draft was fully accepted, −1 (min 1) otherwise; the
   * adapted value carries over to the next generation, as in Hugging Face. `'heuristic-transient'`: the
   * same, but every generation starts from `numAssistantTokens`. `'constant'`: always `numAssistantTokens`.
   */
  schedule?: DraftSchedule;
  /**
   * 0 (default): the draft model drafts greedily and gives no draft probabilities; the engine treats the
   * drafts as deterministic (greedy match at temperature 0, deterministic-draft acceptance when the
   * decoder samples). > 0: the draft model samples from `softmax(logits / temperature)` and returns that
   * distribution as `q` / `qDistributions`, so the engine runs speculative sampling (Leviathan/Chen).
   * Either way the output follows the target exactly; the drafter cannot see the decoder's temperature,
   * so set this to the decoder's sampling temperature for the best acceptance rate.
   */
  temperature?: number;
  /**
   * Seed of the draft sampler when the engine gives none (sampling drafts only). Default 0. Under
   * `speculative()` each generation uses the engine's draft stream, derived from the generation's seed.
   */
  seed?: number;
}

/** A draft-model drafter; `numAssistantTokens` is the schedule's current draft length. */
export interface DraftModelDrafter extends Drafter {
  readonly name: 'draft-model';
  readonly providesProbabilities: boolean;
  /** Draft length the schedule will ask for next. */
  readonly numAssistantTokens: number;
  /** Draft-model forward calls made so far (for cost accounting). */
  readonly draftForwards: number;
}

/**
 * Draft-model speculative decoding (Leviathan et al., 2023, https://arxiv.org/abs/2211.17192; Chen et
 * al., 2023; Hugging Face "assisted generation"): a smaller causal LM with the target's vocabulary
 * drafts a chain of tokens, one draft forward per token, and the target verifies the whole chain in one
 * forward. The drafter keeps its own KV sequence in step with the context: each step it truncates the
 * draft sequence to the longest prefix it shares with the context (dropping rejected drafts) and feeds
 * only the tokens it is missing.
 *
 * @example
 * const decoder = createDecoder({ model: target })
 *   .use(speculative({ drafter: draftModel({ model: draft }) }));
 */
export function draftModel(options: DraftModelOptions): DraftModelDrafter {
  const {
    model,
    numAssistantTokens = 5,
    schedule = 'heuristic',
    temperature = 0,
    seed = 0,
  } = options ?? ({} as DraftModelOptions);
  DraftSession.validate({ model, temperature, seed });
  if (!Number.isInteger(numAssistantTokens) || numAssistantTokens < 1) {
    throw new InvalidArgumentError({
      argument: 'numAssistantTokens',
      message: `must be a positive integer, got ${numAssistantTokens}.`,
    });
  }
  if (schedule !== 'heuristic' && schedule !== 'heuristic-transient' && schedule !== 'constant') {
    throw new InvalidArgumentError({
      argument: 'schedule',
      message: `must be 'heuristic', 'heuristic-transient' or 'constant', got ${String(schedule)}.`,
    });
  }

  const sampling = temperature > 0;
  let length = numAssistantTokens;
  let lastMaxNodes = Number.POSITIVE_INFINITY;
  // One draft sequence serves every generation of this drafter; it keeps the longest common prefix with
  // each context and trusts the prefix it synced last while one generation runs. Each generation draws
  // drafts from the engine's draft stream (seeded from the generation's seed and independent of the
  // verifier's), so runs are reproducible per seed. NOTE: drafts must be fresh samples from q in every
  // run; the same token in every run would bias speculative sampling.
  const session = new DraftSession(model, { temperature, seed });
  /** The running generation's warning channel (from `begin`). */
  let warn: ((code: string, message: string) => void) | undefined;

  /** One draft (see `propose`), run while no other generation uses the draft sequence. */
  async function proposeInTurn(context: DraftContext): Promise<DraftTree | undefined> {
    lastMaxNodes = context.maxNodes;
    // The draft sequence holds context + drafts − 1 tokens at most.
    const room = model.info.contextLength - context.tokens.length + 1;
    const count = Math.min(Math.floor(length), context.maxNodes, context.remaining, room);
    if (room < 1) {
      warn?.(
        'draft-context-exceeded',
        `The draft model "${model.info.name}" has a context of ${model.info.contextLength} tokens but the ` +
          `sequence has ${context.tokens.length}: it drafts nothing from here on and decoding runs at the ` +
          "target's plain speed. Use a draft model with a longer context, or a drafter without one " +
          '(promptLookup(), tokenRecycling()).',
      );
    }
    if (count < 1) return undefined;
    return session.draftChain(context.tokens, { count, signal: context.signal });
  }

  return {
    name: 'draft-model',
    providesProbabilities: sampling,
    get numAssistantTokens() {
      return length;
    },
    get draftForwards() {
      return session.forwards;
    },
    begin(context) {
      warn = context.warn;
      session.begin(context);
      if (schedule === 'heuristic-transient') length = numAssistantTokens;
    },
    propose(context: DraftContext): Promise<DraftTree | undefined> {
      // Generations in flight at once (one decoder, concurrent generate() calls) take turns on the one
      // draft sequence.
      return session.inTurn(() => proposeInTurn(context));
    },
    observe(result: VerifyResult) {
      const proposed = result.tree.tokens.length;
      if (schedule === 'constant' || proposed === 0) return;
      // Hugging Face's heuristic: lengthen after a fully accepted draft, shorten otherwise. The cap keeps
      // the length from growing past what the engine verifies per step.
      if (result.acceptedRows.length === proposed)
        length = Math.min(length + 2, Math.max(numAssistantTokens, lastMaxNodes));
      else length = Math.max(1, length - 1);
    },
    end() {
      session.end();
    },
  };
}
