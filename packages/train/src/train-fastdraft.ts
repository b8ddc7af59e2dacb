import { InvalidArgumentError, seededRandom, type CausalLM, type Tokenizer } from '@decodekit/core';
import { loadOrGenerateDataset, type Dataset, type DatasetOptions } from './dataset.js';
import {
  distillLlama,
  fineTuneLlama,
  tfLlama,
  type TeacherSequence,
  type TfLlamaConfig,
  type TfLlamaWeights,
} from './llama-tf.js';
import { tf, useTrainBackend } from './tf-backend.js';
import type { LoopOptions } from './training-loop.js';

/** The shape of a FastDraft draft: a Llama-2 decoder with the target's vocabulary and context. */
export interface FastDraftShape {
  dim: number;
  hiddenDim: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
}

/** One training phase: the data the target generates for it and the Adam loop over it. */
export interface FastDraftPhase {
  /** Datasets the target generates (all cached); their sequences are trained on together. */
  data: readonly DatasetOptions[];
  steps: number;
  batchSize: number;
  learningRate: number;
  /**
   * Weight in [0, 1] of distribution-level distillation (`distillLlama`): the draft also matches the target's
   * full next-token distribution at every position (from the datasets' hidden states). 0 or absent: the
   * next-token cross-entropy on the target's tokens only (sequence-level KD).
   */
  kdWeight?: number;
}

/** Options of `trainFastDraft`. */
export interface TrainFastDraftOptions {
  shape: FastDraftShape;
  /** Pretraining on the target's free generations (FastDraft's stand-in for its web-text pretraining). */
  pretrain: FastDraftPhase;
  /** Alignment by sequence-level knowledge distillation: the target's continuations of held-in prompts. */
  align: FastDraftPhase;
  /** Held-out data per decoding temperature (its prefixes are the prompts): acceptance is measured on it. */
  heldOut: readonly { temperature: number; data: DatasetOptions }[];
  /** Seed of initialization and batch order. */
  seed: number;
  backend: LoopOptions['backend'];
  /** Dataset cache folder. */
  cacheDir: string;
  /** Checkpoint file prefix (`<prefix>-pretrain.json`, `<prefix>-align.json`): resumable runs. */
  checkpoint?: string;
  checkpointEvery?: number;
  logEvery?: number;
  onProgress?: (phase: 'data' | 'pretrain' | 'align', message: string) => void;
  /** Other drafts (e.g. llama2xs) scored on the same held-out data for comparison. */
  compare?: readonly { name: string; config: TfLlamaConfig; weights: TfLlamaWeights }[];
}

/** Acceptance of a draft on held-out data at one temperature. */
export interface DraftAcceptance {
  temperature: number;
  /**
   * Expected per-token acceptance: at T = 0 the share of positions where the draft's argmax is the target's;
   * at T > 0 the mean of Σ_x min(p(x), q(x)) over positions (the speculative-sampling acceptance probability of
   * one draft token, Leviathan et al. 2023), p and q the target's and the draft's softmax at that temperature.
   */
  acceptance: number;
  /** Positions scored (the continuation after each held-out prompt). */
  positions: number;
}

/** What `trainFastDraft` returns. */
export interface TrainFastDraftResult {
  config: TfLlamaConfig;
  parameters: number;
  pretrained: TfLlamaWeights;
  aligned: TfLlamaWeights;
  losses: {
    pretrain: { step: number; loss: number }[];
    align: { step: number; loss: number }[];
  };
  acceptance: {
    pretrained: DraftAcceptance[];
    aligned: DraftAcceptance[];
    compare: Record<string, DraftAcceptance[]>;
  };
  /** Training positions per second of each phase. */
  positionsPerSecond: { pretrain: number; align: number };
  seconds: number;
}

/** Parameters of a Llama config: embedding, per-layer attention/MLP/norms, final norm, untied classifier. */
export function llamaParameterCount(config: TfLlamaConfig): number {
  const kvDim = (config.dim * config.numKvHeads) / config.numHeads;
  const perLayer =
    2 * config.dim * config.dim + // wq, wo
    2 * kvDim * config.dim + // wk, wv
    3 * config.hiddenDim * config.dim + // w1, w2, w3
    2 * config.dim; // rmsAtt, rmsFfn
  const embedding = config.vocabSize * config.dim;
  return (
    embedding + config.numLayers * perLayer + config.dim + (config.tiedEmbeddings ? 0 : embedding)
  );
}

/**
 * Seeded random weights of a Llama config, as llama2.c's `train.py` initializes them: normal(0, 0.02) for
 * every matrix, the residual projections (wo, w2) scaled by 1/sqrt(2 × layers), RMSNorm weights 1.
 * @param config the architecture
 * @param seed seed of the normal draws
 */
export function initLlamaWeights(config: TfLlamaConfig, seed: number): TfLlamaWeights {
  if (!Number.isSafeInteger(seed))
    throw new InvalidArgumentError({
      argument: 'seed',
      message: `must be an integer, got ${seed}.`,
    });
  const random = seededRandom(seed);
  // Box-Muller on the seeded uniform stream.
  const normal = (length: number, std: number) =>
    Float32Array.from({ length }, () => {
      const u = Math.max(random.next(), 1e-12);
      return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
    });
  const { dim, hiddenDim: hidden, numLayers: layers, vocabSize } = config;
  const kvDim = (dim * config.numKvHeads) / config.numHeads;
  const residual = 0.02 / Math.sqrt(2 * layers);
  return {
    tokenEmbedding: normal(vocabSize * dim, 0.02),
    rmsAtt: new Float32Array(layers * dim).fill(1),
    wq: normal(layers * dim * dim, 0.02),
    wk: normal(layers * kvDim * dim, 0.02),
    wv: normal(layers * kvDim * dim, 0.02),
    wo: normal(layers * dim * dim, residual),
    rmsFfn: new Float32Array(layers * dim).fill(1),
    w1: normal(layers * hidden * dim, 0.02),
    w2: normal(layers * dim * hidden, residual),
    w3: normal(layers * hidden * dim, 0.02),
    rmsFinal: new Float32Array(dim).fill(1),
    ...(config.tiedEmbeddings ? {} : { wcls: normal(vocabSize * dim, 0.02) }),
  };
}

/** The token sequences of a dataset. */
export function datasetSequences(dataset: Dataset): number[][] {
  return Array.from({ length: dataset.offsets.length - 1 }, (_, i) =>
    Array.from(dataset.tokens.subarray(dataset.offsets[i], dataset.offsets[i + 1])),
  );
}

/** Softmax of `logits / temperature` into `out`. */
function softmaxInto(logits: Float32Array, temperature: number, out: Float64Array): void {
  let max = -Infinity;
  for (const value of logits) max = Math.max(max, value);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp((logits[i] - max) / temperature);
    sum += out[i];
  }
  for (let i = 0; i < logits.length; i++) out[i] /= sum;
}

function argmaxOf(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Expected per-token acceptance of a draft on target-generated held-out data (see `DraftAcceptance`): the target's
 * logits come from the dataset's final hidden states and the target's LM head, the draft's from a forward of the
 * same tokens. Scores the positions after each sequence's prefix (`prefixLength`: the prompt), where a drafter
 * drafts. Call after `useTrainBackend()`.
 * @param config the draft's architecture
 * @param weights the draft's weights
 * @param dataset held-out sequences with the target's hidden states
 * @param lmHead the target's classifier `[vocab, hidden]`
 * @param temperature decoding temperature (0 = greedy)
 * @param prefixLength tokens of each sequence that are the prompt (BOS included)
 */
export function draftAcceptance(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  dataset: Dataset,
  lmHead: Float32Array,
  temperature: number,
  prefixLength: number,
): DraftAcceptance {
  const vocab = config.vocabSize;
  const hiddenSize = dataset.hiddenSize;
  if (lmHead.length !== vocab * hiddenSize) {
    throw new InvalidArgumentError({
      argument: 'lmHead',
      message: `has ${lmHead.length} values; a [${vocab}, ${hiddenSize}] classifier has ${vocab * hiddenSize}. The draft must use the target's vocabulary.`,
    });
  }
  const sequences = datasetSequences(dataset);
  const model = tfLlama(config, weights);
  const p = new Float64Array(vocab);
  const q = new Float64Array(vocab);
  const targetLogits = new Float32Array(vocab);
  let total = 0;
  let positions = 0;
  const batchSize = 8;
  try {
    for (let start = 0; start < sequences.length; start += batchSize) {
      const batch = sequences.slice(start, start + batchSize);
      const time = Math.max(...batch.map(tokens => tokens.length));
      const inputs = new Int32Array(batch.length * time);
      batch.forEach((tokens, b) => inputs.set(tokens, b * time));
      // Causal attention: the padding after a sequence never changes its logits.
      const draftLogits = tf.tidy(
        () =>
          model
            .logits(tf.tensor2d(inputs, [batch.length, time], 'int32'))
            .dataSync() as Float32Array,
      );
      batch.forEach((tokens, b) => {
        const i = start + b;
        // Position t predicts token t + 1; the drafter drafts from the last prompt token on.
        for (let t = prefixLength - 1; t + 1 < tokens.length; t++) {
          const row = dataset.offsets[i] + t;
          for (let v = 0; v < vocab; v++) {
            let dot = 0;
            for (let d = 0; d < hiddenSize; d++)
              dot += dataset.hidden[row * hiddenSize + d] * lmHead[v * hiddenSize + d];
            targetLogits[v] = dot;
          }
          const offset = (b * time + t) * vocab;
          const draftRow = draftLogits.subarray(offset, offset + vocab);
          if (temperature === 0) {
            total += argmaxOf(draftRow) === argmaxOf(targetLogits) ? 1 : 0;
          } else {
            softmaxInto(targetLogits, temperature, p);
            softmaxInto(draftRow, temperature, q);
            let overlap = 0;
            for (let v = 0; v < vocab; v++) overlap += Math.min(p[v], q[v]);
            total += overlap;
          }
          positions++;
        }
      });
    }
  } finally {
    model.dispose();
  }
  return { temperature, acceptance: positions > 0 ? total / positions : Number.NaN, positions };
}

function checkPhase(name: string, phase: FastDraftPhase): void {
  if (!Array.isArray(phase?.data) || phase.data.length === 0) {
    throw new InvalidArgumentError({
      argument: name,
      message: 'needs at least one dataset (data: DatasetOptions[]).',
    });
  }
  if (phase.kdWeight !== undefined && !(phase.kdWeight >= 0 && phase.kdWeight <= 1)) {
    throw new InvalidArgumentError({
      argument: `${name}.kdWeight`,
      message: `must be a number in [0, 1] (0 = sequence-level KD only), got ${phase.kdWeight}.`,
    });
  }
}

/**
 * FastDraft (Zafrir et al., 2024, https://arxiv.org/abs/2411.11055): trains a small draft for a target in two
 * phases, both on data the target generates (the paper pretrains on web text and code; here the target's own
 * free generations stand in for it, so no third-party text is used):
 * 1. pretraining of a randomly initialized Llama with the target's vocabulary (`pretrain`);
 * 2. alignment by sequence-level knowledge distillation (Kim & Rush, 2016): fine-tuning on the target's
 *    continuations (greedy and sampled) of prompts of the kind the draft will serve (`align`).
 * Reports the draft's expected acceptance on held-out prompts after each phase, next to the `compare` drafts.
 * Deterministic by seed; datasets are cached and each phase resumes from its checkpoint.
 * @param target the target model (needs hidden states, for the held-out acceptance)
 * @param lmHead the target's classifier `[vocab, hidden]` (its tied embedding table)
 * @param options shape, phases, held-out data, loop settings
 */
export async function trainFastDraft(
  target: CausalLM & { tokenizer?: Tokenizer },
  lmHead: Float32Array,
  options: TrainFastDraftOptions,
): Promise<TrainFastDraftResult> {
  checkPhase('pretrain', options.pretrain);
  checkPhase('align', options.align);
  const lmHeadSize = target.info.vocabSize * target.info.hiddenSize;
  if (lmHead.length !== lmHeadSize) {
    throw new InvalidArgumentError({
      argument: 'lmHead',
      message: `has ${lmHead.length} values; the target's [${target.info.vocabSize}, ${target.info.hiddenSize}] classifier has ${lmHeadSize}.`,
    });
  }
  if (!Array.isArray(options.heldOut) || options.heldOut.length === 0) {
    throw new InvalidArgumentError({
      argument: 'heldOut',
      message: 'needs at least one held-out dataset to measure acceptance on.',
    });
  }
  const began = performance.now();
  const config: TfLlamaConfig = {
    vocabSize: target.info.vocabSize,
    contextLength: target.info.contextLength,
    tiedEmbeddings: true,
    ...options.shape,
  };
  const log = options.onProgress ?? (() => {});
  const sequencesOf = async (data: readonly DatasetOptions[]) => {
    const all: TeacherSequence[] = [];
    for (const item of data) {
      const { dataset, cached } = await loadOrGenerateDataset(target, item, options.cacheDir);
      log(
        'data',
        `${cached ? 'read' : 'generated'} ${item.count} sequences (seed ${item.seed}, prefix ${item.sampledPrefix} at T ${item.prefixTemperature ?? 1}, T ${item.temperature ?? 0})`,
      );
      const H = dataset.hiddenSize;
      datasetSequences(dataset).forEach((tokens, i) => {
        if (tokens.length < 2) return;
        const row = dataset.offsets[i];
        all.push({ tokens, hidden: dataset.hidden.subarray(row * H, (row + tokens.length) * H) });
      });
    }
    return all;
  };
  const pretrainData = await sequencesOf(options.pretrain.data);
  const alignData = await sequencesOf(options.align.data);
  const heldOut = await Promise.all(
    options.heldOut.map(async ({ temperature, data }) => ({
      temperature,
      prefixLength: 1 + data.sampledPrefix,
      dataset: (await loadOrGenerateDataset(target, data, options.cacheDir)).dataset,
    })),
  );
  await useTrainBackend(options.backend);
  const score = (weights: TfLlamaWeights, shape: TfLlamaConfig = config) =>
    heldOut.map(({ temperature, prefixLength, dataset }) =>
      draftAcceptance(shape, weights, dataset, lmHead, temperature, prefixLength),
    );
  const loop = (phase: 'pretrain' | 'align', settings: FastDraftPhase) => ({
    steps: settings.steps,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    seed: options.seed,
    backend: options.backend,
    checkpoint: options.checkpoint ? `${options.checkpoint}-${phase}.json` : undefined,
    checkpointEvery: options.checkpointEvery,
    logEvery: options.logEvery,
    onProgress: ({
      step,
      steps,
      loss,
      positionsPerSecond,
    }: {
      step: number;
      steps: number;
      loss: number;
      positionsPerSecond: number;
    }) =>
      log(
        phase,
        `step ${step}/${steps} loss ${loss.toFixed(4)} ${Math.round(positionsPerSecond)} positions/s`,
      ),
  });
  // Sequence-level KD trains on the target's tokens; with a kdWeight also on its distributions.
  const train = (
    phase: 'pretrain' | 'align',
    weights: TfLlamaWeights,
    data: readonly TeacherSequence[],
  ) => {
    const settings = options[phase];
    const kdWeight = settings.kdWeight ?? 0;
    return kdWeight > 0
      ? distillLlama(config, weights, data, {
          ...loop(phase, settings),
          lmHead,
          hiddenSize: target.info.hiddenSize,
          kdWeight,
        })
      : fineTuneLlama(
          config,
          weights,
          data.map(sequence => sequence.tokens),
          loop(phase, settings),
        );
  };
  const pretrained = await train('pretrain', initLlamaWeights(config, options.seed), pretrainData);
  const afterPretraining = score(pretrained.weights);
  const aligned = await train('align', pretrained.weights, alignData);
  const compare: Record<string, DraftAcceptance[]> = {};
  for (const other of options.compare ?? [])
    compare[other.name] = score(other.weights, other.config);
  return {
    config,
    parameters: llamaParameterCount(config),
    pretrained: pretrained.weights,
    aligned: aligned.weights,
    losses: { pretrain: pretrained.losses, align: aligned.losses },
    acceptance: { pretrained: afterPretraining, aligned: score(aligned.weights), compare },
    positionsPerSecond: {
      pretrain: pretrained.positionsPerSecond,
      align: aligned.positionsPerSecond,
    },
    seconds: (performance.now() - began) / 1000,
  };
}

/** The knobs of `decodekit train fastdraft` (see `fastDraftRecipe`). */
export interface FastDraftRecipeFlags {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** Free generations (T = 1 from BOS) for pretraining, and their length. */
  pretrainCount: number;
  pretrainLength: number;
  pretrainSteps: number;
  pretrainLr: number;
  /** Prompts for alignment (each continued once per temperature), their sampled length and the sequence length. */
  alignCount: number;
  alignPrefix: number;
  alignLength: number;
  alignTemperatures: readonly number[];
  alignSteps: number;
  alignLr: number;
  /** Temperatures of the free generations for pretraining (one dataset of `pretrainCount` each; default [1]). */
  pretrainTemperatures?: readonly number[];
  /**
   * Prompt lengths of the alignment data (one prompt set of `alignCount` per length and prefix temperature;
   * default [`alignPrefix`]): long prefixes put the continuation mid-story.
   */
  alignPrefixes?: readonly number[];
  /** Temperatures the target samples the alignment prompts at (default [1]). */
  alignPrefixTemperatures?: readonly number[];
  /** Distribution-level KD weight of each phase (see `FastDraftPhase.kdWeight`; default 0). */
  pretrainKd?: number;
  alignKd?: number;
  /** Held-out prompts per temperature (their own seed, disjoint from the training prompts). */
  heldOutCount: number;
  batchSize: number;
  seed: number;
  backend: LoopOptions['backend'];
}

/** Seed offsets of the datasets: pretraining, alignment and held-out data never share a prompt draw. */
const ALIGN_SEED = 100_000;
const HELD_OUT_SEED = 1_000_000;

/**
 * The data and loops of a FastDraft run from its flags (what `decodekit train fastdraft` trains): pretraining on
 * `pretrainCount` free generations of the target from BOS at each of `pretrainTemperatures`; alignment on the
 * target's continuations, at each of `alignTemperatures`, of `alignCount` prompts per prompt length
 * (`alignPrefixes`) and prompt temperature (`alignPrefixTemperatures`) — openings the target samples from BOS, never
 * the bench's own prompts; held-out acceptance on `heldOutCount` other prompts per temperature (`alignPrefix`
 * tokens sampled at T = 1). Every dataset draws its prompts from its own seed range.
 */
export function fastDraftRecipe(
  flags: FastDraftRecipeFlags,
): Omit<TrainFastDraftOptions, 'cacheDir' | 'checkpoint' | 'onProgress' | 'compare'> {
  const distinct = (
    argument: string,
    values: readonly number[],
    valid: (value: number) => boolean,
    rule: string,
  ) => {
    const unique = [...new Set(values)];
    if (unique.length === 0 || !unique.every(valid)) {
      throw new InvalidArgumentError({
        argument,
        message: `must list ${rule}, got ${JSON.stringify(values)}.`,
      });
    }
    return unique;
  };
  const temperatures = distinct(
    'alignTemperatures',
    flags.alignTemperatures,
    t => t >= 0 && Number.isFinite(t),
    'temperatures ≥ 0 (0 = greedy)',
  );
  const positiveTemperature = (t: number) => t > 0 && Number.isFinite(t);
  const pretrainTemperatures = distinct(
    'pretrainTemperatures',
    flags.pretrainTemperatures ?? [1],
    positiveTemperature,
    'temperatures > 0',
  );
  const prefixTemperatures = distinct(
    'alignPrefixTemperatures',
    flags.alignPrefixTemperatures ?? [1],
    positiveTemperature,
    'temperatures > 0',
  );
  const prefixes = distinct(
    'alignPrefixes',
    flags.alignPrefixes ?? [flags.alignPrefix],
    p => Number.isInteger(p) && p >= 1 && p <= flags.alignLength - 2,
    `prompt lengths in [1, ${flags.alignLength - 2}] (alignLength − 2)`,
  );
  for (const [argument, value] of [
    ['pretrainKd', flags.pretrainKd],
    ['alignKd', flags.alignKd],
  ] as const) {
    if (value !== undefined && !(value >= 0 && value <= 1)) {
      throw new InvalidArgumentError({
        argument,
        message: `must be a number in [0, 1] (0 = sequence-level KD only), got ${value}.`,
      });
    }
  }
  // Prompt i of a prompt set is sampled with seed + i and its sampled continuation with seed + count + i, so
  // prompt set j owns [base + 2·count·j, base + 2·count·(j + 1)); the held-out prompts lie above all of them.
  const promptSets = prefixes.flatMap(prefix =>
    prefixTemperatures.map(prefixTemperature => ({ prefix, prefixTemperature })),
  );
  if (ALIGN_SEED + 2 * flags.alignCount * promptSets.length > HELD_OUT_SEED) {
    throw new InvalidArgumentError({
      argument: 'alignCount',
      message: `${flags.alignCount} prompts × ${promptSets.length} prompt sets reach the held-out seeds; use fewer prompts or prompt sets.`,
    });
  }
  const prompts = (
    seed: number,
    count: number,
    prefix: number,
    prefixTemperature: number,
    temperature: number,
  ): DatasetOptions => ({
    count,
    length: flags.alignLength,
    seed,
    sampledPrefix: prefix,
    ...(prefixTemperature !== 1 ? { prefixTemperature } : {}),
    ...(temperature > 0 ? { temperature } : {}),
  });
  const kd = (weight: number | undefined) => (weight ? { kdWeight: weight } : {});
  return {
    shape: {
      dim: flags.dim,
      hiddenDim: flags.hidden,
      numLayers: flags.layers,
      numHeads: flags.heads,
      numKvHeads: flags.kvHeads,
    },
    pretrain: {
      data: pretrainTemperatures.map((t, j) => ({
        count: flags.pretrainCount,
        length: flags.pretrainLength,
        seed: flags.seed + j * flags.pretrainCount,
        sampledPrefix: flags.pretrainLength - 2,
        ...(t !== 1 ? { prefixTemperature: t } : {}),
      })),
      steps: flags.pretrainSteps,
      batchSize: flags.batchSize,
      learningRate: flags.pretrainLr,
      ...kd(flags.pretrainKd),
    },
    align: {
      data: promptSets.flatMap(({ prefix, prefixTemperature }, j) =>
        temperatures.map(t =>
          prompts(
            flags.seed + ALIGN_SEED + 2 * flags.alignCount * j,
            flags.alignCount,
            prefix,
            prefixTemperature,
            t,
          ),
        ),
      ),
      steps: flags.alignSteps,
      batchSize: flags.batchSize,
      learningRate: flags.alignLr,
      ...kd(flags.alignKd),
    },
    heldOut: temperatures.map(t => ({
      temperature: t,
      data: prompts(flags.seed + HELD_OUT_SEED, flags.heldOutCount, flags.alignPrefix, 1, t),
    })),
    seed: flags.seed,
    backend: flags.backend,
    logEvery: 5,
  };
}
