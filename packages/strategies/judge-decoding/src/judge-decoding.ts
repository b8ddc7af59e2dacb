import {
  DraftSession,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  VocabMismatchError,
  argmax,
  chainTree,
  createDecoder,
  sampleFromProbabilities,
  speculative,
  invariant,
} from '@decodekit/core';
import type { CausalLM, Drafter, Strategy, StrategyContext, Verifier } from '@decodekit/core';
import type { JudgeHead, JudgeSample } from './judge-head.js';

/** Options of `judgeDecoding()`. */
export interface JudgeDecodingOptions {
  /** The draft model (same vocabulary as the decoder's target model). */
  draft: CausalLM;
  /**
   * The judge head over the target's final hidden state at each draft token's row. Omitted = no judge:
   * plain speculative decoding with greedy drafts (lossless).
   */
  judge?: JudgeHead;
  /** Accept a draft token the target rejects when `judge.score(hidden) > threshold`. Default 0.5. `Infinity` disables the judge. */
  threshold?: number;
  /** Greedy draft tokens per step. Default 5. */
  draftLength?: number;
}

/** Counters of judge decoding. */
export interface JudgeDecodingStats {
  /** Verification steps (target forwards). */
  steps: number;
  /** Draft tokens proposed. */
  proposed: number;
  /** Draft tokens the standard verification accepted. */
  acceptedByTarget: number;
  /** Draft tokens accepted only because the judge scored them above the threshold. */
  acceptedByJudge: number;
}

/** The judge-decoding strategy with its counters. */
export interface JudgeDecodingStrategy extends Strategy {
  readonly name: 'judge-decoding';
  /** Counts of the last generation. */
  readonly lastStats: Readonly<JudgeDecodingStats>;
  /** Counts over every generation of this strategy. */
  readonly totals: Readonly<JudgeDecodingStats>;
}

function zeroStats(): JudgeDecodingStats {
  return { steps: 0, proposed: 0, acceptedByTarget: 0, acceptedByJudge: 0 };
}

/**
 * Judge Decoding (Bachmann et al., 2025, "Judge Decoding: Faster Speculative Sampling Requires Going Beyond
 * Model Alignment", https://arxiv.org/abs/2501.19309). **LOSSY by design** when a judge is set.
 *
 * A draft model proposes a greedy chain; the target scores `[pending, ...drafts]` in one forward and also
 * returns its final hidden states. Walking the chain, a draft token is accepted when standard verification
 * accepts it (greedy match at temperature 0, deterministic-draft rejection sampling otherwise) OR the judge
 * head, reading the target's hidden state at that draft token's row, scores it above `threshold`. The
 * prefix stops at the first token failing both; the target's token there (or after the whole chain) is
 * emitted as the bonus token. Without a judge (or with `threshold: Infinity`) this is exactly speculative
 * decoding with greedy drafts, so the output follows the target exactly.
 *
 * @example
 * const decoder = createDecoder({ model: target }).use(judgeDecoding({ draft, judge: head, threshold: 0.9 }));
 */
export function judgeDecoding(options: JudgeDecodingOptions): JudgeDecodingStrategy {
  const {
    draft,
    judge,
    threshold = 0.5,
    draftLength = 5,
  } = options ?? ({} as JudgeDecodingOptions);
  DraftSession.validate({ model: draft, modelArgument: 'draft' });
  if (
    judge !== undefined &&
    (typeof judge.score !== 'function' || !Number.isInteger(judge.inputSize))
  ) {
    throw new InvalidArgumentError({
      argument: 'judge',
      message: 'must be a JudgeHead (e.g. linearJudgeHead() or fitJudgeHead()).',
    });
  }
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
    throw new InvalidArgumentError({
      argument: 'threshold',
      message: `must be a number (Infinity disables the judge), got ${String(threshold)}.`,
    });
  }
  if (!Number.isInteger(draftLength) || draftLength < 1) {
    throw new InvalidArgumentError({
      argument: 'draftLength',
      message: `must be a positive integer, got ${String(draftLength)}.`,
    });
  }
  const judging = judge !== undefined && threshold !== Infinity;
  let lastStats = zeroStats();
  const totals = zeroStats();
  let stats = lastStats;
  const session = new DraftSession(draft, { temperature: 0 });

  /** Greedy draft chains from the draft model, kept in step with the context by one DraftSession. */
  const drafter: Drafter = {
    name: 'judge-draft',
    begin(context) {
      session.begin(context);
    },
    async propose({ tokens, maxNodes, remaining, signal }) {
      const count = Math.min(draftLength, maxNodes, remaining, session.room(tokens.length) + 1);
      if (count < 1) return chainTree([]);
      // Generations in flight at once take turns on the one draft sequence.
      return session.inTurn(() => session.draftChain(tokens, { count, signal }));
    },
    end() {
      session.end();
    },
  };

  /**
   * Standard verification of a greedy draft (sample-and-match: greedy match at T = 0, deterministic-draft
   * acceptance at T > 0), then the judge: a token the target rejects is accepted anyway when the judge,
   * reading the target's hidden state at that token's row, scores it above the threshold. LOSSY.
   */
  const verifier: Verifier = {
    name: judging ? `judge(${threshold})` : 'rejection-sampling',
    lossless: !judging,
    needsHidden: judging,
    step({ probabilities, childTokens, greedy, random, childRows, output }) {
      const token = greedy ? argmax(probabilities) : sampleFromProbabilities(probabilities, random);
      if (childTokens.length === 0) return { token };
      if (childTokens[0] === token) {
        stats.acceptedByTarget++;
        return 0;
      }
      const row = childRows?.[0];
      const hidden = output?.hidden;
      const width = judge?.inputSize ?? 0;
      if (
        judging &&
        judge &&
        hidden &&
        row !== undefined &&
        judge.score(hidden.subarray(row * width, (row + 1) * width)) > threshold
      ) {
        stats.acceptedByJudge++;
        return 0;
      }
      return { token };
    },
  };
  // Without a judge the lossless engine path verifies by itself; count what it accepted from its events.
  const engine = speculative({ drafter, verifier, budget: draftLength, adaptive: false });

  return {
    kind: 'strategy',
    name: 'judge-decoding',
    lossless: !judging,
    requires: judging ? ['hiddenStates'] : undefined,
    get lastStats() {
      return lastStats;
    },
    get totals() {
      return totals;
    },
    async run(context: StrategyContext) {
      const target = context.model;
      if (draft.info.vocabSize !== target.info.vocabSize) {
        throw new VocabMismatchError({
          message:
            `The draft model "${draft.info.name}" has ${draft.info.vocabSize} tokens but the target "${target.info.name}" ` +
            `has ${target.info.vocabSize}. Judge decoding drafts token ids for the target: use a draft with the same tokenizer.`,
        });
      }
      if (judging && !target.capabilities.hiddenStates) {
        throw new UnsupportedCapabilityError({
          capability: 'hiddenStates',
          backendId: target.capabilities.backendId,
          hint: "The judge reads the target's hidden states: use a backend that returns them (onnx), or pass no judge.",
        });
      }
      if (judging && judge && judge.inputSize !== target.info.hiddenSize) {
        throw new InvalidArgumentError({
          argument: 'judge',
          message: `The judge reads ${judge.inputSize} features but "${target.info.name}" has hidden size ${target.info.hiddenSize}: fit the head on this target.`,
        });
      }
      stats = zeroStats();
      lastStats = stats;
      const counted: StrategyContext = {
        ...context,
        get tokens() {
          return context.tokens;
        },
        get processorState() {
          return context.processorState;
        },
        forward(input, options) {
          stats.steps++;
          return context.forward(input, options);
        },
        report(event) {
          if (event.type === 'draft') stats.proposed += event.tree.tokens.length;
          // The lossless path accepts without asking the verifier: count its accepted draft tokens here.
          if (event.type === 'verify' && !judging)
            stats.acceptedByTarget += event.acceptedTokens.length;
          context.report(event);
        },
      };
      try {
        await engine.run(counted);
      } finally {
        for (const key of Object.keys(totals) as (keyof JudgeDecodingStats)[])
          totals[key] += stats[key];
      }
    },
  };
}

/** What a `JudgeLabeler` sees of one draft continuation. */
export interface JudgeLabelInput {
  /** The prompt's token ids. */
  prompt: readonly number[];
  /** The draft model's continuation (the tokens to label). */
  continuation: readonly number[];
  /**
   * The target's logits over `[...prompt, ...continuation]`, `vocabSize` per row; row `p - 1` scores the token
   * at position `p`.
   */
  logits: Float32Array;
  vocabSize: number;
}

/** Labels every continuation token: 1 = a correct draft token the judge should accept, 0 = incorrect. */
export type JudgeLabeler = (input: JudgeLabelInput) => readonly number[];

/**
 * The likelihood proxy: a draft token is labelled acceptable when the target gives it at least `ratio` times
 * the probability of the target's own top token. It cannot recognise a correct but unlikely token (the paper's
 * point); use a task labeler such as `groundedNamesLabeler()` when correctness can be checked.
 * @param ratio probability ratio to the target's top token, in (0, 1]; default 0.5
 */
export function likelihoodLabeler(ratio = 0.5): JudgeLabeler {
  if (!(ratio > 0 && ratio <= 1))
    throw new InvalidArgumentError({
      argument: 'ratio',
      message: `must be in (0, 1], got ${ratio}.`,
    });
  return ({ prompt, continuation, logits, vocabSize }) =>
    continuation.map((token, i) => {
      const position = prompt.length + i;
      const row = logits.subarray((position - 1) * vocabSize, position * vocabSize);
      let max = -Infinity;
      for (let k = 0; k < vocabSize; k++) if (row[k] > max) max = row[k];
      return Math.exp(row[token] - max) >= ratio ? 1 : 0;
    });
}

/** Options of `collectJudgeSamples()`. */
export interface CollectJudgeSamplesOptions {
  draft: CausalLM;
  /** Must return hidden states (`capabilities.hiddenStates`). */
  target: CausalLM;
  /** Prompts as token ids. */
  prompts: readonly (readonly number[])[];
  /** Draft tokens generated per prompt. Default 64. */
  tokens?: number;
  /**
   * How draft tokens are labelled. Default `likelihoodLabeler(ratio)`. Pass a task labeler (e.g.
   * `groundedNamesLabeler()`) to train the judge on correctness rather than likelihood.
   */
  label?: JudgeLabeler;
  /** Ratio of the default likelihood labeler (ignored when `label` is set). Default 0.5. */
  ratio?: number;
  /** Temperature of the draft's continuations (0 = greedy). Default 0. */
  temperature?: number;
  /** Seed of the draft's sampling when `temperature > 0`; prompt `i` uses `seed + i`. Default 0. */
  seed?: number;
}

/**
 * Collects judge training data from a draft/target pair: the draft model continues each prompt (greedily, or
 * sampled at `temperature`); one target forward over prompt + continuation gives, for every continuation
 * token, the target's hidden state at that token's row (the judge's input); `label` says whether the token was
 * correct.
 * @param options the pair, prompts and labelling rule
 */
export async function collectJudgeSamples(
  options: CollectJudgeSamplesOptions,
): Promise<JudgeSample[]> {
  const {
    draft,
    target,
    prompts,
    tokens = 64,
    ratio = 0.5,
    temperature = 0,
    seed = 0,
  } = options ?? ({} as CollectJudgeSamplesOptions);
  if (!draft?.info || !target?.info)
    throw new InvalidArgumentError({ argument: 'draft/target', message: 'need both models.' });
  if (!target.capabilities.hiddenStates) {
    throw new UnsupportedCapabilityError({
      capability: 'hiddenStates',
      backendId: target.capabilities.backendId,
      hint: "Judge samples are the target's hidden states: load the target with a backend that returns them (onnx).",
    });
  }
  if (!Array.isArray(prompts) || prompts.length === 0)
    throw new InvalidArgumentError({ argument: 'prompts', message: 'need at least one prompt.' });
  if (!Number.isInteger(tokens) || tokens < 1)
    throw new InvalidArgumentError({
      argument: 'tokens',
      message: `must be a positive integer, got ${tokens}.`,
    });
  if (!(temperature >= 0) || !Number.isFinite(temperature))
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `must be a finite number ≥ 0, got ${temperature}.`,
    });
  if (options.label !== undefined && typeof options.label !== 'function')
    throw new InvalidArgumentError({
      argument: 'label',
      message: 'must be a JudgeLabeler function (e.g. groundedNamesLabeler()).',
    });
  const label = options.label ?? likelihoodLabeler(ratio);
  const vocab = target.info.vocabSize;
  const width = target.info.hiddenSize;
  const samples: JudgeSample[] = [];
  const decoder = createDecoder({ model: draft });
  for (const [index, prompt] of prompts.entries()) {
    const { tokens: continuation } = await decoder.generate(
      { tokens: [...prompt] },
      { maxTokens: tokens, temperature, seed: seed + index },
    );
    const all = [...prompt, ...continuation];
    if (all.length > target.info.contextLength || continuation.length === 0) continue;
    const sequence = target.createSequence();
    try {
      const { logits, hidden } = await sequence.forward({
        tokens: Int32Array.from(all),
        hidden: true,
      });
      invariant(hidden !== undefined, 'forward({ hidden: true }) returns hidden states');
      const labels = label({ prompt, continuation, logits, vocabSize: vocab });
      if (labels.length !== continuation.length) {
        throw new InvalidArgumentError({
          argument: 'label',
          message: `returned ${labels.length} labels for ${continuation.length} continuation tokens: label every token.`,
        });
      }
      for (const [i, value] of labels.entries()) {
        const position = prompt.length + i;
        samples.push({
          features: hidden.slice(position * width, (position + 1) * width),
          label: value ? 1 : 0,
        });
      }
    } finally {
      sequence.dispose();
    }
  }
  return samples;
}
