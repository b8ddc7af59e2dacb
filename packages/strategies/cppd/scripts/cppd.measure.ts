import { buildNarRecognizer } from '@decodekit/models';
import * as ort from 'onnxruntime-node';
import { it } from 'vitest';
import { cppd, cppdCharset } from '../src/index.js';

// The README's table: 200 seeded random texts (1–25 of PaddleOCR's 36 English characters) shown to the
// builder-made NAR fixture with growing glyph noise; one forward per batch of 50.
// `npx vitest run --config packages/models/measure.config.ts packages/strategies/cppd/scripts/cppd.measure.ts`
it('cppd table', async () => {
  const fixture = buildNarRecognizer({ seed: 1 });
  const charset = cppdCharset();
  const session = await ort.InferenceSession.create(fixture.onnx, { intraOpNumThreads: 1 });
  // Warm-up: the first run of a session pays for its allocations.
  await session.run({
    features: new ort.Tensor('float32', new Float32Array(fixture.positions * fixture.featureSize), [
      1,
      fixture.positions,
      fixture.featureSize,
    ]),
  });
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const texts = Array.from({ length: 200 }, () =>
    Array.from(
      { length: 1 + Math.floor(next() * 25) },
      () => charset[1 + Math.floor(next() * 36)],
    ).join(''),
  );
  const rows: string[] = [];
  for (const noise of [0, 0.5, 1, 1.5, 2]) {
    const mean = cppd({ charset });
    const product = cppd({ charset, confidence: 'product' });
    let correct = 0;
    let chars = 0;
    let charsRight = 0;
    const confidence = {
      mean: { right: [] as number[], wrong: [] as number[] },
      product: { right: [] as number[], wrong: [] as number[] },
    };
    let forwardMs = 0;
    let decodeMs = 0;
    for (let start = 0; start < texts.length; start += 50) {
      const batch = texts.slice(start, start + 50);
      const features = new Float32Array(batch.length * fixture.positions * fixture.featureSize);
      batch.forEach((text, index) =>
        features.set(
          fixture.featuresOf(
            Array.from(text, c => charset.indexOf(c)),
            { noise, seed: start + index },
          ),
          index * fixture.positions * fixture.featureSize,
        ),
      );
      const began = performance.now();
      const { probs } = await session.run({
        features: new ort.Tensor('float32', features, [
          batch.length,
          fixture.positions,
          fixture.featureSize,
        ]),
      });
      const ran = performance.now();
      const output = { data: probs.data as Float32Array, dims: probs.dims };
      let byMean = mean.decode(output);
      for (let repeat = 0; repeat < 20; repeat++) byMean = mean.decode(output);
      decodeMs += (performance.now() - ran) / 21;
      forwardMs += ran - began;
      const byProduct = product.decode(output);
      batch.forEach((text, index) => {
        const read = byMean[index].text ?? '';
        const right = read === text;
        if (right) correct += 1;
        for (let i = 0; i < text.length; i++) if (read[i] === text[i]) charsRight += 1;
        chars += text.length;
        confidence.mean[right ? 'right' : 'wrong'].push(byMean[index].confidence);
        confidence.product[right ? 'right' : 'wrong'].push(byProduct[index].confidence);
      });
    }
    // An empty read has no mean confidence (NaN, as PaddleOCR's np.mean([])): counted apart.
    const average = (values: number[]) => {
      const defined = values.filter(value => !Number.isNaN(value));
      return defined.length === 0
        ? '–'
        : (defined.reduce((a, b) => a + b, 0) / defined.length).toFixed(3);
    };
    const empty = confidence.mean.wrong.filter(value => Number.isNaN(value)).length;
    rows.push(
      `| ${noise} | ${(correct / texts.length).toFixed(3)} | ${(charsRight / chars).toFixed(3)} | ${average(confidence.mean.right)} / ${average(confidence.mean.wrong)} | ${average(confidence.product.right)} / ${average(confidence.product.wrong)} | ${empty} | ${(forwardMs / 4).toFixed(2)} | ${((decodeMs / 200) * 1000).toFixed(1)} |`,
    );
  }
  await session.release();
  console.log(
    [
      '| glyph noise σ | word accuracy | char accuracy | mean confidence right / wrong | product confidence right / wrong | empty reads | forward ms / batch of 50 | decode µs / text |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n'),
  );
});
