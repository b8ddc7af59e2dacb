import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLlama2cCheckpoint } from '@decodekit/models';
import { it } from 'vitest';
import { fineTuneLlama } from '../src/llama-tf.js';

it('speed', async () => {
  const { config, weights } = readLlama2cCheckpoint(
    new Uint8Array(
      readFileSync(
        join(process.env.DECODEKIT_MODELS ?? '', 'karpathy/tinyllamas/stories260K/stories260K.bin'),
      ),
    ),
  );
  const sequences = Array.from({ length: 32 }, (_, s) =>
    Array.from({ length: 129 }, (_, t) => (s * 31 + t * 7) % 512),
  );
  for (const backend of ['wasm', 'cpu'] as const) {
    const r = await fineTuneLlama(config, weights, sequences, {
      steps: 6,
      batchSize: 16,
      learningRate: 1e-3,
      seed: 1,
      backend,
      logEvery: 2,
    });
    console.log(
      backend,
      r.positionsPerSecond.toFixed(0),
      'positions/s',
      r.losses.map(l => l.loss.toFixed(3)).join(' '),
    );
  }
}, 600_000);
