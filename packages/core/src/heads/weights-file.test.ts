import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ModelFormatError } from '../errors.js';
import {
  checkTensorShapes,
  decodeTensor,
  randomTensors,
  readWeightsFile,
  requireWeights,
  serializeWeightsFile,
} from './weights-file.js';

const kind = { format: 'decodekit-test/1', id: 'test' };

describe('weights files', () => {
  it('serializes nested tensors as base64 and reads them back', () => {
    const weight = Float32Array.of(1.5, -2, 0.25);
    const text = serializeWeightsFile(kind, {
      model: 'm',
      layers: [{ weight }, { weight: Float32Array.of(3) }],
      tree: [[0], [0, 1]],
    });
    const data = readWeightsFile(kind, text, 'file.json');
    expect(Object.keys(data)[0]).toBe('format');
    expect(data.tree).toEqual([[0], [0, 1]]);
    const layers = data.layers as { weight: string }[];
    expect(Array.from(decodeTensor(layers[0].weight))).toEqual([1.5, -2, 0.25]);
    expect(Array.from(decodeTensor(layers[1].weight))).toEqual([3]);
    expect(decodeTensor(undefined)).toHaveLength(0);
  });

  it('rejects other formats and broken JSON with the command that writes them', () => {
    expect(() => readWeightsFile(kind, '{"format":"other/1"}', 'a.json')).toThrow(ModelFormatError);
    expect(() => readWeightsFile(kind, '{', 'a.json')).toThrow(/decodekit train test/);
  });

  it('checks shapes and makes seeded random tensors', () => {
    const shapes = { 'a.weight': [2, 3], 'a.bias': [2], norm: [3] } as const;
    const tensors = randomTensors(shapes, {
      seed: 1,
      scale: 0.5,
      initial: name => (name === 'norm' ? 'ones' : name.endsWith('bias') ? 'zeros' : 'uniform'),
    });
    expect(() => checkTensorShapes(tensors, shapes)).not.toThrow();
    expect(Array.from(tensors.norm)).toEqual([1, 1, 1]);
    expect(Array.from(tensors['a.bias'])).toEqual([0, 0]);
    expect(tensors['a.weight'].every(value => Math.abs(value) <= 0.5)).toBe(true);
    expect(Array.from(randomTensors(shapes, { seed: 1, scale: 0.5 })['a.weight'])).toEqual(
      Array.from(tensors['a.weight']),
    );
    expect(() => checkTensorShapes({ ...tensors, norm: new Float32Array(2) }, shapes)).toThrow(
      /norm must hold 3 = 3 floats/,
    );
    expect(() => requireWeights(undefined, 'test', 'parseTestWeights')).toThrow(
      InvalidArgumentError,
    );
  });
});
