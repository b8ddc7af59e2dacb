import {
  DraftSession,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  speculative,
} from '@decodekit/core';
import type {
  CausalLM,
  DraftContext,
  DraftTree,
  Drafter,
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
  DraftSession.validate({
    model,
    temperature,
    seed,
    requires: [
      {
        capability: 'hiddenStates',
        hint: "SpecDec++ reads the draft model's final hidden state; load the draft with a backend/export that returns `hidden` (e.g. @decodekit/backend-onnx).",
      },
    ],
  });
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

  const sampling = temperature > 0;
  const session = new DraftSession(model, { temperature, seed });
  let draftSteps = 0;
  let draftedTokens = 0;
  let records: DraftRecord[] = [];

  return {
    name: 'specdec-pp',
    providesProbabilities: sampling,
    requires: [],
    preferredBudget: maxLength,
    get draftForwards() {
      return session.forwards;
    },
    get draftSteps() {
      return draftSteps;
    },
    get draftedTokens() {
      return draftedTokens;
    },
    begin(context) {
      session.begin(context);
    },
    async propose(context: DraftContext): Promise<DraftTree | undefined> {
      const count = Math.min(
        maxLength,
        context.maxNodes,
        context.remaining,
        session.room(context.tokens.length),
      );
      if (count < 1) return undefined;
      let acceptAll = 1;
      records = [];
      const tree = await session.draftChain(context.tokens, {
        count,
        signal: context.signal,
        hidden: true,
        // After each fed token: its hidden state scores it, and the rule decides whether to go on.
        afterFeed({ token, index, probability, hidden }) {
          if (!hidden) {
            throw new UnsupportedCapabilityError({
              capability: 'hiddenStates',
              backendId: model.capabilities.backendId,
              hint: 'the draft forward returned no hidden states.',
            });
          }
          const features: AcceptanceFeatures = {
            hidden,
            draftProbability: probability,
            depth: index,
          };
          if (recorder) records.push({ features: { ...features, hidden: hidden.slice() }, token });
          acceptAll *= Math.min(1, Math.max(0, head.predict(features)));
          return !(index + 1 >= minLength && 1 - acceptAll > threshold);
        },
      });
      draftSteps++;
      draftedTokens += tree.tokens.length;
      return tree;
    },
    observe(result: VerifyResult) {
      recorder?.onVerify(records, result);
    },
    end() {
      session.end();
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
