import { InvalidArgumentError } from '@decodekit/core';
import { ElemType, createGraphWriter, encodeModel } from './onnx-writer.js';
import { seededRandom } from './seeded-random.js';

/** Options of {@link buildNarRecognizer}. */
export interface NarRecognizerOptions {
  /** Classes per position, class 0 being the end token `</s>` (PaddleOCR's English CPPD: 37). Default 37. */
  readonly classes?: number;
  /** Output positions, the end token's included (CPPD: max_len 25 + 1). Default 26. */
  readonly positions?: number;
  /** Scale of the glyph part of a feature row; higher means more confident outputs. Default 8. */
  readonly glyphScale?: number;
  /** Seed of the classifier's noise. Default 0. */
  readonly seed?: number;
  /** Standard deviation of the noise added to the classifier weights. Default 0.1. */
  readonly noise?: number;
}

/** A built NAR fixture: the ONNX bytes and how to make its input. */
export interface NarRecognizer {
  /** ONNX model: input `features` float32 [batch, positions, classes + positions], output `probs` [batch, positions, classes]. */
  readonly onnx: Uint8Array;
  readonly classes: number;
  readonly positions: number;
  /** Width of a feature row: a glyph part (one per class) and a position part (one per position). */
  readonly featureSize: number;
  /**
   * The `features` of one "image" showing `classIds` (each in [1, classes)), padded with the end class:
   * row t = [glyphScale · onehot(class of t) + glyphNoise, onehot(t)], where `glyphNoise` (seeded normal,
   * std `noise`) blurs the glyph the way a hard image would.
   */
  featuresOf(
    classIds: readonly number[],
    options?: { noise?: number; seed?: number },
  ): Float32Array;
}

/**
 * A seeded stand-in for a scene-text parallel decoder head (CPPD's position nodes attending to visual
 * features, then a per-position classifier), built with the graph writer: every output position `p` queries
 * the feature rows with a one-hot positional key, attends (softmax) to row `p`, and classifies the glyph part
 * of what it read, followed by a softmax — so one forward emits every position's distribution over the
 * charset. With clean features it reads back the shown classes, then the end class.
 *
 * @throws InvalidArgumentError on sizes below 2
 */
export function buildNarRecognizer(options: NarRecognizerOptions = {}): NarRecognizer {
  const classes = options.classes ?? 37;
  const positions = options.positions ?? 26;
  const glyphScale = options.glyphScale ?? 8;
  for (const [argument, value] of [
    ['classes', classes],
    ['positions', positions],
  ] as const) {
    if (!Number.isInteger(value) || value < 2) {
      throw new InvalidArgumentError({
        argument,
        message: `must be an integer of at least 2, got ${value}.`,
      });
    }
  }
  const featureSize = classes + positions;
  const random = seededRandom(options.seed ?? 0);
  const noise = options.noise ?? 0.1;
  const g = createGraphWriter();
  g.input('features', ElemType.float, ['batch', positions, featureSize]);
  // Queries [positions, featureSize]: a sharp one-hot on the position part.
  const queries = new Float32Array(positions * featureSize);
  for (let p = 0; p < positions; p++) queries[p * featureSize + classes + p] = 30;
  g.float('position_queries', [positions, featureSize], queries);
  // Classifier [featureSize, classes]: identity on the glyph part plus seeded noise, zero on the position part.
  const classifier = new Float32Array(featureSize * classes);
  for (let row = 0; row < classes; row++)
    for (let c = 0; c < classes; c++)
      classifier[row * classes + c] = (row === c ? 1 : 0) + noise * random.normal();
  g.float('classifier', [featureSize, classes], classifier);
  const keys = g.op1('Transpose', ['features'], { perm: [0, 2, 1] }); // [batch, featureSize, positions]
  const scores = g.op1('MatMul', ['position_queries', keys]); // [batch, positions, positions]
  const attention = g.op1('Softmax', [scores], { axis: -1 });
  const read = g.op1('MatMul', [attention, 'features']); // [batch, positions, featureSize]
  const logits = g.op1('MatMul', [read, 'classifier']); // [batch, positions, classes]
  g.op1('Softmax', [logits], { axis: -1 }, 'probs');
  g.output('probs', ElemType.float, ['batch', positions, classes]);
  const onnx = encodeModel(g.toGraph('nar_recognizer'), {
    metadata: { 'decodekit.graph': 'nar-fixture' },
  });
  return {
    onnx,
    classes,
    positions,
    featureSize,
    featuresOf(classIds, featureOptions = {}) {
      if (classIds.length >= positions) {
        throw new InvalidArgumentError({
          argument: 'classIds',
          message: `at most ${positions - 1} classes fit (one position is the end token), got ${classIds.length}.`,
        });
      }
      for (const id of classIds) {
        if (!Number.isInteger(id) || id < 1 || id >= classes) {
          throw new InvalidArgumentError({
            argument: 'classIds',
            message: `each class must be an integer in [1, ${classes}) (0 is the end token), got ${id}.`,
          });
        }
      }
      const glyphNoise = seededRandom(featureOptions.seed ?? 0);
      const std = featureOptions.noise ?? 0;
      const features = new Float32Array(positions * featureSize);
      for (let t = 0; t < positions; t++) {
        const row = t * featureSize;
        features[row + (t < classIds.length ? classIds[t] : 0)] = glyphScale;
        if (std > 0)
          for (let c = 0; c < classes; c++) features[row + c] += std * glyphNoise.normal();
        features[row + classes + t] = 1;
      }
      return features;
    },
  };
}
