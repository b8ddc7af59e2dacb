/**
 * The quantized weight layouts run by ONNX Runtime's kernels compute what they encode: com.microsoft
 * MatMulNBits on quantizeInt4's packing equals a MatMul with the dequantized weights, and MatMulInteger on
 * quantizeInt8's int8 weights equals the integer product.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ElemType, createGraphWriter, encodeModel } from './onnx-writer';
import { quantizeInt4, quantizeInt8 } from './quantize';
import { seededRandom } from './seeded-random';

const rows = 2;

function randomMatrix(length: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => random.next() * 2 - 1);
}

async function run(graph: Uint8Array, x: Float32Array, K: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(graph);
  try {
    const outputs = await session.run({ x: new ort.Tensor('float32', x, [1, rows, K]) });
    return outputs.y.data as Float32Array;
  } finally {
    await session.release();
  }
}

function matmul(x: Float32Array, w: Float32Array, K: number, N: number): Float32Array {
  const out = new Float32Array(rows * N);
  for (let r = 0; r < rows; r++)
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) out[r * N + n] += x[r * K + k] * w[k * N + n];
  return out;
}

describe('quantized kernels', () => {
  // K = 40 and 172 are not multiples of the block size (the last block is padded); 64 × 224 and 172 × 64 are
  // stories260K's fused QKV and down projections, where ONNX Runtime may pick other kernels.
  it.each([
    { K: 40, N: 3, symmetric: true },
    { K: 40, N: 3, symmetric: false },
    { K: 64, N: 224, symmetric: false },
    { K: 172, N: 64, symmetric: false },
    { K: 172, N: 64, symmetric: true },
  ])(
    'MatMulNBits reads quantizeInt4 as (q - zero point) × scale per column block ($K × $N, symmetric $symmetric)',
    async ({ K, N, symmetric }) => {
      const x = randomMatrix(rows * K, 1);
      const w = randomMatrix(K * N, 2);
      const { packed, scales, blocks, zeroPoints } = quantizeInt4(w, K, N, 32, { symmetric });
      const zeroBytes = Math.ceil(blocks / 2);
      const dequantized = new Float32Array(K * N);
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const block = k >> 5;
          const byte = packed[(n * blocks + block) * 16 + ((k & 31) >> 1)];
          const q = k & 1 ? byte >> 4 : byte & 0xf;
          const zeroByte = zeroPoints?.[n * zeroBytes + (block >> 1)] ?? 0x88;
          const zero = block & 1 ? zeroByte >> 4 : zeroByte & 0xf;
          dequantized[k * N + n] = (q - zero) * scales[n * blocks + block];
        }
      }
      const g = createGraphWriter();
      g.input('x', ElemType.float, [1, rows, K]);
      g.tensor('w', [N, blocks, 16], ElemType.uint8, packed);
      g.float('scales', [N * blocks], scales);
      if (zeroPoints !== undefined)
        g.tensor('zero_points', [N * zeroBytes], ElemType.uint8, zeroPoints);
      const inputs =
        zeroPoints === undefined ? ['x', 'w', 'scales'] : ['x', 'w', 'scales', 'zero_points'];
      const y = g.contrib('MatMulNBits', inputs, { K, N, bits: 4, block_size: 32 });
      g.op1('Identity', [y], {}, 'y');
      g.output('y', ElemType.float, [1, rows, N]);
      const actual = await run(encodeModel(g.toGraph('q4')), x, K);
      const expected = matmul(x, dequantized, K, N);
      for (let index = 0; index < expected.length; index++)
        expect(actual[index]).toBeCloseTo(expected[index], 4);
    },
  );

  it('MatMulInteger multiplies int8 activations by quantizeInt8 weights exactly', async () => {
    const [K, N] = [40, 3];
    const w = randomMatrix(K * N, 2);
    const x = randomMatrix(rows * K, 1);
    const { quantized, scales } = quantizeInt8(w, K, N);
    const g = createGraphWriter();
    g.input('x', ElemType.float, [1, rows, K]);
    g.tensor('w', [K, N], ElemType.int8, quantized);
    const xq = g.op1('Cast', [g.op1('Round', ['x'])], { to: ElemType.int8 });
    g.op1('Cast', [g.op1('MatMulInteger', [xq, 'w'])], { to: ElemType.float }, 'y');
    g.output('y', ElemType.float, [1, rows, N]);
    const integers = x.map(value => Math.round(value * 100));
    const actual = await run(encodeModel(g.toGraph('q8')), integers, K);
    const expected = matmul(integers, Float32Array.from(quantized), K, N);
    expect([...actual]).toEqual([...expected]);
    expect(scales.length).toBe(N);
  });
});
