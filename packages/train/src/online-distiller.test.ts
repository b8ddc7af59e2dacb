import { InvalidArgumentError, mockModel } from '@decodekit/core';
import type { DraftTrainingSample, RejectedPosition } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { tfLlama, type TfLlamaConfig, type TfLlamaWeights } from './llama-tf.js';
import { distillationLoss, onlineDistiller } from './online-distiller.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { seededUniform } from './training-loop.js';

const CONFIG: TfLlamaConfig = {
  vocabSize: 6,
  dim: 8,
  hiddenDim: 12,
  numLayers: 1,
  numHeads: 2,
  numKvHeads: 1,
  contextLength: 16,
  tiedEmbeddings: true,
};

function randomWeights(seed: number): TfLlamaWeights {
  const { vocabSize: v, dim: d, hiddenDim: h } = CONFIG;
  const kv = d / 2;
  const ones = (n: number) => new Float32Array(n).fill(1);
  return {
    tokenEmbedding: seededUniform(v * d, 0.5, seed),
    rmsAtt: ones(d),
    wq: seededUniform(d * d, 0.3, seed + 1),
    wk: seededUniform(kv * d, 0.3, seed + 2),
    wv: seededUniform(kv * d, 0.3, seed + 3),
    wo: seededUniform(d * d, 0.3, seed + 4),
    rmsFfn: ones(d),
    w1: seededUniform(h * d, 0.3, seed + 5),
    w2: seededUniform(d * h, 0.3, seed + 6),
    w3: seededUniform(h * d, 0.3, seed + 7),
    rmsFinal: ones(d),
  };
}

const softmax = (row: number[]) => {
  const max = Math.max(...row);
  const e = row.map(x => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map(x => x / sum);
};
const kl = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * Math.log(x / b[i]), 0);

/** A rejected position whose target strongly wants `token`. */
function rejectedAt(position: number, token: number): RejectedPosition {
  const targetLogits = new Float32Array(CONFIG.vocabSize);
  targetLogits[token] = 5;
  return {
    position,
    draftToken: (token + 1) % CONFIG.vocabSize,
    targetToken: token,
    targetLogits,
    targetTopK: { tokens: [token], logprobs: [0] },
  };
}

describe('distillationLoss', () => {
  const student = [
    [0.2, -1, 0.5],
    [2, 0, -0.3],
  ];
  const teacher = [
    [1, 0.1, -0.4],
    [-0.5, 0.7, 0.2],
  ];
  const p = teacher.map(softmax);
  const q = student.map(softmax);
  const forward = (kl(p[0], q[0]) + kl(p[1], q[1])) / 2;
  const reverse = (kl(q[0], p[0]) + kl(q[1], p[1])) / 2;

  it.each([
    { divergence: 'forward' as const, expected: forward },
    { divergence: 'reverse' as const, expected: reverse },
    { divergence: 'jsd' as const, expected: 0.9 * forward + 0.1 * reverse },
  ])('$divergence matches the closed form', async ({ divergence, expected }) => {
    await useTrainBackend('cpu');
    const loss = distillationLoss(tf.tensor2d(student), tf.tensor2d(teacher), divergence);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('divides both logits by the temperature', async () => {
    await useTrainBackend('cpu');
    const scaled = (rows: number[][]) => rows.map(row => softmax(row.map(x => x / 0.8)));
    const [pT, qT] = [scaled(teacher), scaled(student)];
    const loss = distillationLoss(tf.tensor2d(student), tf.tensor2d(teacher), 'forward', 0.8);
    expect(loss.dataSync()[0]).toBeCloseTo((kl(pT[0], qT[0]) + kl(pT[1], qT[1])) / 2, 5);
  });

  it('forward KL has the gradient (q − p) / rows in the student logits', async () => {
    await useTrainBackend('cpu');
    const gradient = tf.grad((logits: tf.Tensor) =>
      distillationLoss(logits as tf.Tensor2D, tf.tensor2d(teacher), 'forward'),
    )(tf.tensor2d(student));
    const values = Array.from(gradient.dataSync());
    const expected = q.flatMap((row, r) => row.map((value, i) => (value - p[r][i]) / 2));
    values.forEach((value, i) => expect(value).toBeCloseTo(expected[i], 5));
  });
});

describe('onlineDistiller', () => {
  const load = async () =>
    mockModel({ vocabSize: CONFIG.vocabSize, logits: () => new Float32Array(6) });

  it('validates its options', () => {
    const weights = randomWeights(1);
    const base = { config: CONFIG, weights, load };
    expect(() => onlineDistiller({ ...base, load: undefined as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() => onlineDistiller({ ...base, divergence: 'tv' as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() => onlineDistiller({ ...base, learningRate: 0 })).toThrow(InvalidArgumentError);
    expect(() => onlineDistiller({ ...base, stepsPerUpdate: 0 })).toThrow(InvalidArgumentError);
    expect(() => onlineDistiller({ ...base, positions: 'all' as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() => onlineDistiller({ ...base, temperature: 0 })).toThrow(InvalidArgumentError);
    expect(() => onlineDistiller({ ...base, maxGradNorm: 0 })).toThrow(InvalidArgumentError);
    expect(() => onlineDistiller({ ...base, replay: -1 })).toThrow(InvalidArgumentError);
    expect(() => onlineDistiller({ ...base, replay: 0.5 })).toThrow(InvalidArgumentError);
    expect(() => onlineDistiller({ ...base, backend: 'gpu' as never })).toThrow(
      InvalidArgumentError,
    );
  });

  it.each(['forward', 'reverse', 'jsd'] as const)(
    'moves the draft toward the target at the rejected positions (%s), each update continuing from the previous weights',
    async divergence => {
      const weights = randomWeights(3);
      const loaded: { weights: TfLlamaWeights; version: number }[] = [];
      const distiller = onlineDistiller({
        config: CONFIG,
        weights,
        divergence,
        positions: 'rejected',
        learningRate: 0.02,
        stepsPerUpdate: 10,
        backend: 'cpu',
        load: async (updated, version) => {
          loaded.push({ weights: updated, version });
          return load();
        },
      });
      const tokens = [1, 2, 3, 4, 5, 1, 2, 3];
      const samples: DraftTrainingSample[] = [
        { tokens, promptLength: 2, rejected: [rejectedAt(3, 0), rejectedAt(6, 4)] },
        { tokens: [2, 2, 2], promptLength: 1, rejected: [] },
        // Past the draft's context: dropped, not an error.
        { tokens, promptLength: 2, rejected: [rejectedAt(40, 1)] },
      ];
      const probabilityOf = (w: TfLlamaWeights, position: number, token: number) =>
        tf.tidy(() => {
          const llama = tfLlama(CONFIG, w);
          const logits = llama.logits(tf.tensor2d([tokens], [1, tokens.length], 'int32'));
          const row = Array.from(logits.dataSync()).slice(
            (position - 1) * CONFIG.vocabSize,
            position * CONFIG.vocabSize,
          );
          llama.dispose();
          return softmax(row)[token];
        });
      await useTrainBackend('cpu');
      const before = [probabilityOf(weights, 3, 0), probabilityOf(weights, 6, 4)];
      await distiller.update(samples);
      await distiller.update(samples);
      expect(loaded.map(entry => entry.version)).toEqual([1, 2]);
      const [first, second] = distiller.records;
      expect(first.positions).toBe(2);
      expect(first.lossAfter).toBeLessThan(first.lossBefore);
      expect(second.lossBefore).toBeCloseTo(first.lossAfter, 3); // the second update starts where the first ended
      expect(second.lossAfter).toBeLessThan(second.lossBefore);
      const after = [
        probabilityOf(loaded[1].weights, 3, 0),
        probabilityOf(loaded[1].weights, 6, 4),
      ];
      expect(after[0]).toBeGreaterThan(before[0] + 0.1);
      expect(after[1]).toBeGreaterThan(before[1] + 0.1);
      expect(weights.wq).toEqual(randomWeights(3).wq); // the inputs stay untouched
      distiller.dispose();
      await expect(distiller.update(samples)).rejects.toThrow(InvalidArgumentError);
    },
  );

  it('refuses target logits of another vocabulary', async () => {
    const distiller = onlineDistiller({
      config: CONFIG,
      weights: randomWeights(1),
      load,
      positions: 'rejected',
      backend: 'cpu',
    });
    const bad = { ...rejectedAt(2, 0), targetLogits: new Float32Array(7) };
    await expect(
      distiller.update([{ tokens: [1, 2, 3], promptLength: 1, rejected: [bad] }]),
    ).rejects.toThrow(/vocabulary has 6/);
    distiller.dispose();
  });

  it('distils at the step starts by default (the official positions), not at the rejected ones', async () => {
    const weights = randomWeights(5);
    let latest = weights;
    const distiller = onlineDistiller({
      config: CONFIG,
      weights,
      learningRate: 0.02,
      stepsPerUpdate: 10,
      backend: 'cpu',
      load: async updated => {
        latest = updated;
        return load();
      },
    });
    const tokens = [1, 2, 3, 4, 5, 1, 2, 3];
    const start = (position: number, token: number) => {
      const { targetLogits } = rejectedAt(position, token);
      return { position, targetLogits };
    };
    const sample: DraftTrainingSample = {
      tokens,
      promptLength: 2,
      rejected: [rejectedAt(4, 2)],
      stepStarts: [start(3, 0), start(6, 4), start(7, 5)],
    };
    const row = (w: TfLlamaWeights, position: number) =>
      tf.tidy(() => {
        const llama = tfLlama(CONFIG, w);
        const logits = llama.logits(tf.tensor2d([tokens], [1, tokens.length], 'int32'));
        const values = Array.from(logits.dataSync()).slice(
          (position - 1) * CONFIG.vocabSize,
          position * CONFIG.vocabSize,
        );
        llama.dispose();
        return softmax(values);
      });
    await useTrainBackend('cpu');
    const before = [row(weights, 3)[0], row(weights, 6)[4], row(weights, 7)[5]];
    await distiller.update([sample]);
    expect(distiller.records[0].positions).toBe(3);
    expect(distiller.records[0].lossAfter).toBeLessThan(distiller.records[0].lossBefore);
    const after = [row(latest, 3)[0], row(latest, 6)[4], row(latest, 7)[5]];
    after.forEach((p, i) => expect(p).toBeGreaterThan(before[i] + 0.05));
    const all = onlineDistiller({
      config: CONFIG,
      weights,
      positions: 'verified',
      backend: 'cpu',
      load,
    });
    await all.update([{ ...sample, verified: [start(2, 1), start(3, 0), start(4, 2)] }]);
    expect(all.records[0].positions).toBe(3);
    await expect(all.update([sample])).rejects.toThrow(/recordVerified/);
    all.dispose();
    // A sample without step starts (a drafter that does not record them) is refused with a hint.
    await expect(
      distiller.update([{ tokens, promptLength: 2, rejected: [rejectedAt(4, 2)] }]),
    ).rejects.toThrow(/positions: 'rejected'/);
    distiller.dispose();
  });

  it('clips the gradient to maxGradNorm before each Adam step', async () => {
    // Adam is nearly scale-free, except for ε (1e-8): gradients clipped to a norm of 1e-9 leave steps of
    // about lr · 1e-2, unclipped ones steps of about lr. So the weights must end far apart.
    const tokens = [1, 2, 3, 4, 5, 1, 2, 3];
    const sample: DraftTrainingSample = {
      tokens,
      promptLength: 2,
      rejected: [rejectedAt(3, 0), rejectedAt(6, 4)],
    };
    const run = async (maxGradNorm: number) => {
      let latest = randomWeights(7);
      const distiller = onlineDistiller({
        config: CONFIG,
        weights: latest,
        positions: 'rejected',
        learningRate: 0.05,
        stepsPerUpdate: 5,
        maxGradNorm,
        backend: 'cpu',
        load: async updated => {
          latest = updated;
          return load();
        },
      });
      await distiller.update([sample]);
      distiller.dispose();
      return latest.wq;
    };
    const start = randomWeights(7).wq;
    const moved = (w: Float32Array) => w.reduce((s, x, i) => s + Math.abs(x - start[i]), 0);
    const [tiny, off] = [moved(await run(1e-9)), moved(await run(Infinity))];
    expect(off).toBeGreaterThan(0.1);
    expect(tiny).toBeLessThan(off / 10);
  });

  it('replays the last `replay` buffers beside the new one', async () => {
    const tokens = [1, 2, 3, 4, 5, 1, 2, 3];
    const buffer = (...at: number[]): DraftTrainingSample[] => [
      { tokens, promptLength: 2, rejected: at.map(position => rejectedAt(position, 0)) },
    ];
    const run = async (replay: number) => {
      const distiller = onlineDistiller({
        config: CONFIG,
        weights: randomWeights(9),
        positions: 'rejected',
        replay,
        backend: 'cpu',
        load,
      });
      for (const samples of [buffer(3), buffer(4, 5), buffer(6, 7, 7), buffer(2)]) {
        await distiller.update(samples);
      }
      distiller.dispose();
      return distiller.records.map(record => record.positions);
    };
    expect(await run(0)).toEqual([1, 2, 3, 1]);
    expect(await run(1)).toEqual([1, 3, 5, 4]);
    expect(await run(2)).toEqual([1, 3, 6, 6]);
  });
});
