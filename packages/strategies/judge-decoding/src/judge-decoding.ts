import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  VocabMismatchError,
  argmax,
  createDecoder,
  sampleFromProbabilities,
  softmax,
} from '@decodekit/core';
import type { CausalLM, Sequence, Strategy, StrategyContext } from '@decodekit/core';
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
  if (!draft || typeof draft.createSequence !== 'function' || !draft.info) {
    throw new InvalidArgumentError({
      argument: 'draft',
      message: 'judgeDecoding() needs a draft CausalLM (e.g. from loadModel()).',
    });
  }
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
      const vocabSize = target.info.vocabSize;
      if (draft.info.vocabSize !== vocabSize) {
        throw new VocabMismatchError({
          message:
            `The draft model "${draft.info.name}" has ${draft.info.vocabSize} tokens but the target "${target.info.name}" ` +
            `has ${vocabSize}. Judge decoding drafts token ids for the target: use a draft with the same tokenizer.`,
        });
      }
      if (judging && !target.capabilities.hiddenStates) {
        throw new UnsupportedCapabilityError({
          capability: 'hiddenStates',
          backendId: target.capabilities.backendId,
          hint: "The judge reads the target's hidden states: use a backend that returns them (onnx), or pass no judge.",
        });
      }
      if (judging && judge!.inputSize !== target.info.hiddenSize) {
        throw new InvalidArgumentError({
          argument: 'judge',
          message: `The judge reads ${judge!.inputSize} features but "${target.info.name}" has hidden size ${target.info.hiddenSize}: fit the head on this target.`,
        });
      }
      const stats = zeroStats();
      lastStats = stats;
      const eos = new Set(target.info.eosTokenIds);
      const draftSequence = draft.createSequence();
      const { processor, sampler, random } = context;
      try {
        for (;;) {
          const tokens = context.tokens.slice();
          const free = target.info.contextLength - tokens.length;
          const draftRoom = draft.info.contextLength - tokens.length + 1;
          const count = Math.max(0, Math.min(draftLength, context.remaining(), free, draftRoom));
          const draftStart = performance.now();
          const drafts =
            count > 0
              ? await draftChain(draft, draftSequence, tokens, count, eos, context.signal)
              : [];
          const rows = drafts.length;
          if (rows > 0)
            context.report({
              type: 'draft',
              tree: {
                tokens: Int32Array.from(drafts),
                parents: Int32Array.from(drafts, (_, i) => i - 1),
              },
            });
          const draftMs = performance.now() - draftStart;
          const verifyStart = performance.now();
          const input = Int32Array.from([tokens[tokens.length - 1], ...drafts]);
          const { logits, hidden } = await context.forward({
            tokens: input,
            hidden: judging && rows > 0,
          });
          stats.steps++;
          stats.proposed += rows;
          let state = context.processorState;
          const accepted: number[] = [];
          let bonus = -1;
          for (let i = 0; i <= rows; i++) {
            const row = logits.slice(i * vocabSize, (i + 1) * vocabSize);
            processor.process(row, state);
            if (i === rows) {
              bonus = sampler.sample(row, random);
              break;
            }
            const x = drafts[i];
            let ok: boolean;
            let fallback: number;
            if (sampler.greedy) {
              fallback = sampler.sample(row, random);
              ok = fallback === x;
            } else {
              // Deterministic-draft rejection sampling: accept x with probability p(x), else sample p without x.
              const p = softmax(row);
              ok = random.next() < p[x];
              if (!ok) {
                p[x] = 0;
                let total = 0;
                for (let k = 0; k < vocabSize; k++) total += p[k];
                if (total > 0) for (let k = 0; k < vocabSize; k++) p[k] /= total;
                fallback = total > 0 ? sampleFromProbabilities(p, random) : argmax(row);
              } else fallback = x;
            }
            if (ok) stats.acceptedByTarget++;
            else if (
              judging &&
              hidden &&
              judge!.score(
                hidden.subarray((i + 1) * target.info.hiddenSize, (i + 2) * target.info.hiddenSize),
              ) > threshold
            ) {
              ok = true;
              stats.acceptedByJudge++;
            }
            if (!ok) {
              bonus = fallback;
              break;
            }
            accepted.push(i);
            state = processor.advance(state, x);
          }
          const verifyMs = performance.now() - verifyStart;
          context.sequence.commit([0, ...accepted.map(row => row + 1)]);
          const acceptedTokens = accepted.map(row => drafts[row]);
          context.report({
            type: 'verify',
            acceptedRows: accepted,
            acceptedTokens,
            bonusToken: bonus,
          });
          context.recordDraft({
            proposed: rows,
            accepted: accepted.length,
            draftMs,
            verifyMs,
          });
          for (const token of acceptedTokens) if (!context.emit(token, 'draft')) return;
          if (!context.emit(bonus, rows > 0 ? 'bonus' : 'target')) return;
        }
      } finally {
        draftSequence.dispose();
        for (const key of Object.keys(totals) as (keyof JudgeDecodingStats)[])
          totals[key] += stats[key];
      }
    },
  };
}

/** Greedy draft chain of up to `count` tokens after `context`, keeping `sequence` a prefix of the context. */
async function draftChain(
  model: CausalLM,
  sequence: Sequence,
  context: readonly number[],
  count: number,
  eos: ReadonlySet<number>,
  signal?: AbortSignal,
): Promise<number[]> {
  const committed = sequence.tokens;
  const limit = Math.min(committed.length, context.length - 1);
  let common = 0;
  while (common < limit && committed[common] === context[common]) common++;
  if (common < committed.length) sequence.truncate(common);
  const feed = Int32Array.from(context.slice(common));
  let { logits } = await sequence.forward({ tokens: feed }, { signal });
  sequence.commit(Array.from({ length: feed.length }, (_, i) => i));
  const vocabSize = model.info.vocabSize;
  let row = logits.subarray((feed.length - 1) * vocabSize, feed.length * vocabSize);
  const drafts: number[] = [];
  for (;;) {
    const token = argmax(row);
    drafts.push(token);
    if (drafts.length === count || eos.has(token)) return drafts;
    ({ logits } = await sequence.forward({ tokens: Int32Array.of(token) }, { signal }));
    sequence.commit([0]);
    row = logits.subarray(0, vocabSize);
  }
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
   * A draft token is labelled acceptable when the target gives it at least `ratio` times the probability of
   * the target's own top token (raw logits). Default 0.5. This stands in for the paper's human/LLM-judged
   * "correct continuation" labels, which do not exist for this pair.
   */
  ratio?: number;
}

/**
 * Collects judge training data from a draft/target pair: the draft model continues each prompt greedily; one
 * target forward over prompt + continuation gives, for every continuation token, the target's hidden state at
 * that token's row (the judge's input) and its probability under the target (the label, see `ratio`).
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
  if (!(ratio > 0 && ratio <= 1))
    throw new InvalidArgumentError({
      argument: 'ratio',
      message: `must be in (0, 1], got ${ratio}.`,
    });
  const vocab = target.info.vocabSize;
  const width = target.info.hiddenSize;
  const samples: JudgeSample[] = [];
  const decoder = createDecoder({ model: draft });
  for (const prompt of prompts) {
    const { tokens: continuation } = await decoder.generate(
      { tokens: [...prompt] },
      { maxTokens: tokens, temperature: 0 },
    );
    const all = [...prompt, ...continuation];
    if (all.length > target.info.contextLength) continue;
    const sequence = target.createSequence();
    try {
      const { logits, hidden } = await sequence.forward({
        tokens: Int32Array.from(all),
        hidden: true,
      });
      for (let position = prompt.length; position < all.length; position++) {
        const row = logits.subarray((position - 1) * vocab, position * vocab);
        let max = -Infinity;
        for (let k = 0; k < vocab; k++) if (row[k] > max) max = row[k];
        const label = Math.exp(row[all[position]] - max) >= ratio ? 1 : 0;
        samples.push({ features: hidden!.slice(position * width, (position + 1) * width), label });
      }
    } finally {
      sequence.dispose();
    }
  }
  return samples;
}
