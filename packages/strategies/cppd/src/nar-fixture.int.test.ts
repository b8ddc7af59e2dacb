import { buildNarRecognizer } from '@decodekit/models';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cppd, cppdCharset, type NarModel } from './index.js';

// A builder-made parallel decoder head (PaddleOCR English sizes: 37 classes, 25 characters + </s>): one
// forward emits every position's distribution; cppd turns it into text.
const fixture = buildNarRecognizer({ seed: 1 });
const charset = cppdCharset();
const classIdsOf = (text: string) => Array.from(text, character => charset.indexOf(character));
let session: ort.InferenceSession;
let forwards = 0;
const model: NarModel<Float32Array[]> = async rows => {
  forwards += 1;
  const features = new Float32Array(rows.length * rows[0].length);
  rows.forEach((row, index) => features.set(row, index * row.length));
  const { probs } = await session.run({
    features: new ort.Tensor('float32', features, [
      rows.length,
      fixture.positions,
      fixture.featureSize,
    ]),
  });
  return { data: probs.data as Float32Array, dims: probs.dims };
};

beforeAll(async () => {
  session = await ort.InferenceSession.create(fixture.onnx, { intraOpNumThreads: 1 });
});
afterAll(async () => {
  await session.release();
});

describe('cppd on a builder-made NAR fixture', () => {
  it('reads a batch of texts back from one forward, cut at </s>', async () => {
    const texts = ['hello42', 'decodekit', 'x', 'abcdefghijklmnopqrstuvwxy'];
    forwards = 0;
    const results = await cppd({ charset }).recognize(
      model,
      texts.map(text => fixture.featuresOf(classIdsOf(text))),
    );
    expect(forwards).toBe(1);
    expect(results.map(result => result.text)).toEqual(texts);
    for (const [index, result] of results.entries()) {
      expect(result.probabilities).toHaveLength(texts[index].length);
      expect(result.confidence).toBeGreaterThan(0.5);
      expect(result.confidence).toBeLessThanOrEqual(1);
    }
  });

  it('product confidence is the mean’s pessimistic twin and falls as glyphs get noisier', async () => {
    const mean = cppd({ charset });
    const product = cppd({ charset, confidence: 'product' });
    const features = (noise: number) => [
      fixture.featuresOf(classIdsOf('scene2text'), { noise, seed: 7 }),
    ];
    const clean = await mean.recognize(model, features(0));
    const cleanProduct = await product.recognize(model, features(0));
    expect(cleanProduct[0].ids).toEqual(clean[0].ids);
    expect(cleanProduct[0].confidence).toBeLessThanOrEqual(clean[0].confidence);
    expect(cleanProduct[0].confidence).toBeCloseTo(
      clean[0].probabilities.reduce((a, b) => a * b, 1),
      6,
    );
    const noisy = await mean.recognize(model, features(1));
    expect(noisy[0].ids.length).toBeGreaterThan(0);
    expect(noisy[0].confidence).toBeLessThan(clean[0].confidence);
  });
});
