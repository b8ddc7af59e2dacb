import {
  DraftSampler,
  DraftSession,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  speculative,
  wrapModel,
  invariant,
} from '@decodekit/core';
import type {
  CausalLM,
  DraftContext,
  DraftTree,
  Drafter,
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
  /** The one draft model every target shares (same vocabulary as the targets). */
  draft: CausalLM;
  /** Layers the draft's forwards skip (`layerSkip`): e.g. the base model's first layers as the draft. */
  draftSkipLayers?: readonly number[];
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
  /** Draft-model forward calls made so far, over every target. */
  readonly draftForwards: number;
}

/**
 * S2D ("S2D: Sorted Speculative Decoding For More Efficient Deployment of Nested Large Language Models", 2024):
 * one draft model serves several targets — nested sub-models of one network (its first n layers and the
 * shared head, see `nestedSubModel()`). `s2d()` holds the draft and its KV session; every strategy it hands
 * out drafts chains from that shared session (proposals are serialised, and the session keeps the longest
 * common prefix, so targets decoding the same prompt reuse the draft's prompt cache) and verifies them by
 * speculative sampling on its own target (greedy match at temperature 0). Lossless for every target.
 *
 * @example
 * const family = s2d({ draft: base, draftSkipLayers: [2, 3, 4] });
 * const out = await createDecoder({ model: nestedSubModel(base, 4) }).use(family.strategy()).generate('Once');
 */
export function s2d(options: S2dOptions): S2dFamily {
  const {
    draft,
    draftSkipLayers,
    draftLength = 4,
    temperature,
    seed = 0,
  } = options ?? ({} as S2dOptions);
  DraftSession.validate({
    model: draft,
    skipLayers: draftSkipLayers,
    temperature,
    seed,
    modelArgument: 'draft',
    skipLayersArgument: 'draftSkipLayers',
  });
  if (!Number.isInteger(draftLength) || draftLength < 1) {
    throw new InvalidArgumentError({
      argument: 'draftLength',
      message: `must be a positive integer, got ${String(draftLength)}.`,
    });
  }

  // Every target's drafter shares this session; `begin` checks each target against the draft's vocabulary.
  const session = new DraftSession(draft, {
    skipLayers: draftSkipLayers,
    temperature,
    seed,
    mismatchHint: "every S2D target must use the draft's tokenizer.",
  });
  const stats = new Map<string, S2dTargetStats>();

  function makeDrafter(): Drafter {
    // Targets decode at once: each has its own draft stream, temperature and limits.
    const sampler = new DraftSampler({ temperature, seed });
    let entry: S2dTargetStats | undefined;

    async function draftChain(context: DraftContext): Promise<DraftTree | undefined> {
      const length = session.fitChain(context, draftLength, sampler);
      if (length < 1) return undefined;
      // The shared draft sequence only ever holds a context: the chain is scored by tree forwards.
      return session.draftChain(context.tokens, {
        count: length,
        sampler,
        temperature: sampler.temperatureFor(context),
        probabilities: true,
        commit: false,
        signal: context.signal,
      });
    }

    return {
      name: 's2d',
      providesProbabilities: true,
      preferredBudget: draftLength,
      begin(context) {
        // The draft → targets registry's compatibility check (same token ids) runs here too.
        session.begin(context);
        sampler.begin(context);
        const target = context.model;
        entry = stats.get(target.info.name);
        if (!entry)
          stats.set(target.info.name, (entry = { generations: 0, proposed: 0, accepted: 0 }));
        entry.generations++;
      },
      propose(context) {
        // Proposals take turns: the shared session holds one context at a time.
        return session.inTurn(() => draftChain(context));
      },
      observe(result: VerifyResult) {
        invariant(entry !== undefined, 'observe runs after begin');
        entry.proposed += result.tree.tokens.length;
        entry.accepted += result.acceptedRows.length;
      },
      end() {
        session.end();
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
      return session.forwards;
    },
  };
}
