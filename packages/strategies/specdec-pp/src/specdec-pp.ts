import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  VocabMismatchError,
  argmax,
  sampleFromProbabilities,
  seededRandom,
  speculative,
  invariant,
} from '@decodekit/core';
import type {
  CausalLM,
  DraftContext,
  DraftTree,
  Drafter,
  RandomSource,
  Sequence,
  Strategy,
  VerifyResult,
} from '@decodekit/core';
import type { AcceptanceFeatures, AcceptanceHead } from './acceptance-head.js';

/** Options of `specdecPPDrafter()` and `specdecPP()`. */
export interface SpecDecPPOptions {
  /** The draft model; needs `capabilities.hiddenStates` and the target's vocabulary. */
  model: CausalLM;
  /** Predicts P(accept) of each draft token from the draft's hidden state (e.g. a fitted logistic head). */
  head: AcceptanceHead;
  /**
   * Stop drafting once the predicted probability that at least one drafted token is rejected,
   * 1 − ∏ P(accept), exceeds this. In (0, 1]; 1 never stops early. Default 0.3 (the paper's README run).
   */
  threshold?: number;
  /** Most tokens drafted per step. Default 20 (the paper's upper bound). */
  maxLength?: number;
  /** Fewest tokens drafted per step before the rule may stop. Default 1. */
  minLength?: number;
  /**
   * 0 (default): greedy drafts (deterministic-draft verification). > 0: drafts sampled from
   * softmax(logits / temperature), verified by speculative sampling. The output follows the target either way.
   */
  temperature?: number;
  /** Seed of the draft sampler when the engine gives none. Default 0. */
  seed?: number;
}

/** A SpecDec++ drafter. */
export interface SpecDecPPDrafter extends Drafter {
  readonly name: 'specdec-pp';
  readonly providesProbabilities: boolean;
  /** Draft-model forward calls so far. */
  readonly draftForwards: number;
  /** Draft steps so far and tokens drafted in them (mean draft length = draftedTokens / draftSteps). */
  readonly draftSteps: number;
  readonly draftedTokens: number;
}

/** One drafted token as seen by a recorder (used to collect training data for a head). */
export interface DraftRecord {
  readonly features: AcceptanceFeatures;
  readonly token: number;
}

/** Internal: receives the features of each proposed chain and its verification. */
export interface DraftRecorder {
  onVerify(records: readonly DraftRecord[], result: VerifyResult): void;
}

/**
 * The SpecDec++ drafter (Huang et al., 2024, https://arxiv.org/abs/2405.19715): a draft model drafts a
 * chain token by token; after each token it feeds the token, reads the draft's final hidden state there,
 * and asks the acceptance head for a = P(token accepted | earlier ones accepted). It stops drafting as
 * soon as 1 − ∏ a > threshold (or at `maxLength`). The rule only decides the draft length from the draft
 * itself, before verification, so the output distribution is the target's (speculative sampling verifies).
 */
export function specdecPPDrafter(
  options: SpecDecPPOptions,
  recorder?: DraftRecorder,
): SpecDecPPDrafter {
  const {
    model,
    head,
    threshold = 0.3,
    maxLength = 20,
    minLength = 1,
    temperature = 0,
    seed = 0,
  } = options ?? ({} as SpecDecPPOptions);
  if (!model || typeof model.createSequence !== 'function' || !model.info) {
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'specdecPP() needs a draft CausalLM (e.g. loadModel("llama2xs")).',
    });
  }
  if (!head || typeof head.predict !== 'function') {
    throw new InvalidArgumentError({
      argument: 'head',
      message:
        'needs an acceptance head with predict(features); fit one with fitAcceptanceHead() or load one with parseAcceptanceHead().',
    });
  }
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) {
    throw new InvalidArgumentError({
      argument: 'threshold',
      message: `must be in (0, 1], got ${String(threshold)}.`,
    });
  }
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new InvalidArgumentError({
      argument: 'maxLength',
      message: `must be a positive integer, got ${String(maxLength)}.`,
    });
  }
  if (!Number.isInteger(minLength) || minLength < 1 || minLength > maxLength) {
    throw new InvalidArgumentError({
      argument: 'minLength',
      message: `must be an integer in [1, maxLength], got ${String(minLength)}.`,
    });
  }
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `must be ≥ 0 (0 = greedy drafts), got ${String(temperature)}.`,
    });
  }
  if (!Number.isSafeInteger(seed))
    throw new InvalidArgumentError({
      argument: 'seed',
      message: `must be a safe integer, got ${String(seed)}.`,
    });
  if (!model.capabilities.hiddenStates) {
    throw new UnsupportedCapabilityError({
      capability: 'hiddenStates',
      backendId: model.capabilities.backendId,
      hint: "SpecDec++ reads the draft model's final hidden state; load the draft with a backend/export that returns `hidden` (e.g. @decodekit/backend-onnx).",
    });
  }

  const vocabSize = model.info.vocabSize;
  const sampling = temperature > 0;
  let sequence: Sequence | undefined;
  let random: RandomSource = seededRandom(seed);
  let eos = new Set<number>();
  let draftForwards = 0;
  let draftSteps = 0;
  let draftedTokens = 0;
  let records: DraftRecord[] = [];
  /** Generations running (begin without end): the sequence is released when the last one ends. */
  let active = 0;

  async function forward(
    tokens: Int32Array,
    signal?: AbortSignal,
  ): Promise<{ logits: Float32Array; hidden: Float32Array }> {
    invariant(sequence !== undefined, 'syncTo creates the draft sequence before forward');
    const draft = sequence;
    const { logits, hidden } = await draft.forward({ tokens, hidden: true }, { signal });
    draftForwards++;
    draft.commit(Array.from({ length: tokens.length }, (_, i) => i));
    if (!hidden) {
      throw new UnsupportedCapabilityError({
        capability: 'hiddenStates',
        backendId: model.capabilities.backendId,
        hint: 'the draft forward returned no hidden states.',
      });
    }
    return { logits, hidden };
  }

  /** Brings the draft sequence to `context`; returns the draft logits after it. [vocab] */
  async function syncTo(context: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    sequence ??= model.createSequence();
    const committed = sequence.tokens;
    const limit = Math.min(committed.length, context.length - 1);
    let common = 0;
    while (common < limit && committed[common] === context[common]) common++;
    if (common < committed.length) sequence.truncate(common);
    const feed = Int32Array.from(context.slice(common));
    const { logits } = await sequence.forward({ tokens: feed }, { signal });
    draftForwards++;
    sequence.commit(Array.from({ length: feed.length }, (_, i) => i));
    return logits.slice((feed.length - 1) * vocabSize, feed.length * vocabSize);
  }

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

  return {
    name: 'specdec-pp',
    providesProbabilities: sampling,
    requires: [],
    preferredBudget: maxLength,
    get draftForwards() {
      return draftForwards;
    },
    get draftSteps() {
      return draftSteps;
    },
    get draftedTokens() {
      return draftedTokens;
    },
    begin({ model: target, random: draftRandom }) {
      if (draftRandom) random = draftRandom;
      if (target.info.vocabSize !== vocabSize) {
        throw new VocabMismatchError({
          message:
            `The draft model "${model.info.name}" has ${vocabSize} tokens but the target "${target.info.name}" has ` +
            `${target.info.vocabSize}. SpecDec++ needs a draft model with the target's tokenizer.`,
        });
      }
      eos = new Set(target.info.eosTokenIds);
      active++;
    },
    async propose(context: DraftContext): Promise<DraftTree | undefined> {
      const room = model.info.contextLength - context.tokens.length;
      const count = Math.min(maxLength, context.maxNodes, context.remaining, room);
      if (count < 1) return undefined;
      const tokens = new Int32Array(count);
      const q = sampling ? new Float32Array(count) : undefined;
      const qDistributions = sampling ? new Float32Array(count * vocabSize) : undefined;
      let logits = await syncTo(context.tokens, context.signal);
      const step = new Int32Array(1);
      let drafted = 0;
      let acceptAll = 1;
      records = [];
      for (;;) {
        const distribution = qDistributions?.subarray(
          drafted * vocabSize,
          (drafted + 1) * vocabSize,
        );
        const token = pick(logits, distribution);
        tokens[drafted] = token;
        const draftProbability = distribution ? distribution[token] : 1;
        if (q) q[drafted] = draftProbability;
        drafted++;
        if (drafted === count || eos.has(token)) break;
        // Feed the token: its hidden state scores it, its logits give the next draft token.
        step[0] = token;
        const out = await forward(step, context.signal);
        logits = out.logits;
        const features: AcceptanceFeatures = {
          hidden: out.hidden,
          draftProbability,
          depth: drafted - 1,
        };
        if (recorder)
          records.push({ features: { ...features, hidden: out.hidden.slice() }, token });
        const accept = Math.min(1, Math.max(0, head.predict(features)));
        acceptAll *= accept;
        if (drafted >= minLength && 1 - acceptAll > threshold) break;
      }
      draftSteps++;
      draftedTokens += drafted;
      const parents = Int32Array.from({ length: drafted }, (_, i) => i - 1);
      return {
        tokens: tokens.slice(0, drafted),
        parents,
        q: q?.slice(0, drafted),
        qDistributions: qDistributions?.slice(0, drafted * vocabSize),
      };
    },
    observe(result: VerifyResult) {
      recorder?.onVerify(records, result);
    },
    end() {
      active = Math.max(0, active - 1);
      if (active > 0) return;
      sequence?.dispose();
      sequence = undefined;
    },
  };
}

/**
 * SpecDec++ as a strategy: `speculative()` over `specdecPPDrafter()`, verifying every drafted token
 * (the stopping rule, not the engine's adaptive cut, decides the draft length).
 *
 * @example
 * const head = parseAcceptanceHead(readFileSync('llama2xs-head.json', 'utf8'));
 * const decoder = createDecoder({ model: target }).use(specdecPP({ model: draft, head, threshold: 0.3 }));
 */
export function specdecPP(
  options: SpecDecPPOptions,
): Strategy & { readonly drafter: SpecDecPPDrafter } {
  const drafter = specdecPPDrafter(options);
  const strategy = speculative({ drafter, budget: drafter.preferredBudget, adaptive: false });
  return Object.assign(strategy, { drafter });
}
