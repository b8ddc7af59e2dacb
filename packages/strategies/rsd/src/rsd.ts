import {
  DraftSession,
  RowDistributions,
  InvalidArgumentError,
  fitDepth,
  sampledTree,
  rejectionSampling,
  speculative,
} from '@decodekit/core';
import type { CausalLM, DraftContext, DraftTree, Drafter, Strategy } from '@decodekit/core';
import { conditionedGumbel, gumbel, gumbelTopK } from './gumbel.js';

/** Options of `rsdDrafter()` and `rsd()`. */
export interface RsdOptions {
  /** The draft model. Must share the target's vocabulary and support `tree`. */
  model: CausalLM;
  /**
   * `'constant'` (RSD-C, default): every node gets `branching` children drawn without replacement by
   * Gumbel-top-k. `'beam'` (RSD-S): stochastic beam search of width `beamWidth` samples sequences without
   * replacement and truncates unlikely ones early.
   */
  variant?: 'constant' | 'beam';
  /** RSD-C: children per node, one number for every depth or one per depth. Default 2. */
  branching?: number | readonly number[];
  /** Draft depth: RSD-C's depth when `branching` is a number (default 3), RSD-S's draft length (default 4). */
  depth?: number;
  /** RSD-S: beam width W. Default 4. */
  beamWidth?: number;
  /**
   * Fixed target budget (the paper's fixed-computation setting): most draft rows per target forward. The
   * depth is cut to fit: RSD-C keeps the deepest full levels with Σ_d Π_{i≤d} b_i ≤ budget, RSD-S uses
   * depth = ⌊budget / W⌋. Default: none (the tree given by branching/beamWidth and depth).
   */
  budget?: number;
  /** Draft temperature: q = softmax(logits / temperature). Default: the decoder's (1 when greedy). */
  temperature?: number;
  /** Layers every draft forward skips (`layerSkip`): a self-draft. */
  skipLayers?: readonly number[];
  /** Seed of the draft sampler when the engine gives none. Default 0. */
  seed?: number;
}

/** An RSD drafter. */
export interface RsdDrafter extends Drafter {
  readonly name: 'rsd-c' | 'rsd-s';
  /** Most draft rows one step proposes. */
  readonly maxRows: number;
  /** Draft-model forward calls made so far. */
  readonly draftForwards: number;
}

interface Beam {
  row: number;
  /** Log-probability of the path under q. */
  logProbability: number;
  /** Perturbed (conditioned Gumbel) value of the path. */
  key: number;
}

/**
 * Recursive Speculative Decoding's drafter (Jeon et al., 2024, https://arxiv.org/abs/2402.14160). The
 * draft tree is sampled without replacement, so siblings never repeat and the tree is as diverse as its
 * size allows; core's recursive rejection verifier (`rejectionSampling()`, given every row's q through
 * `qDistributions`) recovers the target distribution exactly.
 * - RSD-C: each node's children are Gumbel-top-b of its draft distribution, b constant per depth.
 * - RSD-S: stochastic beam search (Kool et al., 2019): at each depth the W best conditioned-Gumbel
 *   continuations over all beams survive, so a node keeps the top-m of its own Gumbel-perturbed children
 *   (a without-replacement sample whose size m depends only on the noise maximum of the rest, never on
 *   which token is next) and unlikely sequences are dropped early.
 * At decoder temperature 0 the noise is off: top-b children (RSD-C) or plain beam search (RSD-S).
 */
export function rsdDrafter(options: RsdOptions): RsdDrafter {
  const {
    model,
    variant = 'constant',
    branching = 2,
    beamWidth = 4,
    budget,
    temperature,
    skipLayers,
    seed = 0,
  } = options ?? ({} as RsdOptions);
  validate(options);
  const depth = options.depth ?? (variant === 'constant' ? 3 : 4);
  const levels = variant === 'constant' ? branchingLevels(branching, depth, budget) : [];
  const beamDepth =
    variant === 'beam' ? (budget === undefined ? depth : Math.floor(budget / beamWidth)) : 0;
  if (variant === 'beam' && beamDepth < 1) {
    throw new InvalidArgumentError({
      argument: 'budget',
      message: `must be ≥ beamWidth (${beamWidth}), got ${budget}.`,
    });
  }
  let width = 1;
  let maxRows = 0;
  for (const b of levels) maxRows += width *= b;
  if (variant === 'beam') maxRows = beamWidth * beamDepth;

  const session = new DraftSession(model, { skipLayers, temperature, seed });
  const vocab = model.info.vocabSize;

  const bounds = (context: DraftContext) => ({
    contextLength: context.tokens.length,
    draftContext: model.info.contextLength,
    targetContext: session.sampler.targetContext,
  });

  async function propose(context: DraftContext): Promise<DraftTree | undefined> {
    const noise = !session.sampler.deterministic(context);
    const { random, temperature: draftTemperature, eos } = session.sampler;
    const tokens: number[] = [];
    const parents: number[] = [];
    const distributions: Float32Array[] = [];
    // Fit the engine's budget before drawing anything: a cut that depends on the drawn tree would bias
    // verification, a cut by shape alone does not.
    const fitted: number[] = [];
    let fittedRows = 0;
    let fittedWidth = 1;
    for (const b of levels) {
      const take = fitted.length === 0 ? Math.min(b, context.maxNodes) : b;
      if (fittedRows + fittedWidth * take > context.maxNodes) break;
      fittedWidth *= take;
      fittedRows += fittedWidth;
      fitted.push(take);
    }
    const width = Math.min(beamWidth, context.maxNodes);
    const cumulative = [0];
    let levelWidth = 1;
    for (const b of fitted) cumulative.push(cumulative[cumulative.length - 1] + (levelWidth *= b));
    const maxDepth =
      variant === 'constant'
        ? fitDepth(
            Math.min(fitted.length, context.remaining),
            levels => cumulative[levels],
            bounds(context),
          )
        : fitDepth(
            Math.min(beamDepth, Math.floor(context.maxNodes / width), context.remaining),
            levels => width * levels,
            bounds(context),
          );
    if (maxDepth < 1) return undefined;
    const qAt = new RowDistributions().set(
      -1,
      await session.contextDistribution(context.tokens, draftTemperature, context.signal),
    );
    let frontier: Beam[] = [{ row: -1, logProbability: 0, key: 0 }];
    for (let level = 0; level < maxDepth && frontier.length > 0; level++) {
      if (level > 0) {
        await session.treeDistributions(
          qAt,
          { tokens, parents },
          frontier.map(beam => beam.row),
          draftTemperature,
          context.signal,
        );
      }
      const next: Beam[] = [];
      const add = (parent: Beam, token: number, logProbability: number, key: number) => {
        if (tokens.length >= context.maxNodes) return;
        const row = tokens.length;
        tokens.push(token);
        parents.push(parent.row);
        distributions.push(qAt.at(parent.row));
        // Nothing after an end-of-sequence token can be emitted: it is never expanded.
        if (!eos.has(token)) next.push({ row, logProbability, key });
      };
      if (variant === 'constant') {
        for (const parent of frontier) {
          const q = qAt.at(parent.row);
          const { tokens: children } = gumbelTopK(q, fitted[level], random, { noise });
          for (const token of children) add(parent, token, 0, 0);
        }
      } else {
        const candidates: { parent: Beam; token: number; logProbability: number; key: number }[] =
          [];
        for (const parent of frontier) {
          const q = qAt.at(parent.row);
          // Only this beam's `width` best children can survive, and conditioning keeps their order.
          const perturbed: { token: number; logProbability: number; value: number }[] = [];
          let maximum = -Infinity;
          for (let token = 0; token < vocab; token++) {
            if (!(q[token] > 0)) continue;
            const logProbability = parent.logProbability + Math.log(q[token]);
            const value = logProbability + (noise ? gumbel(random) : 0);
            if (value > maximum) maximum = value;
            if (perturbed.length === width && !(value > perturbed[width - 1].value)) continue;
            let index = perturbed.length < width ? perturbed.length : width - 1;
            while (index > 0 && perturbed[index - 1].value < value) index--;
            perturbed.splice(index, 0, { token, logProbability, value });
            if (perturbed.length > width) perturbed.pop();
          }
          for (const { token, logProbability, value } of perturbed) {
            const key = noise ? conditionedGumbel(parent.key, maximum, value) : value;
            candidates.push({ parent, token, logProbability, key });
          }
        }
        candidates.sort(
          (a, b) => b.key - a.key || a.parent.row - b.parent.row || a.token - b.token,
        );
        const kept = candidates.slice(0, width);
        // Rows grouped by parent, each parent's children best first (their without-replacement order).
        kept.sort((a, b) => a.parent.row - b.parent.row || b.key - a.key);
        for (const c of kept) add(c.parent, c.token, c.logProbability, c.key);
      }
      frontier = next;
    }
    if (tokens.length === 0) return undefined;
    return sampledTree(tokens, parents, distributions);
  }

  return {
    name: variant === 'constant' ? 'rsd-c' : 'rsd-s',
    providesProbabilities: true,
    requires: ['tree'],
    preferredBudget: maxRows,
    maxRows,
    get draftForwards() {
      return session.forwards;
    },
    begin(context) {
      session.begin(context);
    },
    propose,
    end() {
      session.end();
    },
  };
}

/**
 * Recursive Speculative Decoding (Jeon et al., 2024, https://arxiv.org/abs/2402.14160) as one strategy:
 * `rsdDrafter()` plus core's recursive rejection verifier, verifying the whole tree each step (budget =
 * the tree's size; the engine's adaptive cutting is off so the tree is the paper's). Lossless.
 *
 * @example
 * const decoder = createDecoder({ model: target }).use(rsd({ model: draft, variant: 'beam', beamWidth: 4 }));
 */
export function rsd(options: RsdOptions): Strategy {
  const drafter = rsdDrafter(options);
  const strategy = speculative({
    drafter,
    verifier: rejectionSampling(),
    budget: drafter.maxRows,
    adaptive: false,
  });
  return { ...strategy, name: `${drafter.name}(${drafter.maxRows} rows)` };
}

/** Per-depth branching factors, cut to the budget when one is given. */
function branchingLevels(
  branching: number | readonly number[],
  depth: number,
  budget: number | undefined,
): number[] {
  const levels =
    typeof branching === 'number'
      ? Array.from({ length: budget === undefined ? depth : 64 }, () => branching)
      : [...branching];
  if (budget === undefined) return levels;
  const kept: number[] = [];
  let width = 1;
  let total = 0;
  for (const b of levels) {
    if (total + width * b > budget) break;
    width *= b;
    total += width;
    kept.push(b);
  }
  if (kept.length === 0) {
    throw new InvalidArgumentError({
      argument: 'budget',
      message: `must fit the first level (${levels[0]} rows), got ${budget}.`,
    });
  }
  return kept;
}

function validate(options: RsdOptions): void {
  const {
    variant = 'constant',
    branching = 2,
    depth,
    beamWidth = 4,
    budget,
  } = options ?? ({} as RsdOptions);
  DraftSession.validate({
    ...options,
    requires: [
      {
        capability: 'tree',
        hint: 'RSD runs the draft model on its whole draft tree, one tree forward per depth.',
      },
    ],
  });
  if (variant !== 'constant' && variant !== 'beam') {
    throw new InvalidArgumentError({
      argument: 'variant',
      message: `must be 'constant' (RSD-C) or 'beam' (RSD-S), got ${String(variant)}.`,
    });
  }
  const positive = (value: unknown) => Number.isInteger(value) && (value as number) >= 1;
  const branches = typeof branching === 'number' ? [branching] : branching;
  if (!Array.isArray(branches) && typeof branching !== 'number') {
    throw new InvalidArgumentError({
      argument: 'branching',
      message: 'must be a positive integer or an array of them.',
    });
  }
  if (branches.length === 0 || !branches.every(positive)) {
    throw new InvalidArgumentError({
      argument: 'branching',
      message: `must be positive integers, got ${JSON.stringify(branching)}.`,
    });
  }
  if (depth !== undefined && !positive(depth))
    throw new InvalidArgumentError({
      argument: 'depth',
      message: `must be a positive integer, got ${depth}.`,
    });
  if (!positive(beamWidth))
    throw new InvalidArgumentError({
      argument: 'beamWidth',
      message: `must be a positive integer, got ${beamWidth}.`,
    });
  if (budget !== undefined && !positive(budget))
    throw new InvalidArgumentError({
      argument: 'budget',
      message: `must be a positive integer, got ${budget}.`,
    });
}
