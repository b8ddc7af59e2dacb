import { InvalidArgumentError, createDecoder, speculative } from '@decodekit/core';
import type { CausalLM, Tokenizer } from '@decodekit/core';
import {
  acceptanceFeatureVector,
  fitLogisticRegression,
  logisticAcceptanceHead,
  type AcceptanceHead,
  type LogisticAcceptanceHead,
  type LogisticFitOptions,
} from './acceptance-head.js';
import { specdecPPDrafter, type DraftRecord } from './specdec-pp.js';

/** One training example: a draft token's features and whether (or how likely) the target accepted it. */
export interface AcceptanceSample extends DraftRecord {
  /** Target for the head: 0/1 at temperature 0 (greedy match), min(1, p/q) at temperature > 0. */
  readonly label: number;
  /** What verification actually did with the token. */
  readonly accepted: boolean;
}

/** Options of `collectAcceptanceSamples`. */
export interface CollectOptions {
  target: CausalLM;
  draft: CausalLM;
  /** Tokenizer for string prompts (defaults to `target.tokenizer` when the target is a LoadedModel). */
  tokenizer?: Tokenizer;
  prompts: readonly string[];
  /** Decoding (and drafting) temperature. Default 0. */
  temperature?: number;
  /** Tokens generated per prompt. Default 128. */
  maxTokens?: number;
  /** Draft length used while collecting (the rule never stops early then). Default 8. */
  draftLength?: number;
  /** Seed of the first prompt (prompt i uses seed + i). Default 0. */
  seed?: number;
}

/**
 * Runs the pair's own speculative generations with a fixed draft length and records, for every draft
 * token whose earlier tokens were all accepted, the draft's hidden state and the verification outcome.
 * Labels: greedy match (0/1) at temperature 0; the speculative-sampling acceptance probability
 * min(1, p(x)/q(x)) at temperature > 0 (p, q at the same temperature, no other processors).
 */
export async function collectAcceptanceSamples(
  options: CollectOptions,
): Promise<AcceptanceSample[]> {
  const {
    target,
    draft,
    prompts,
    temperature = 0,
    maxTokens = 128,
    draftLength = 8,
    seed = 0,
  } = options;
  const tokenizer = options.tokenizer ?? (target as { tokenizer?: Tokenizer }).tokenizer;
  if (!tokenizer)
    throw new InvalidArgumentError({
      argument: 'tokenizer',
      message: 'string prompts need a tokenizer (pass one or a LoadedModel target).',
    });
  if (!Array.isArray(prompts) || prompts.length === 0)
    throw new InvalidArgumentError({ argument: 'prompts', message: 'give at least one prompt.' });
  if (!Number.isInteger(draftLength) || draftLength < 2)
    throw new InvalidArgumentError({
      argument: 'draftLength',
      message: `must be an integer ≥ 2, got ${draftLength}.`,
    });
  const samples: AcceptanceSample[] = [];
  const vocab = target.info.vocabSize;
  const never: AcceptanceHead = { name: 'never-stop', predict: () => 1 };
  const drafter = specdecPPDrafter(
    { model: draft, head: never, threshold: 1, maxLength: draftLength, temperature },
    {
      onVerify(records, result) {
        const accepted = result.acceptedRows.length;
        // Tokens after the first rejection have no defined label (their prefix was not accepted).
        for (
          let row = 0;
          row < Math.min(records.length, accepted + 1, result.tree.tokens.length);
          row++
        ) {
          const record = records[row];
          const logits = result.logits.subarray(row * vocab, (row + 1) * vocab);
          let label: number;
          if (temperature === 0) {
            let best = 0;
            for (let i = 1; i < vocab; i++) if (logits[i] > logits[best]) best = i;
            label = best === record.token ? 1 : 0;
          } else {
            let max = -Infinity;
            for (let i = 0; i < vocab; i++) max = Math.max(max, logits[i]);
            let sum = 0;
            for (let i = 0; i < vocab; i++) sum += Math.exp((logits[i] - max) / temperature);
            const p = Math.exp((logits[record.token] - max) / temperature) / sum;
            label = Math.min(1, p / record.features.draftProbability);
          }
          samples.push({ ...record, label, accepted: row < accepted });
        }
      },
    },
  );
  const strategy = speculative({ drafter, budget: draftLength, adaptive: false });
  const decoder = createDecoder({ model: target, tokenizer }).use(strategy);
  for (const [index, prompt] of prompts.entries()) {
    await decoder.generate(prompt, { maxTokens, temperature, seed: seed + index });
  }
  return samples;
}

/** Options of `fitAcceptanceHead`. */
export interface FitAcceptanceHeadOptions extends CollectOptions, LogisticFitOptions {
  /** Append the draft probability of the token as a feature (an extension; the paper uses the hidden state only). Default false. */
  withDraftProbability?: boolean;
}

/**
 * Fits a logistic-regression SpecDec++ acceptance head on the pair's own generations
 * (`collectAcceptanceSamples`), with the paper's weighted BCE (`rejectionWeight`, the paper uses 6).
 *
 * @example
 * const { head } = await fitAcceptanceHead({ target, draft, prompts, rejectionWeight: 6 });
 * writeFileSync('head.json', JSON.stringify(head.toJSON()));
 */
export async function fitAcceptanceHead(
  options: FitAcceptanceHeadOptions,
): Promise<{ head: LogisticAcceptanceHead; samples: AcceptanceSample[]; iterations: number }> {
  const samples = await collectAcceptanceSamples(options);
  if (samples.length === 0)
    throw new InvalidArgumentError({
      argument: 'prompts',
      message: 'the generations gave no draft tokens to learn from.',
    });
  return { ...fitAcceptanceHeadOnSamples(samples, options), samples };
}

/** Fits a logistic head on already collected samples. */
export function fitAcceptanceHeadOnSamples(
  samples: readonly AcceptanceSample[],
  options: LogisticFitOptions & { withDraftProbability?: boolean } = {},
): { head: LogisticAcceptanceHead; iterations: number } {
  const withDraftProbability = options.withDraftProbability ?? false;
  const x = samples.map(s => acceptanceFeatureVector(s.features, withDraftProbability));
  const y = samples.map(s => s.label);
  const fit = fitLogisticRegression(x, y, options);
  const head = logisticAcceptanceHead({
    kind: 'specdec-pp/logistic',
    version: 1,
    hiddenSize: samples[0].features.hidden.length,
    withDraftProbability,
    mean: fit.mean,
    scale: fit.scale,
    weights: fit.weights,
    bias: fit.bias,
  });
  return { head, iterations: fit.iterations };
}

/** One bin of a reliability table. */
export interface ReliabilityBin {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly meanPredicted: number;
  /** Mean label (soft at T > 0) of the bin's samples. */
  readonly meanObserved: number;
}

/** Calibration of a head on (held-out) samples. */
export interface Calibration {
  readonly samples: number;
  /** Mean squared error between prediction and label. */
  readonly brier: number;
  /** Brier score of always predicting the base rate (a reference). */
  readonly baselineBrier: number;
  /** Area under the ROC curve of the prediction against the actual accept/reject outcome. */
  readonly auc: number;
  /** Expected calibration error over the bins. */
  readonly ece: number;
  readonly reliability: ReliabilityBin[];
}

/** Reliability table, Brier score, ECE and AUC of `head` on `samples`. */
export function evaluateAcceptanceHead(
  head: AcceptanceHead,
  samples: readonly AcceptanceSample[],
  bins = 10,
): Calibration {
  if (samples.length === 0)
    throw new InvalidArgumentError({ argument: 'samples', message: 'need at least one sample.' });
  const predicted = samples.map(s => head.predict(s.features));
  const n = samples.length;
  let brier = 0;
  let base = 0;
  for (const s of samples) base += s.label / n;
  let baselineBrier = 0;
  for (let i = 0; i < n; i++) {
    brier += (predicted[i] - samples[i].label) ** 2 / n;
    baselineBrier += (base - samples[i].label) ** 2 / n;
  }
  const reliability: ReliabilityBin[] = [];
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const from = b / bins;
    const to = (b + 1) / bins;
    let count = 0;
    let sumP = 0;
    let sumY = 0;
    for (let i = 0; i < n; i++) {
      if (predicted[i] >= from && (predicted[i] < to || (b === bins - 1 && predicted[i] <= 1))) {
        count++;
        sumP += predicted[i];
        sumY += samples[i].label;
      }
    }
    if (count === 0) continue;
    reliability.push({ from, to, count, meanPredicted: sumP / count, meanObserved: sumY / count });
    ece += (count / n) * Math.abs(sumP / count - sumY / count);
  }
  return {
    samples: n,
    brier,
    baselineBrier,
    auc: rocAuc(
      predicted,
      samples.map(s => s.accepted),
    ),
    ece,
    reliability,
  };
}

/** ROC AUC by the rank-sum formula (ties count half). NaN when one class is missing. */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number {
  const order = scores
    .map((score, i) => ({ score, positive: positive[i] }))
    .sort((a, b) => a.score - b.score);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j].score === order[i].score) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++)
      if (order[k].positive) {
        rankSum += rank;
        positives++;
      }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
