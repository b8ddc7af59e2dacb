import {
  DraftSession,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  VocabMismatchError,
  draftDistribution,
  fitDepth,
  sampleFromProbabilities,
  seededRandom,
  speculative,
  wrapModel,
  invariant,
} from '@decodekit/core';
import type {
  CausalLM,
  DraftContext,
  DraftTree,
  Drafter,
  RandomSource,
  Strategy,
  VerifyResult,
} from '@decodekit/core';

/**
 * A nested sub-model of `model`: its first `layers` layers and the shared head (every forward skips the
 * layers `layers … numLayers − 1` through `capabilities.layerSkip`). Its name is `${name}[:layers]`. It is
 * a model in its own right, so every strategy is exact with respect to it.
 *
 * @example
 * const first3 = nestedSubModel(await loadModel('karpathy/tinyllamas/stories260K'), 3);
 */
export function nestedSubModel<TModel extends CausalLM>(model: TModel, layers: number): TModel {
  if (!model || typeof model.createSequence !== 'function' || !model.info) {
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'nestedSubModel() needs a CausalLM (e.g. from loadModel()).',
    });
  }
  const total = model.info.numLayers;
  if (!Number.isInteger(layers) || layers < 1 || layers > total) {
    throw new InvalidArgumentError({
      argument: 'layers',
      message: `must be an integer in [1, ${total}], got ${String(layers)}.`,
    });
  }
  if (layers < total && !model.capabilities.layerSkip) {
    throw new UnsupportedCapabilityError({
      capability: 'layerSkip',
      backendId: model.capabilities.backendId,
      hint: 'nested sub-models skip the last layers; use a model built with per-layer skip switches.',
    });
  }
  const skipped = Array.from({ length: total - layers }, (_, i) => layers + i);
  return wrapModel({
    model,
    middleware: {
      name: `first-${layers}-layers`,
      transformInfo: info => ({ ...info, name: `${info.name}[:${layers}]` }),
      wrapForward: ({ input, options, doForward }) => {
        if (skipped.length === 0) return doForward(input, options);
        const skipLayers = [...new Set([...(input.skipLayers ?? []), ...skipped])].sort(
          (a, b) => a - b,
        );
        return doForward({ ...input, skipLayers }, options);
      },
    },
  });
}

/** Options of `s2d()`. */
export interface S2dOptions {
  /**
   * The shared draft's nested exits, shallowest first: e.g. the first 2, 3 and 4 layers (and shared head) of a
   * sorted fine-tuned model, as model folders of their own or as `nestedSubModel()`s. Each draft token comes
   * from the first exit whose confidence reaches `threshold` (the last exit otherwise). Give `exits` or `draft`.
   */
  exits?: readonly CausalLM[];
  /** One draft model (the same as `exits: [draft]`), e.g. any smaller model with the targets' tokenizer. */
  draft?: CausalLM;
  /** Layers `draft`'s forwards skip (`layerSkip`): e.g. the base model's first layers as the draft. */
  draftSkipLayers?: readonly number[];
  /**
   * Confidence threshold τ in [0, 1]: an exit's draft token is taken when its maximum probability (softmax of
   * its logits at temperature 1) is at least τ; otherwise the next, deeper exit is asked. Default 0.5.
   */
  threshold?: number;
  /** Tokens drafted per step (a chain). Default 4. */
  draftLength?: number;
  /** Temperature of the draft distribution q. Default: the decoder's (greedy drafts when it is greedy). */
  temperature?: number;
  /** Seed of the draft sampler when the engine gives none. Default 0. */
  seed?: number;
}

/** Acceptance counts of one target. */
export interface S2dTargetStats {
  generations: number;
  proposed: number;
  accepted: number;
  /** Draft tokens each exit proposed (index = position in `exits`). */
  exitProposed: number[];
  /** Draft tokens of each exit that the target accepted. */
  exitAccepted: number[];
}

/** One draft serving several targets: hands out a strategy per target and keeps per-target acceptance. */
export interface S2dFamily {
  /**
   * A lossless speculative strategy for one target, drafting with the shared draft. Targets are told
   * apart by `model.info.name` of the model the strategy decodes with (a `nestedSubModel()` has its own).
   */
  strategy(): Strategy;
  /** Per-target acceptance, keyed by target model name. */
  readonly stats: ReadonlyMap<string, S2dTargetStats>;
  /** Draft forward calls made so far, over every exit and target. */
  readonly draftForwards: number;
}

/**
 * S2D ("S2D: Sorted Speculative Decoding For More Efficient Deployment of Nested Large Language Models", 2024):
 * one multi-exit draft serves several targets. The draft is a sorted fine-tuned network whose nested sub-models
 * (first n layers + shared head, `exits`) are each usable; per draft token the shallowest exit whose maximum
 * probability reaches `threshold` emits it (the adaptive, confidence-threshold draft), so easy tokens cost a
 * shallow forward. Every exit keeps its own KV session, shared by all targets (proposals are serialised and
 * each session keeps the longest common prefix, so targets decoding the same prompt reuse the draft's prompt
 * cache). Each strategy verifies on its own target by speculative sampling with q = the distribution of the exit
 * that emitted the token (greedy match at temperature 0): which exit emits depends only on the context, so the
 * result is exact for every target and every threshold.
 *
 * @example
 * const family = s2d({ exits: [2, 3, 4].map(k => nestedSubModel(soft, k)), threshold: 0.6 });
 * const out = await createDecoder({ model: target }).use(family.strategy()).generate('Once');
 */
export function s2d(options: S2dOptions): S2dFamily {
  const {
    exits: exitModels,
    draft,
    draftSkipLayers,
    threshold = 0.5,
    draftLength = 4,
    temperature,
    seed = 0,
  } = options ?? ({} as S2dOptions);
  const isModel = (model: unknown): model is CausalLM =>
    typeof model === 'object' &&
    model !== null &&
    typeof (model as CausalLM).createSequence === 'function' &&
    (model as CausalLM).info !== undefined;
  if ((exitModels === undefined) === (draft === undefined)) {
    throw new InvalidArgumentError({
      argument: 'exits',
      message:
        'give either `exits` (the nested draft exits, shallowest first) or one `draft` model (e.g. from loadModel()).',
    });
  }
  if (draft !== undefined && !isModel(draft)) {
    throw new InvalidArgumentError({
      argument: 'draft',
      message: 'needs a draft CausalLM (e.g. from loadModel()).',
    });
  }
  if (
    exitModels !== undefined &&
    (!Array.isArray(exitModels) || exitModels.length === 0 || !exitModels.every(isModel))
  ) {
    throw new InvalidArgumentError({
      argument: 'exits',
      message: 'must be a non-empty list of CausalLMs (the nested draft exits, shallowest first).',
    });
  }
  const models: readonly CausalLM[] = exitModels ?? [draft as CausalLM];
  const vocab = models[0].info.vocabSize;
  const odd = models.find(model => model.info.vocabSize !== vocab);
  if (odd) {
    throw new VocabMismatchError({
      message:
        `The draft exits must share one vocabulary: "${models[0].info.name}" has ${vocab} tokens but ` +
        `"${odd.info.name}" has ${odd.info.vocabSize}. Export every exit from the same model.`,
    });
  }
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new InvalidArgumentError({
      argument: 'threshold',
      message: `must be a probability in [0, 1], got ${String(threshold)}.`,
    });
  }
  if (!Number.isInteger(draftLength) || draftLength < 1) {
    throw new InvalidArgumentError({
      argument: 'draftLength',
      message: `must be a positive integer, got ${String(draftLength)}.`,
    });
  }
  if (
    temperature !== undefined &&
    (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0)
  ) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `must be ≥ 0, got ${String(temperature)}.`,
    });
  }
  if (!Number.isSafeInteger(seed))
    throw new InvalidArgumentError({
      argument: 'seed',
      message: `must be a safe integer, got ${String(seed)}.`,
    });
  if (draftSkipLayers !== undefined) {
    if (!draft) {
      throw new InvalidArgumentError({
        argument: 'draftSkipLayers',
        message: 'applies to `draft` only; give exits as nestedSubModel()s instead.',
      });
    }
    if (
      !Array.isArray(draftSkipLayers) ||
      draftSkipLayers.some(
        layer => !Number.isInteger(layer) || layer < 0 || layer >= draft.info.numLayers,
      )
    ) {
      throw new InvalidArgumentError({
        argument: 'draftSkipLayers',
        message: `must list layer indices in [0, ${draft.info.numLayers}), got ${JSON.stringify(draftSkipLayers)}.`,
      });
    }
    if (!draft.capabilities.layerSkip) {
      throw new UnsupportedCapabilityError({
        capability: 'layerSkip',
        backendId: draft.capabilities.backendId,
        hint: 'draftSkipLayers needs a draft model built with per-layer skip switches.',
      });
    }
  }

  const sessions = models.map(
    model => new DraftSession(model, model === draft ? draftSkipLayers : undefined),
  );
  const draftContextLength = Math.min(...models.map(model => model.info.contextLength));
  const stats = new Map<string, S2dTargetStats>();
  let active = 0;
  /** Serialises proposals: the shared sessions hold one context at a time. */
  let lock: Promise<unknown> = Promise.resolve();

  function makeDrafter(): Drafter {
    let random: RandomSource = seededRandom(seed);
    let draftTemperature = 1;
    let targetContext = Number.POSITIVE_INFINITY;
    let eos = new Set<number>();
    let entry: S2dTargetStats | undefined;
    /** Exit index that emitted each row of the last proposal. */
    let rowExits: number[] = [];

    async function draftChain(context: DraftContext): Promise<DraftTree | undefined> {
      const length = fitDepth(
        Math.min(draftLength, context.remaining, context.maxNodes),
        levels => levels,
        {
          contextLength: context.tokens.length,
          draftContext: draftContextLength,
          targetContext,
        },
      );
      if (length < 1) return undefined;
      const t = context.greedy && temperature === undefined ? 0 : draftTemperature;
      const tokens: number[] = [];
      const q: number[] = [];
      const qDistributions = new Float32Array(length * vocab);
      const synced = sessions.map(() => false);
      /** Logits of exit `i` after the context and the tokens drafted so far. [vocab] */
      const exitLogits = async (i: number): Promise<Float32Array> => {
        const session = sessions[i];
        const wasSynced = synced[i];
        synced[i] = true;
        if (tokens.length === 0) return session.contextLogits(context.tokens, context.signal);
        // An exit first asked below depth 0 catches up with the context, then reads the drafted chain.
        if (!wasSynced) await session.contextLogits(context.tokens, context.signal);
        const all = await session.treeLogits(
          Int32Array.from(tokens),
          Int32Array.from(tokens, (_, row) => row - 1),
          context.signal,
        );
        return all.subarray((tokens.length - 1) * vocab, tokens.length * vocab);
      };
      rowExits = [];
      for (let depth = 0; depth < length; depth++) {
        let chosen = sessions.length - 1;
        let logits: Float32Array | undefined;
        for (let i = 0; i < sessions.length; i++) {
          logits = await exitLogits(i);
          if (i === sessions.length - 1 || maxProbability(logits) >= threshold) {
            chosen = i;
            break;
          }
        }
        invariant(logits !== undefined, 'at least one exit runs');
        const distribution = draftDistribution(
          logits,
          t,
          qDistributions.subarray(depth * vocab, (depth + 1) * vocab),
        );
        const token = sampleOrArgmax(distribution, t, random);
        tokens.push(token);
        q.push(distribution[token]);
        rowExits.push(chosen);
        // Nothing after an end-of-sequence token can be emitted.
        if (eos.has(token)) break;
      }
      return {
        tokens: Int32Array.from(tokens),
        parents: Int32Array.from(tokens, (_, i) => i - 1),
        q: Float32Array.from(q),
        qDistributions: qDistributions.slice(0, tokens.length * vocab),
      };
    }

    return {
      name: 's2d',
      providesProbabilities: true,
      preferredBudget: draftLength,
      begin({ model: target, random: draftRandom, temperature: decoderTemperature }) {
        // The draft → targets registry's compatibility check: same token ids.
        if (target.info.vocabSize !== vocab) {
          throw new VocabMismatchError({
            message:
              `The shared draft "${models[0].info.name}" has a vocabulary of ${vocab} tokens but the target ` +
              `"${target.info.name}" has ${target.info.vocabSize}. Every S2D target must use the draft's tokenizer.`,
          });
        }
        if (draftRandom) random = draftRandom;
        draftTemperature = temperature ?? (decoderTemperature > 0 ? decoderTemperature : 1);
        targetContext = target.info.contextLength;
        eos = new Set(target.info.eosTokenIds);
        entry = stats.get(target.info.name);
        if (!entry)
          stats.set(
            target.info.name,
            (entry = {
              generations: 0,
              proposed: 0,
              accepted: 0,
              exitProposed: sessions.map(() => 0),
              exitAccepted: sessions.map(() => 0),
            }),
          );
        entry.generations++;
        active++;
      },
      propose(context) {
        const run = lock.then(() => draftChain(context));
        lock = run.catch(() => undefined);
        return run;
      },
      observe(result: VerifyResult) {
        invariant(entry !== undefined, 'observe runs after begin');
        entry.proposed += result.tree.tokens.length;
        entry.accepted += result.acceptedRows.length;
        for (let row = 0; row < result.tree.tokens.length && row < rowExits.length; row++)
          entry.exitProposed[rowExits[row]]++;
        for (const row of result.acceptedRows)
          if (row < rowExits.length) entry.exitAccepted[rowExits[row]]++;
      },
      end() {
        active = Math.max(0, active - 1);
        if (active === 0) for (const session of sessions) session.dispose();
      },
    };
  }

  return {
    strategy() {
      const strategy = speculative({
        drafter: makeDrafter(),
        budget: draftLength,
        adaptive: false,
      });
      return { ...strategy, name: 's2d' };
    },
    get stats() {
      return stats;
    },
    get draftForwards() {
      return sessions.reduce((sum, session) => sum + session.forwards, 0);
    },
  };
}

/** The largest softmax probability of `logits` (temperature 1): an exit's confidence. */
export function maxProbability(logits: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (!Number.isFinite(max)) return max === Infinity ? 1 : 0;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return 1 / sum;
}

function sampleOrArgmax(
  distribution: Float32Array,
  temperature: number,
  random: RandomSource,
): number {
  if (temperature > 0) return sampleFromProbabilities(distribution, random);
  let best = 0;
  for (let i = 1; i < distribution.length; i++) if (distribution[i] > distribution[best]) best = i;
  return best;
}
