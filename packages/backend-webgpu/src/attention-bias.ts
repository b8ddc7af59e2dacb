// Kept in step with @decodekit/backend-onnx/src/attention-bias.ts, which does not export it (see README, "Shared code").
/** Additive bias value for a masked position (docs/graph-io.md: 0 = attend, -1e9 = masked). */
export const MASKED = -1e9;

/**
 * Fills `bias` [n, past + n] (the `attention_bias` input without its leading [1, 1]) so that row r attends
 * to the whole past (less the slots `pastMask` masks), its ancestors and itself, and writes each row's
 * depth into `depths` [n].
 * `parents` null means a chain. A row's visible set is its parent's plus itself, so each row copies its
 * parent's row: O(n · (past + n)), the size of the bias itself.
 */
export function fillAttentionBias(
  bias: Float32Array,
  depths: Int32Array,
  past: number,
  parents: Int32Array | null,
  pastMask: Float32Array | null = null,
): void {
  const rows = depths.length;
  const width = past + rows;
  for (let row = 0; row < rows; row++) {
    const start = row * width;
    const parent = parents === null ? row - 1 : parents[row];
    if (pastMask === null) bias.fill(0, start, start + past);
    else bias.set(pastMask.subarray(0, past), start);
    if (parent < 0) {
      bias.fill(MASKED, start + past, start + width);
      depths[row] = 0;
    } else {
      const parentStart = parent * width;
      bias.copyWithin(start + past, parentStart + past, parentStart + width);
      depths[row] = depths[parent] + 1;
    }
    bias[start + past + row] = 0;
  }
}

/** Depth of every row of a tree (0 for rows attached to the committed prefix). */
export function fillDepths(depths: Int32Array, parents: Int32Array | null): void {
  for (let row = 0; row < depths.length; row++) {
    const parent = parents === null ? row - 1 : parents[row];
    depths[row] = parent < 0 ? 0 : depths[parent] + 1;
  }
}
