import { invariant } from '../errors.js';
import type { CausalLM, Sequence } from '../types.js';

/**
 * Hardware-aware draft sizing. A draft row is only worth verifying when the tokens it is expected to add
 * pay for what it adds to the forward. The policy measures the backend's cost of one forward of k rows,
 * learns how often a child of each depth and sibling rank is accepted, and keeps the rows that maximize
 * expected tokens per unit of forward cost (the hardware-aware tree sizing of PPD and Sequoia, learned
 * online). Cutting a draft never changes what is emitted, only how fast.
 */
/** Steps without a draft after which the policy verifies one row anyway, to keep learning. */
const EXPLORE_EVERY = 8;

/** Cost curves per model: measured once per model and process, shared by every strategy instance. */
const measuredCosts = new WeakMap<object, Float64Array>();

export class DraftLengthPolicy {
  private readonly hits: number[] = [];
  private readonly trials: number[] = [];
  private costs: Float64Array | undefined;
  private idleSteps = 0;
  private lastKept: number | undefined;
  private extraRows = 0;

  /** @param pinned a cost curve to use instead of measuring one (`speculative({ costCurve })`). */
  constructor(pinned?: Float64Array) {
    this.costs = pinned;
  }

  /**
   * How many draft rows to ask the drafter for next: a little more than the last step kept, so drafters
   * that pay per row (a draft model runs one forward per token) do not draft rows that will be cut, while
   * the policy can still see deeper drafts pay off. Decided from past steps only, before anything is drawn.
   */
  nodeHint(budget: number): number {
    if (this.lastKept === undefined) return budget;
    return Math.min(budget, Math.max(2, this.lastKept * 2 + 2));
  }

  /**
   * Records how many rows the drafter appended to the last verification forward (`Drafter.extend`, e.g.
   * PPD's prompt rows). The next `selectRows` prices the tree on top of that many rows: every forward carries
   * them, so a tree row costs what it adds to a forward of 1 + extra rows, not to one of a single row.
   */
  noteExtraRows(count: number): void {
    this.extraRows = Math.max(0, count);
  }

  /** Relative cost of one forward of k rows (k = 1 → 1), once measured. */
  get costCurve(): Float64Array | undefined {
    return this.costs;
  }

  /**
   * Gets the cost curve once: pinned, already measured in this process for `model`, stored by the model's
   * `costProfile`, or measured now on a fork of `sequence` (forwards of 1..maxRows rows) and stored. Once
   * known it is never re-timed, so sizing decisions depend on the generation only, not on machine load;
   * drafts longer than the curve extrapolate it linearly.
   */
  async calibrate(
    sequence: Sequence,
    pending: number,
    maxRows: number,
    signal?: AbortSignal,
    model?: CausalLM,
  ): Promise<void> {
    if (this.costs) return;
    const known = model ? measuredCosts.get(model) : undefined;
    if (known) {
      this.costs = known;
      return;
    }
    const stored = await model?.costProfile?.load();
    if (model && stored && isCostCurve(stored)) {
      this.costs = stored;
      measuredCosts.set(model, stored);
      return;
    }
    const probe = sequence.fork();
    try {
      const sizes = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128].filter(
        size => size <= maxRows,
      );
      if (sizes.at(-1) !== maxRows) sizes.push(maxRows);
      const times = new Map<number, number[]>();
      for (let round = 0; round < 3; round++) {
        for (const size of sizes) {
          const tokens = new Int32Array(size).fill(pending);
          const start = performance.now();
          await probe.forward({ tokens }, { signal });
          const elapsed = performance.now() - start;
          probe.commit([]);
          if (round > 0) times.set(size, [...(times.get(size) ?? []), elapsed]);
        }
      }
      const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1];
      const measured = sizes.map(size => {
        const samples = times.get(size);
        invariant(samples !== undefined, `draft size ${size} was never timed`);
        return median(samples);
      });
      const base = measured[0];
      const costs = new Float64Array(maxRows + 1);
      // Piecewise-linear between measured sizes, monotone, relative to one row.
      let running = 1;
      for (let k = 1; k <= maxRows; k++) {
        const upper = sizes.findIndex(size => size >= k);
        const lower = Math.max(0, upper - 1);
        const span = sizes[upper] - sizes[lower];
        const t = span === 0 ? 0 : (k - sizes[lower]) / span;
        const value = (measured[lower] + t * (measured[upper] - measured[lower])) / base;
        running = Math.max(running, value);
        costs[k] = running;
      }
      costs[0] = 1;
      this.costs = costs;
      if (model) {
        measuredCosts.set(model, costs);
        await model.costProfile?.save(costs);
      }
    } finally {
      probe.dispose();
    }
  }

  /**
   * The rows of a draft worth verifying. Each row's chance of lying on the accepted path is estimated as the
   * product, along its path, of how often a child of that depth and sibling rank was accepted before; rows
   * are taken in order of that chance (a parent always before its children) for as long as the expected
   * tokens per unit of forward cost grow. The forward's rows are the pending token, the kept rows and the rows
   * the drafter last appended (`noteExtraRows`). Returns a keep mask over the rows.
   */
  selectRows(parents: Int32Array): Uint8Array {
    const rows = parents.length;
    const keep = new Uint8Array(rows);
    const costs = this.costs;
    if (!costs) return keep.fill(1);
    const depth = new Int32Array(rows);
    const rank = new Int32Array(rows);
    const chance = new Float64Array(rows);
    const childCount = new Map<number, number>();
    const previousSibling = new Map<number, number>();
    for (let row = 0; row < rows; row++) {
      const parent = parents[row];
      depth[row] = parent < 0 ? 1 : depth[parent] + 1;
      const seen = childCount.get(parent) ?? 0;
      rank[row] = seen;
      childCount.set(parent, seen + 1);
      chance[row] = (parent < 0 ? 1 : chance[parent]) * this.rate(depth[row], rank[row]);
      // A later sibling never ranks above an earlier one, so kept siblings are always a prefix in the
      // drafter's order (drafts drawn without replacement are verified in that order).
      const previous = previousSibling.get(parent);
      if (previous !== undefined) chance[row] = Math.min(chance[row], chance[previous]);
      previousSibling.set(parent, row);
    }
    const order = Array.from({ length: rows }, (_, row) => row).sort(
      (a, b) => chance[b] - chance[a] || a - b,
    );
    const costOf = (forwardRows: number) =>
      forwardRows < costs.length
        ? costs[forwardRows]
        : costs[costs.length - 1] * (forwardRows / (costs.length - 1));
    let expected = 1;
    let best = 0;
    let bestScore = 1 / costOf(1 + this.extraRows);
    for (let taken = 1; taken <= rows; taken++) {
      expected += chance[order[taken - 1]];
      const cost = costOf(taken + 1 + this.extraRows);
      if (expected / cost > bestScore) {
        bestScore = expected / cost;
        best = taken;
      }
    }
    // Exploration: when drafting looks unprofitable, still verify the single likeliest row every few steps,
    // so the estimates can recover (a policy that never drafts would never learn otherwise).
    if (best === 0) {
      this.idleSteps += 1;
      if (this.idleSteps >= EXPLORE_EVERY) {
        this.idleSteps = 0;
        best = 1;
      }
    } else {
      this.idleSteps = 0;
    }
    this.lastKept = best;
    for (let index = 0; index < best; index++) keep[order[index]] = 1;
    // Chances shrink along paths, but ties can order a child first: keep every kept row's ancestors.
    for (let row = rows - 1; row >= 0; row--)
      if (keep[row] && parents[row] >= 0) keep[parents[row]] = 1;
    return keep;
  }

  /**
   * Records one verification: for every node on the accepted path (and the root), which of its children
   * existed and which one (if any) was accepted. `acceptedRows` are draft rows, root to leaf.
   */
  record(parents: Int32Array, acceptedRows: readonly number[]): void {
    const onPath = new Set<number>([-1, ...acceptedRows]);
    const accepted = new Set<number>(acceptedRows);
    const depth = new Int32Array(parents.length);
    const childCount = new Map<number, number>();
    for (let row = 0; row < parents.length; row++) {
      const parent = parents[row];
      depth[row] = parent < 0 ? 1 : depth[parent] + 1;
      const rank = childCount.get(parent) ?? 0;
      childCount.set(parent, rank + 1);
      if (!onPath.has(parent)) continue;
      const key = this.key(depth[row], rank);
      this.trials[key] = (this.trials[key] ?? 0) + 1;
      if (accepted.has(row)) this.hits[key] = (this.hits[key] ?? 0) + 1;
    }
  }

  /** Estimated P(a child of this depth and sibling rank is accepted | its parent was). */
  private rate(depth: number, rank: number): number {
    const key = this.key(depth, rank);
    // Optimistic prior for the first sibling (Beta(2, 1)), neutral for the others, so new shapes get tried.
    const prior = rank === 0 ? [2, 3] : [1, 4];
    return ((this.hits[key] ?? 0) + prior[0]) / ((this.trials[key] ?? 0) + prior[1]);
  }

  private key(depth: number, rank: number): number {
    return Math.min(depth, 32) * 64 + Math.min(rank, 63);
  }
}

function isCostCurve(costs: Float64Array): boolean {
  return costs.length >= 2 && costs.every(value => Number.isFinite(value) && value > 0);
}
