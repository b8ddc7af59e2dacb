import {
  InvalidArgumentError,
  invariant,
  VocabMismatchError,
  argmax,
  sampleFromProbabilities,
  seededRandom,
} from '@decodekit/core';
import type {
  CausalLM,
  DraftContext,
  DraftTree,
  Drafter,
  RandomSource,
  Sequence,
  VerifyResult,
} from '@decodekit/core';

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
  if (!model || typeof model.createSequence !== 'function' || !model.info) {
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'draftModel() needs a CausalLM to draft with (e.g. from loadModel()).',
    });
  }
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
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `must be ≥ 0 (0 = greedy drafts), got ${String(temperature)}.`,
    });
  }
  if (!Number.isSafeInteger(seed)) {
    throw new InvalidArgumentError({
      argument: 'seed',
      message: `must be a safe integer, got ${String(seed)}.`,
    });
  }

  const vocabSize = model.info.vocabSize;
  const sampling = temperature > 0;
  let length = numAssistantTokens;
  let lastMaxNodes = Number.POSITIVE_INFINITY;
  let sequence: Sequence | undefined;
  /** Generations running (begin without end): the sequence is released when the last one ends. */
  let active = 0;
  /** Length of the committed draft prefix known to equal the current generation's context. */
  let trusted = 0;
  // Each generation draws drafts from the engine's draft stream (seeded from the generation's seed and
  // independent of the verifier's), so runs are reproducible per seed. NOTE: drafts must be fresh samples
  // from q in every run; the same token in every run would bias speculative sampling.
  let random: RandomSource = seededRandom(seed);
  let eos = new Set<number>();
  let draftForwards = 0;
  /** The running generation's warning channel (from `begin`). */
  let warn: ((code: string, message: string) => void) | undefined;
  /** Settles when the last queued proposal is done (proposals take turns on the one draft sequence). */
  let queue: Promise<unknown> = Promise.resolve();

  /** Brings the draft sequence to `context` and returns the draft logits after it. [vocab] */
  async function syncTo(context: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    sequence ??= model.createSequence();
    const committed = sequence.tokens;
    // Keep at most all but the last context token, so one forward yields the logits after the context.
    const limit = Math.min(committed.length, context.length - 1);
    // Within one generation the context only grows, so the first `trusted` tokens need no recheck.
    let common = active > 1 ? 0 : Math.min(trusted, limit);
    while (common < limit && committed[common] === context[common]) common++;
    if (common < committed.length) sequence.truncate(common);
    const feed = Int32Array.from(context.slice(common));
    const { logits } = await sequence.forward({ tokens: feed }, { signal });
    draftForwards++;
    sequence.commit(rangeOf(feed.length));
    trusted = context.length;
    return logits.subarray((feed.length - 1) * vocabSize, feed.length * vocabSize);
  }

  /** Picks the next draft token; writes its distribution into `distribution` when sampling. */
  function pick(logits: Float32Array, distribution: Float32Array | undefined): number {
    if (!distribution) return argmax(logits);
    let max = -Infinity;
    for (let i = 0; i < vocabSize; i++) if (logits[i] > max) max = logits[i];
    let sum = 0;
    for (let i = 0; i < vocabSize; i++) {
      const weight = Math.exp((logits[i] - max) / temperature);
      distribution[i] = weight;
      sum += weight;
    }
    for (let i = 0; i < vocabSize; i++) distribution[i] /= sum;
    return sampleFromProbabilities(distribution, random);
  }

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
    const tokens = new Int32Array(count);
    const q = sampling ? new Float32Array(count) : undefined;
    const qDistributions = sampling ? new Float32Array(count * vocabSize) : undefined;
    let logits = await syncTo(context.tokens, context.signal);
    const draftSequence = sequence;
    invariant(draftSequence !== undefined, 'syncTo creates the draft sequence');
    const step = new Int32Array(1);
    let drafted = 0;
    for (;;) {
      const distribution = qDistributions?.subarray(drafted * vocabSize, (drafted + 1) * vocabSize);
      const token = pick(logits, distribution);
      tokens[drafted] = token;
      if (q && distribution) q[drafted] = distribution[token];
      drafted++;
      // Nothing after an end-of-sequence token can be emitted: stop drafting there.
      if (drafted === count || eos.has(token)) break;
      step[0] = token;
      ({ logits } = await draftSequence.forward({ tokens: step }, { signal: context.signal }));
      draftForwards++;
      draftSequence.commit([0]);
    }
    const parents = Int32Array.from({ length: drafted }, (_, i) => i - 1);
    if (drafted === count) return { tokens, parents, q, qDistributions };
    return {
      tokens: tokens.slice(0, drafted),
      parents,
      q: q?.slice(0, drafted),
      qDistributions: qDistributions?.slice(0, drafted * vocabSize),
    };
  }

  return {
    name: 'draft-model',
    providesProbabilities: sampling,
    get numAssistantTokens() {
      return length;
    },
    get draftForwards() {
      return draftForwards;
    },
    begin({ model: target, random: draftRandom, warn: sendWarning }) {
      if (draftRandom) random = draftRandom;
      warn = sendWarning;
      if (target.info.vocabSize !== vocabSize) {
        throw new VocabMismatchError({
          message:
            `The draft model "${model.info.name}" has a vocabulary of ${vocabSize} tokens but the target ` +
            `"${target.info.name}" has ${target.info.vocabSize}. A draft model must use the target's tokenizer ` +
            '(the same token ids): pick a smaller model of the same family, or draft without a second model ' +
            'with promptLookup() or tokenRecycling().',
        });
      }
      eos = new Set(target.info.eosTokenIds);
      active++;
      trusted = 0;
      if (schedule === 'heuristic-transient') length = numAssistantTokens;
    },
    propose(context: DraftContext): Promise<DraftTree | undefined> {
      // One draft sequence serves every generation of this drafter: generations in flight at once (one
      // decoder, concurrent generate() calls) take turns, so no forward/commit pair is interleaved.
      const turn = queue.then(() => proposeInTurn(context));
      queue = turn.catch(() => undefined);
      return turn;
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
      active = Math.max(0, active - 1);
      if (active === 0) {
        sequence?.dispose();
        sequence = undefined;
        trusted = 0;
      }
    },
  };
}

function rangeOf(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
