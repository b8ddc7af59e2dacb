// Training speed of whole-model fine-tuning (`fineTuneLlama`) on stories260K: tokens (trained positions) per
// second. Knobs: SPEED_BACKENDS (default "wasm,cpu"), SPEED_SEQUENCES (8), SPEED_TOKENS (96 per sequence),
// SPEED_BATCH (8), SPEED_STEPS (4, after one warm-up step).
//   npx vitest run --config packages/eval/measure.config.ts packages/train/scripts/llama-tf-speed.measure.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLlama2cCheckpoint } from '@decodekit/models';
import { it } from 'vitest';
import { fineTuneLlama } from '../src/llama-tf.js';
import type { TrainBackend } from '../src/tf-backend.js';

const BACKENDS = (process.env.SPEED_BACKENDS ?? 'wasm,cpu').split(',') as TrainBackend[];
const SEQUENCES = Number(process.env.SPEED_SEQUENCES ?? 8);
const TOKENS = Number(process.env.SPEED_TOKENS ?? 96);
const BATCH = Number(process.env.SPEED_BATCH ?? 8);
const STEPS = Number(process.env.SPEED_STEPS ?? 4);

it('speed', async () => {
  const { config, weights } = readLlama2cCheckpoint(
    new Uint8Array(
      readFileSync(
        join(
          process.env.DECODEKIT_MODELS ?? '../shared/models',
          'karpathy/tinyllamas/stories260K/stories260K.bin',
        ),
      ),
    ),
  );
  const sequences = Array.from({ length: SEQUENCES }, (_, s) =>
    Array.from({ length: TOKENS + 1 }, (_, t) => (s * 31 + t * 7) % 512),
  );
  for (const backend of BACKENDS) {
    const options = { batchSize: BATCH, learningRate: 1e-3, seed: 1, backend, logEvery: 1 };
    await fineTuneLlama(config, weights, sequences, { ...options, steps: 1 });
    const started = performance.now();
    const r = await fineTuneLlama(config, weights, sequences, { ...options, steps: STEPS });
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${backend}: ${((STEPS * BATCH * TOKENS) / seconds).toFixed(0)} tokens/s (${STEPS} steps of ${BATCH} × ${TOKENS}, ${seconds.toFixed(1)} s); loss ${r.losses.map(l => l.loss.toFixed(4)).join(' ')}`,
    );
  }
}, 1_800_000);
