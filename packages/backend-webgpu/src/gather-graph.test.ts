import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildGatherGraph, gatherInputName, gatherOutputName } from './gather-graph';

describe('buildGatherGraph', () => {
  it('is a valid ONNX model that gathers positions along axis 2 of every input (CPU provider)', async () => {
    const session = await ort.InferenceSession.create(buildGatherGraph(3));
    expect(session.inputNames).toEqual(['kv.0', 'kv.1', 'kv.2', 'indices']);
    expect(session.outputNames).toEqual(['out.0', 'out.1', 'out.2']);
    const heads = 2;
    const slots = 5;
    const headDim = 3;
    const feeds: Record<string, ort.Tensor> = {};
    for (let index = 0; index < 3; index++) {
      const data = Float32Array.from(
        { length: heads * slots * headDim },
        (_, k) => index * 1000 + k,
      );
      feeds[gatherInputName(index)] = new ort.Tensor('float32', data, [1, heads, slots, headDim]);
    }
    const kept = [0, 2, 3];
    feeds.indices = new ort.Tensor('int64', BigInt64Array.from(kept.map(BigInt)), [kept.length]);
    const outputs = await session.run(feeds);
    for (let index = 0; index < 3; index++) {
      const output = outputs[gatherOutputName(index)];
      expect(output.dims).toEqual([1, heads, kept.length, headDim]);
      const expected: number[] = [];
      for (let head = 0; head < heads; head++)
        for (const slot of kept)
          for (let d = 0; d < headDim; d++)
            expected.push(index * 1000 + (head * slots + slot) * headDim + d);
      expect(Array.from(output.data as Float32Array)).toEqual(expected);
    }
    await session.release();
  });
});
