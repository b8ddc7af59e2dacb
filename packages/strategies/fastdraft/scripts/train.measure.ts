/**
 * Trains the committed FastDraft draft of stories260K exactly as `decodekit train fastdraft` does (the same
 * function, from the sources, so no build is needed), with the flags in weights/stories260K/training.json:
 *
 *   npx vitest run --config packages/eval/measure.config.ts packages/strategies/fastdraft/scripts/train.measure.ts
 */
import { it } from 'vitest';
import { runTrainFastDraft } from '../../../cli/src/commands/train-fastdraft.js';

it('trains the FastDraft draft of stories260K', async () => {
  const report = await runTrainFastDraft(
    {
      model: 'karpathy/tinyllamas/stories260K',
      out: 'packages/strategies/fastdraft/weights/stories260K',
      dim: 48,
      hidden: 128,
      layers: 4,
      heads: 6,
      kvHeads: 3,
      pretrainCount: Number(process.env.FD_PRETRAIN_COUNT ?? 400),
      pretrainLength: 128,
      pretrainTemperatures: '1,0.7',
      pretrainSteps: Number(process.env.FD_PRETRAIN_STEPS ?? 600),
      pretrainLr: 5e-3,
      pretrainKd: 1,
      alignCount: Number(process.env.FD_ALIGN_COUNT ?? 100),
      alignPrefix: 16,
      alignPrefixes: '4,16,48',
      alignPrefixTemperatures: '1,0.7',
      alignLength: 160,
      alignTemperatures: '0,0.8',
      alignSteps: Number(process.env.FD_ALIGN_STEPS ?? 500),
      alignLr: 2e-3,
      alignKd: 1,
      heldOutCount: 24,
      batchSize: 4,
      seed: 0,
      backend: 'wasm',
      compare: 'llama2xs',
      checkpointEvery: 25,
    },
    message => console.log(`${new Date().toISOString().slice(11, 19)} ${message}`),
  );
  console.log(JSON.stringify(report.acceptance, null, 2));
}, 3_600_000);
