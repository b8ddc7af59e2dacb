import {
  DraftSession,
  RowDistributions,
  InvalidArgumentError,
  argmax,
  fitDepth,
  sampledTree,
  rejectionSampling,
  sampleFromProbabilities,
  speculative,
} from '@decodekit/core';
import type { CausalLM, DraftContext, DraftTree, Drafter, Strategy } from '@decodekit/core';

/** Options of `dyspecDrafter()` and `dyspec()`. */
export interface DyspecOptions {
  /** The draft model. Must share the target's vocabulary and support `tree`. */
  model: CausalLM;
  /** Draft nodes per step (the paper's m). Alg. 1 grows the tree to exactly this size. Default 32. */
  budget?: number;
  /**
   * `'greedy'` (Alg. 1, default): a max-heap of expansion candidates ordered by their estimated chance of
   * being accepted; each pop adds one node. `'threshold'` (Alg. 2, for big trees): layer by layer, every
   * leaf draws children while its remaining value is above `threshold`; the draft model runs once per layer.
   */
  variant?: 'greedy' | 'threshold';
  /** Alg. 2's t. Default 1 / budget (the paper uses t ≈ 1/n, 0.001 for 768 nodes). */
  threshold?: number;
  /** Deepest draft level. Default 16. */
  maxDepth?: number;
  /** Draft temperature: q = softmax(logits / temperature). Default: the decoder's (1 when greedy). */
  temperature?: number;
  /** Layers every draft forward skips (`layerSkip`): a self-draft. */
  skipLayers?: readonly number[];
  /** Seed of the draft sampler when the engine gives none. Default 0. */
  seed?: number;
  /**
   * `dyspec()` only: size the tree for the hardware with core's draft sizing instead of growing exactly
   * `budget` nodes. The engine asks for about twice the rows its last step kept (decided before anything
   * is drawn) and, at T = 0, cuts the rows that do not pay for what they add to the verification forward
   * on the measured cost curve. Lossless either way. Default false (the paper's fixed budget); worth it
   * where a forward of `budget` rows costs several one-row forwards (CPUs: 33 rows ≈ 3.3× on a 100M model).
   */
  adaptive?: boolean;
  /**
   * `dyspec()` only, with `adaptive`: the relative cost of a forward of k rows for k = 0, 1, 2, ... to use
   * instead of measuring one (see `speculative({ costCurve })`).
   */
  costCurve?: ArrayLike<number>;
}

/** A DySpec drafter. */
export interface DyspecDrafter extends Drafter {
  readonly name: 'dyspec' | 'dyspec-threshold';
  /** Draft-model forward calls made so far. */
  readonly draftForwards: number;
  /** Values v of the heap pops of the last greedy draft, in pop order (non-increasing). */
  readonly lastPopValues: readonly number[];
}

/** An expansion candidate: draw the next child of `parent` from `residual`, worth `value`. */
interface Candidate {
  parent: number;
  depth: number;
  value: number;
  /** q at `parent` with the children drawn so far removed, renormalized; undefined until computed. */
  residual: Float32Array | undefined;
}

/**
 * DySpec's drafter (Xiong et al., 2024, https://arxiv.org/abs/2410.11744). The draft tree is grown where the
 * draft model expects acceptance: a node's value is the draft probability of its path (the acceptance
 * estimate), and children of a node are drawn one at a time from q without the children drawn before,
 * so core's recursive rejection verifier (`rejectionSampling()`, with every row's q in `qDistributions`)
 * keeps the output exactly the target's.
 *
 * Alg. 1 (greedy): pop the most valuable candidate (R, v, parent); draw y ~ R; add the node; push the
 * sibling candidate (R without y, v(1 − R[y]), parent) and the child candidate (q at the new node,
 * v R[y], node). The draft model's q at a new node is computed lazily, for every pending node in one tree
 * forward, the first time one of them is popped — the same tree, far fewer draft forwards. Tree size is
 * exactly the budget unless the draft runs out of room (context, depth, end-of-sequence, exhausted q).
 *
 * At decoder temperature 0 the draws are the argmax of R (a deterministic tree; greedy match verifies).
 */
export function dyspecDrafter(options: DyspecOptions): DyspecDrafter {
  const {
    model,
    budget = 32,
    variant = 'greedy',
    maxDepth = 16,
    temperature,
    skipLayers,
    seed = 0,
  } = options ?? ({} as DyspecOptions);
  validate(options);
  const threshold = options.threshold ?? 1 / budget;
  const session = new DraftSession(model, { skipLayers, temperature, seed });
  let lastPopValues: number[] = [];

  async function propose(context: DraftContext): Promise<DraftTree | undefined> {
    const { sampler } = session;
    const deterministic = sampler.deterministic(context);
    const draw = (residual: Float32Array) =>
      deterministic ? argmax(residual) : sampleFromProbabilities(residual, sampler.random);
    const { temperature: draftTemperature, eos } = sampler;
    const bounds = {
      contextLength: context.tokens.length,
      draftContext: model.info.contextLength,
      targetContext: sampler.targetContext,
    };
    // Size and depth are fixed before drawing; the draft model's forwards hold fewer than `size` rows.
    const size = Math.min(
      budget,
      context.maxNodes,
      fitDepth(budget, rows => rows, bounds),
    );
    const depthLimit = Math.min(maxDepth, context.remaining);
    if (size < 1 || depthLimit < 1) return undefined;

    const tokens: number[] = [];
    const parents: number[] = [];
    const depths: number[] = [];
    const qAt = new RowDistributions().set(
      -1,
      await session.contextDistribution(context.tokens, draftTemperature, context.signal),
    );
    const pending = new Set<number>();
    /** Computes q at every pending node with one tree forward over the draft so far. */
    const resolve = async () => {
      if (pending.size === 0) return;
      await session.treeDistributions(
        qAt,
        { tokens, parents },
        pending,
        draftTemperature,
        context.signal,
      );
      pending.clear();
    };
    const addNode = (parent: number, token: number, depth: number): number => {
      const row = tokens.length;
      tokens.push(token);
      parents.push(parent);
      depths.push(depth);
      return row;
    };
    /** Can this node get children? Not past the depth limit, not after an end-of-sequence token. */
    const expandable = (row: number) => depths[row] < depthLimit && !eos.has(tokens[row]);

    if (variant === 'greedy') {
      lastPopValues = [];
      const heap = new MaxHeap<Candidate>(candidate => candidate.value);
      heap.push({ parent: -1, depth: 0, value: 1, residual: undefined });
      while (tokens.length < size) {
        const candidate = heap.pop();
        if (candidate === undefined) break; // the heap is empty
        lastPopValues.push(candidate.value);
        if (!candidate.residual) {
          if (pending.has(candidate.parent)) await resolve();
          candidate.residual = Float32Array.from(qAt.at(candidate.parent));
        }
        const residual = candidate.residual;
        const y = draw(residual);
        const probability = residual[y];
        const row = addNode(candidate.parent, y, candidate.depth + 1);
        residual[y] = 0;
        const left = normalize(residual);
        const siblingValue = candidate.value * (1 - probability);
        if (left > 0 && siblingValue > 0)
          heap.push({ ...candidate, value: siblingValue, residual });
        if (expandable(row)) {
          pending.add(row);
          heap.push({
            parent: row,
            depth: candidate.depth + 1,
            value: candidate.value * probability,
            residual: undefined,
          });
        }
      }
    } else {
      let layer: { row: number; depth: number; value: number }[] = [
        { row: -1, depth: 0, value: 1 },
      ];
      while (layer.length > 0 && tokens.length < size) {
        await resolve();
        const next: typeof layer = [];
        for (const leaf of layer) {
          const residual = Float32Array.from(qAt.at(leaf.row));
          let value = leaf.value;
          // NOTE: the paper prints `while v_i < t`; expanding while the value is above t is what it means.
          while (value > threshold && tokens.length < size) {
            const y = draw(residual);
            const probability = residual[y];
            const row = addNode(leaf.row, y, leaf.depth + 1);
            if (expandable(row)) {
              pending.add(row);
              next.push({ row, depth: leaf.depth + 1, value: value * probability });
            }
            value *= 1 - probability;
            residual[y] = 0;
            if (!(normalize(residual) > 0)) break;
          }
        }
        layer = next;
      }
    }
    if (tokens.length === 0) return undefined;
    return sampledTree(
      tokens,
      parents,
      parents.map(parent => qAt.at(parent)),
    );
  }

  return {
    name: variant === 'greedy' ? 'dyspec' : 'dyspec-threshold',
    providesProbabilities: true,
    requires: ['tree'],
    preferredBudget: budget,
    get draftForwards() {
      return session.forwards;
    },
    get lastPopValues() {
      return lastPopValues;
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
 * DySpec (Xiong et al., 2024, https://arxiv.org/abs/2410.11744) as one strategy: `dyspecDrafter()` plus
 * core's recursive rejection verifier over the whole tree (budget = the tree size, the engine's adaptive
 * cutting off: the budget is DySpec's own knob, unless `adaptive` hands the sizing to the engine). Lossless.
 *
 * @example
 * const decoder = createDecoder({ model: target }).use(dyspec({ model: draft, budget: 32 }));
 */
export function dyspec(options: DyspecOptions): Strategy {
  const drafter = dyspecDrafter(options);
  const budget = options.budget ?? 32;
  const strategy = speculative({
    drafter,
    verifier: rejectionSampling(),
    budget,
    adaptive: options.adaptive ?? false,
    ...(options.adaptive && options.costCurve !== undefined
      ? { costCurve: options.costCurve }
      : {}),
  });
  return { ...strategy, name: `${drafter.name}(${budget})` };
}

/** Divides by the sum in place; returns the sum before. */
function normalize(values: Float32Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  if (total > 0) for (let i = 0; i < values.length; i++) values[i] /= total;
  return total;
}

/** A binary max-heap; ties pop in insertion order. */
class MaxHeap<T> {
  private readonly items: { item: T; key: number; order: number }[] = [];
  private counter = 0;

  constructor(private readonly keyOf: (item: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push({ item, key: this.keyOf(item), order: this.counter++ });
    let index = this.items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(index, parent)) break;
      [this.items[index], this.items[parent]] = [this.items[parent], this.items[index]];
      index = parent;
    }
  }

  pop(): T | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (this.items.length > 0 && last) {
      this.items[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let best = index;
        if (left < this.items.length && this.before(left, best)) best = left;
        if (right < this.items.length && this.before(right, best)) best = right;
        if (best === index) break;
        [this.items[index], this.items[best]] = [this.items[best], this.items[index]];
        index = best;
      }
    }
    return top?.item;
  }

  private before(a: number, b: number): boolean {
    const x = this.items[a];
    const y = this.items[b];
    return x.key > y.key || (x.key === y.key && x.order < y.order);
  }
}

function validate(options: DyspecOptions): void {
  const {
    budget = 32,
    variant = 'greedy',
    threshold,
    maxDepth = 16,
  } = options ?? ({} as DyspecOptions);
  DraftSession.validate({
    ...options,
    requires: [
      { capability: 'tree', hint: 'DySpec runs the draft model on its growing draft tree.' },
    ],
  });
  if (!Number.isInteger(budget) || budget < 1)
    throw new InvalidArgumentError({
      argument: 'budget',
      message: `must be a positive integer, got ${budget}.`,
    });
  if (variant !== 'greedy' && variant !== 'threshold') {
    throw new InvalidArgumentError({
      argument: 'variant',
      message: `must be 'greedy' (Alg. 1) or 'threshold' (Alg. 2), got ${String(variant)}.`,
    });
  }
  if (threshold !== undefined && !(threshold > 0 && threshold < 1)) {
    throw new InvalidArgumentError({
      argument: 'threshold',
      message: `must be in (0, 1), got ${threshold}.`,
    });
  }
  if (!Number.isInteger(maxDepth) || maxDepth < 1)
    throw new InvalidArgumentError({
      argument: 'maxDepth',
      message: `must be a positive integer, got ${maxDepth}.`,
    });
}
