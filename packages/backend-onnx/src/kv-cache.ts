import type { FloatType } from './graph-io';
import type { OrtRuntime, OrtTensor } from './ort-runtime';
import type { ModelShape } from './model-config';

/**
 * KV cache tensors are immutable: a forward returns new `present` tensors, and commit/truncate build new ones.
 * That is what makes `fork()` free (both sequences share the same tensors) and chain commits zero-copy (the
 * forward's `present` tensors become the next `past` as they are). The cache keeps the graph's element type:
 * float16 caches are Uint16Array bits (what ONNX Runtime for JavaScript uses for float16) and are only copied.
 */

type CacheData = Float32Array | Uint16Array;

function allocate(type: FloatType, length: number): CacheData {
  return type === 'float16' ? new Uint16Array(length) : new Float32Array(length);
}

/** `past_key_values` tensors of an empty cache: [1, H, 0, D] each, shared by every sequence of a model. */
export function emptyCache(
  ort: OrtRuntime,
  shape: ModelShape,
  count: number,
  type: FloatType = 'float32',
): OrtTensor[] {
  const empty = new ort.Tensor(type, allocate(type, 0), [1, shape.kvHeads, 0, shape.headDim]);
  return Array.from({ length: count }, () => empty);
}

/**
 * New cache tensors that keep `positions` (in order) of `tensors` [1, H, sourceLength, D] each. Runs of
 * consecutive positions are copied as one block per head, so keeping a prefix costs H copies per tensor.
 */
export function gatherCache(
  ort: OrtRuntime,
  tensors: readonly OrtTensor[],
  sourceLength: number,
  positions: ArrayLike<number>,
  shape: ModelShape,
  type: FloatType = 'float32',
): OrtTensor[] {
  const { kvHeads, headDim } = shape;
  const length = positions.length;
  // Spans [sourceStart, targetStart, count] of consecutive positions.
  const spans: number[] = [];
  for (let index = 0; index < length;) {
    const start = positions[index];
    let count = 1;
    while (index + count < length && positions[index + count] === start + count) count++;
    spans.push(start, index, count);
    index += count;
  }
  const dims = [1, kvHeads, length, headDim];
  return tensors.map(tensor => {
    const source = tensor.data as CacheData;
    // Same array type as the source: float16 data may be Uint16Array bits or (where the engine has one) a
    // Float16Array, and copying between the two would convert values instead of keeping bits.
    const target = new (source.constructor as new (length: number) => CacheData)(
      kvHeads * length * headDim,
    );
    for (let head = 0; head < kvHeads; head++) {
      const sourceBase = head * sourceLength * headDim;
      const targetBase = head * length * headDim;
      for (let span = 0; span < spans.length; span += 3) {
        const from = sourceBase + spans[span] * headDim;
        target.set(
          source.subarray(from, from + spans[span + 2] * headDim) as never,
          targetBase + spans[span + 1] * headDim,
        );
      }
    }
    return new ort.Tensor(type, target, dims);
  });
}
