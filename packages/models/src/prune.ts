import { InvalidArgumentError } from '@decodekit/core';
import type { LlamaConfig, LlamaWeights } from './llama-config.js';

/**
 * A weight pruning method for the converter's compressed variants (the methods LLM-KICK evaluates):
 * - `magnitude`: unstructured; in every projection matrix of every layer, the `sparsity` share of weights
 *   with the smallest |w| is set to zero (layer-wise magnitude pruning).
 * - `n:m`: semi-structured N:M sparsity (2:4 is NVIDIA's sparse tensor core format); in every run of `m`
 *   consecutive weights along a row's input dimension, only the `n` largest |w| are kept.
 */
export type PruneSpec =
  | { readonly method: 'magnitude'; readonly sparsity: number }
  | { readonly method: 'n:m'; readonly n: number; readonly m: number };

/** What {@link pruneWeights} did. */
export interface PruneReport {
  /** The spec as text (`magnitude:0.5`, `2:4`). */
  readonly spec: string;
  /** Share of zeros in the pruned matrices afterwards. */
  readonly sparsity: number;
  /** Weights the pruned matrices hold (embedding, norms and classifier are never pruned). */
  readonly prunedParameters: number;
}

/** The layer projections that are pruned; the embedding (and tied classifier) and norms stay dense. */
const PROJECTIONS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;

/** `spec` as text. */
export function formatPruneSpec(spec: PruneSpec): string {
  return spec.method === 'magnitude' ? `magnitude:${spec.sparsity}` : `${spec.n}:${spec.m}`;
}

/**
 * Parses `magnitude:S` (0 < S < 1) or `N:M` (0 < N < M, e.g. `2:4`).
 *
 * @throws InvalidArgumentError naming the accepted forms
 */
export function parsePruneSpec(text: string): PruneSpec {
  const magnitude = /^magnitude:(\d*\.?\d+)$/.exec(text.trim());
  if (magnitude) {
    const sparsity = Number(magnitude[1]);
    if (sparsity > 0 && sparsity < 1) return { method: 'magnitude', sparsity };
  }
  const structured = /^(\d+):(\d+)$/.exec(text.trim());
  if (structured) {
    const n = Number(structured[1]);
    const m = Number(structured[2]);
    if (n > 0 && n < m) return { method: 'n:m', n, m };
  }
  throw new InvalidArgumentError({
    argument: 'prune',
    message: `use magnitude:S with 0 < S < 1 (e.g. magnitude:0.5) or N:M with 0 < N < M (e.g. 2:4), got "${text}".`,
  });
}

/** Zeroes the `count` entries of smallest magnitude of `matrix` in place (ties broken by index). */
function pruneSmallest(matrix: Float32Array, count: number): void {
  const order = Array.from(matrix.keys()).sort(
    (a, b) => Math.abs(matrix[a]) - Math.abs(matrix[b]) || a - b,
  );
  for (let i = 0; i < count; i++) matrix[order[i]] = 0;
}

/**
 * Prunes the layer projections of a llama2.c-layout model (row-major `[out, in]` matrices stacked per layer):
 * see {@link PruneSpec}. Returns new weight arrays; `weights` is not modified. The graph builder stores the
 * zeros densely: the variant measures what pruning does to quality, not a sparse kernel's speed.
 *
 * @throws InvalidArgumentError when an N:M pattern does not divide a matrix's input width
 */
export function pruneWeights(
  config: LlamaConfig,
  weights: LlamaWeights,
  spec: PruneSpec,
): { weights: LlamaWeights; report: PruneReport } {
  const { dim, hiddenDim, numLayers, numHeads, numKvHeads } = config;
  const kvDim = (dim * numKvHeads) / numHeads;
  const shapes: Record<(typeof PROJECTIONS)[number], [number, number]> = {
    wq: [dim, dim],
    wk: [kvDim, dim],
    wv: [kvDim, dim],
    wo: [dim, dim],
    w1: [hiddenDim, dim],
    w2: [dim, hiddenDim],
    w3: [hiddenDim, dim],
  };
  const pruned: Partial<Record<(typeof PROJECTIONS)[number], Float32Array>> = {};
  let zeros = 0;
  let total = 0;
  for (const name of PROJECTIONS) {
    const [rows, columns] = shapes[name];
    if (spec.method === 'n:m' && columns % spec.m !== 0) {
      throw new InvalidArgumentError({
        argument: 'prune',
        message: `${spec.n}:${spec.m} needs input widths divisible by ${spec.m}, but ${name} has ${columns}; use magnitude pruning or another M.`,
      });
    }
    const out = Float32Array.from(weights[name]);
    const size = rows * columns;
    for (let layer = 0; layer < numLayers; layer++) {
      const matrix = out.subarray(layer * size, (layer + 1) * size);
      if (spec.method === 'magnitude') {
        pruneSmallest(matrix, Math.round(spec.sparsity * size));
      } else {
        for (let start = 0; start < size; start += spec.m)
          pruneSmallest(matrix.subarray(start, start + spec.m), spec.m - spec.n);
      }
    }
    for (const value of out) if (value === 0) zeros += 1;
    total += out.length;
    pruned[name] = out;
  }
  return {
    weights: { ...weights, ...pruned },
    report: { spec: formatPruneSpec(spec), sparsity: zeros / total, prunedParameters: total },
  };
}
