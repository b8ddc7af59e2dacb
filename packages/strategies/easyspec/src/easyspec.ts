import {
  DraftSession,
  InvalidArgumentError,
  VocabMismatchError,
  commonPrefixLength,
  sampleDraftToken,
  seededRandom,
} from '@decodekit/core';
import type { DraftContext, DraftTree, Drafter, RandomSource } from '@decodekit/core';
import {
  layerParallelLlama,
  type DraftLlamaConfig,
  type DraftLlamaWeights,
  type LayerParallelLlama,
} from './layer-parallel-llama.js';

/** Options of `easySpec()`. */
export interface EasySpecOptions {
  /** Architecture of the draft Llama (same tokenizer as the target). */
  config: DraftLlamaConfig;
  /** Its weights in llama2.c layout (e.g. `readLlama2cCheckpoint(bytes).weights` from @decodekit/models). */
  weights: DraftLlamaWeights;
  /** Layers per parallel group in fuzzy drafting (the paper's layer-parallel size). 1 = exact drafts. Default 2. */
  groupSize?: number;
  /** Tokens drafted per step. Default 4. */
  draftLength?: number;
  /**
   * 0 (default): greedy drafts without q. > 0: drafts sampled from softmax(fuzzy logits / temperature), with
   * that distribution returned as q, so speculative sampling stays exact.
   */
  temperature?: number;
}

/** The EasySpec drafter with its counters. */
export interface EasySpecDrafter extends Drafter {
  readonly name: 'easyspec';
  /** Draft-model token positions computed exactly (calibration passes, first draft token included). */
  readonly exactPositions: number;
  /** Draft-model token positions computed layer-parallel (fuzzy). */
  readonly fuzzyPositions: number;
}

/**
 * EasySpec (Wu et al., 2025, "EasySpec: Layer-Parallel Speculative Decoding for Efficient Multi-GPU
 * Utilization", https://arxiv.org/abs/2502.02493) as a drafter for `speculative()`.
 *
 * Each step starts with the calibration pass: the draft Llama's KV cache is cut back to the positions it
 * computed exactly, and one exact forward over the tokens accepted since (their KV rows were fuzzy or
 * missing) rewrites their KV and gives the first draft token. The remaining draft tokens come from fuzzy
 * forwards in which the attention sublayers of each group of `groupSize` layers read the same input (on N
 * devices they would run at the same time; here they run one after the other on the CPU). Their KV rows are
 * approximations and are replaced by the next calibration pass. Verification keeps the output exact
 * whatever the approximation.
 *
 * @example
 * const { config, weights } = readLlama2cCheckpoint(bytes);
 * const decoder = createDecoder({ model: target }).use(speculative({ drafter: easySpec({ config, weights, groupSize: 2 }) }));
 */
export function easySpec(options: EasySpecOptions): EasySpecDrafter {
  const {
    config,
    weights,
    groupSize = 2,
    draftLength = 4,
    temperature = 0,
  } = options ?? ({} as EasySpecOptions);
  if (!Number.isInteger(groupSize) || groupSize < 1) {
    throw new InvalidArgumentError({
      argument: 'groupSize',
      message: `must be a positive integer (1 = exact drafts), got ${String(groupSize)}.`,
    });
  }
  if (!Number.isInteger(draftLength) || draftLength < 1) {
    throw new InvalidArgumentError({
      argument: 'draftLength',
      message: `must be a positive integer, got ${String(draftLength)}.`,
    });
  }
  // The draft is not a CausalLM (it runs its own layer-parallel forwards): only the sampling options.
  DraftSession.validate({ model: undefined, modelOptional: true, temperature });
  const model: LayerParallelLlama = layerParallelLlama(config, weights);
  const vocabSize = config.vocabSize;
  const sampling = temperature > 0;
  /** Cached tokens; positions below `exact` were computed by exact forwards. */
  let cached: number[] = [];
  let exact = 0;
  let random: RandomSource = seededRandom(0);
  let eos = new Set<number>();
  let exactPositions = 0;
  let fuzzyPositions = 0;

  return {
    name: 'easyspec',
    providesProbabilities: sampling,
    get exactPositions() {
      return exactPositions;
    },
    get fuzzyPositions() {
      return fuzzyPositions;
    },
    begin({ model: target, random: draftRandom }) {
      if (target.info.vocabSize !== vocabSize) {
        throw new VocabMismatchError({
          message: `The EasySpec draft has ${vocabSize} tokens but the target "${target.info.name}" has ${target.info.vocabSize}: the draft must use the target's tokenizer.`,
        });
      }
      random = draftRandom;
      eos = new Set(target.info.eosTokenIds);
      cached = [];
      exact = 0;
      model.truncate(0);
    },
    propose(context: DraftContext): DraftTree | undefined {
      const tokens = context.tokens;
      const room = config.contextLength - tokens.length + 1;
      const count = Math.min(draftLength, context.maxNodes, context.remaining, room);
      if (count < 1) return undefined;
      // Calibration: keep only exactly computed positions that still match the context.
      const keep = commonPrefixLength(cached, tokens, 0, Math.min(exact, tokens.length - 1));
      model.truncate(keep);
      cached.length = keep;
      const feed = tokens.slice(keep);
      const calibrated = model.forward(feed, 1);
      exactPositions += feed.length;
      cached.push(...feed);
      exact = cached.length;
      let logits = calibrated.subarray((feed.length - 1) * vocabSize, feed.length * vocabSize);
      const drafts = new Int32Array(count);
      const qDistributions = sampling ? new Float32Array(count * vocabSize) : undefined;
      const q = sampling ? new Float32Array(count) : undefined;
      let drafted = 0;
      for (;;) {
        const distribution = qDistributions?.subarray(
          drafted * vocabSize,
          (drafted + 1) * vocabSize,
        );
        const token = sampleDraftToken(logits, temperature, random, distribution);
        drafts[drafted] = token;
        if (q && distribution) q[drafted] = distribution[token];
        drafted++;
        if (drafted === count || eos.has(token)) break;
        // Fuzzy (layer-parallel) forward: its KV row is an approximation until the next calibration.
        logits = model.forward([token], groupSize);
        fuzzyPositions++;
        cached.push(token);
      }
      const parents = Int32Array.from({ length: drafted }, (_, i) => i - 1);
      return {
        tokens: drafts.slice(0, drafted),
        parents,
        q: q?.slice(0, drafted),
        qDistributions: qDistributions?.slice(0, drafted * vocabSize),
      };
    },
  };
}
