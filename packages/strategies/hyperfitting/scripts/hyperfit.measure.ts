// Hyperfitting, scaled to stories260K: fine-tune the whole model to near-zero loss on a few of its own
// sequences, then compare long greedy continuations of the hyperfitted model with the base model's greedy and
// top-p continuations (TTR, rep-4, per-step entropy, perplexity under the base model, overlap with the training
// 4-grams), with and without the training n-gram blocker.
//
// Run (minutes; HYPERFIT_SEQUENCES / HYPERFIT_LENGTH / HYPERFIT_EPOCHS / HYPERFIT_BATCH / HYPERFIT_LR /
// HYPERFIT_TOKENS to change the scale; HYPERFIT_BACKEND=torch trains through @decodekit/train's PyTorch bridge,
// HYPERFIT_SCHEDULE=cosine, HYPERFIT_START=<llama2.c .bin> continues from an earlier run's checkpoint):
//   npx vitest run --config packages/eval/measure.config.ts packages/strategies/hyperfitting/scripts/hyperfit.measure.ts
// The fine-tuning checkpoint (resumable, written every epoch; rerun with the same knobs to resume, or with fewer
// HYPERFIT_EPOCHS to stop at the last checkpoint), the loss curve and the hyperfitted model folder go to
// $HYPERFIT_DIR (default <tmp>/decodekit-hyperfit), with training-sequences.json for
// `--strategy hyperfitting:sequences=FILE`.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import {
  createDecoder,
  InvalidArgumentError,
  type CausalLM,
  type LogitsProcessor,
} from '@decodekit/core';
import { readLlama2cCheckpoint, writeLlama2cCheckpoint } from '@decodekit/models';
import { convertLlama2cToFolder } from '@decodekit/models/node';
import { continuationNll } from '@decodekit/eval';
import {
  fineTuneLlama,
  fineTuneLlamaTorch,
  llamaPerplexity,
  useTrainBackend,
} from '@decodekit/train';
import type { TrainProgress } from '@decodekit/train';
import { it } from 'vitest';
import {
  entropyOfLogits,
  memorizationFloor,
  repetitionOfNgrams,
  trainingNgramBlocker,
  typeTokenRatio,
} from '../src/index.js';

const SEQUENCES = Number(process.env.HYPERFIT_SEQUENCES ?? 64);
const LENGTH = Number(process.env.HYPERFIT_LENGTH ?? 96);
const EPOCHS = Number(process.env.HYPERFIT_EPOCHS ?? 30);
const BATCH = Number(process.env.HYPERFIT_BATCH ?? 8);
const LR = Number(process.env.HYPERFIT_LR ?? 2e-3);
const TOKENS = Number(process.env.HYPERFIT_TOKENS ?? 256);
const DIR = process.env.HYPERFIT_DIR ?? join(tmpdir(), 'decodekit-hyperfit');
/** `wasm` (TensorFlow.js, resumable checkpoints) or `torch` (PyTorch through @decodekit/train's bridge, ~20× faster). */
const BACKEND = process.env.HYPERFIT_BACKEND ?? 'wasm';
if (BACKEND !== 'wasm' && BACKEND !== 'torch')
  throw new InvalidArgumentError({
    argument: 'HYPERFIT_BACKEND',
    message: `use wasm or torch, got ${JSON.stringify(BACKEND)}.`,
  });
const SCHEDULE = (process.env.HYPERFIT_SCHEDULE ?? 'constant') as 'constant' | 'cosine';
const THREADS = Number(process.env.HYPERFIT_THREADS ?? 1);
/** A llama2.c checkpoint to continue from (e.g. an earlier run's bin/hyperfit.bin) instead of the base model. */
const START = process.env.HYPERFIT_START;

it('hyperfitting table', async () => {
  const models = process.env.DECODEKIT_MODELS ?? '../shared/models';
  const binPath = join(models, 'karpathy/tinyllamas/stories260K/stories260K.bin');
  const tokPath = join(models, 'karpathy/tinyllamas/stories260K/tok512.bin');
  const base = await loadModel('karpathy/tinyllamas/stories260K');
  const { tokenizer } = base;
  mkdirSync(DIR, { recursive: true });
  // 1. The model's own sequences (T = 1, seeded, from BOS), each exactly LENGTH tokens after BOS (read back
  // when a resumed run finds the same ones written).
  const bos = tokenizer.encode('');
  const sequencesFile = join(DIR, 'training-sequences.json');
  const written = existsSync(sequencesFile)
    ? (JSON.parse(readFileSync(sequencesFile, 'utf8')) as number[][])
    : [];
  const sequences: number[][] =
    written.length === SEQUENCES && written.every(s => s.length === bos.length + LENGTH)
      ? written
      : [];
  for (let seed = 0; sequences.length < SEQUENCES; seed++) {
    const { tokens } = await createDecoder({ model: base }).generate(
      { tokens: bos },
      { maxTokens: LENGTH, temperature: 1, seed },
    );
    if (tokens.length === LENGTH) sequences.push([...bos, ...tokens]);
  }
  writeFileSync(sequencesFile, JSON.stringify(sequences));
  // 2. Fine-tune to near-zero loss.
  const { config, weights } = readLlama2cCheckpoint(new Uint8Array(readFileSync(binPath)));
  const start = START
    ? readLlama2cCheckpoint(new Uint8Array(readFileSync(START))).weights
    : weights;
  if (START) process.stderr.write(`hyperfit: continuing from ${START}\n`);
  const started = Date.now();
  const perEpoch = Math.ceil(SEQUENCES / BATCH);
  const run = `${SEQUENCES}x${LENGTH}-b${BATCH}-lr${LR}${SCHEDULE === 'cosine' ? '-cos' : ''}${BACKEND === 'torch' ? '-torch' : ''}${START ? '-continued' : ''}`;
  const progress = ({ step, steps, loss, positionsPerSecond }: TrainProgress) =>
    process.stderr.write(
      `hyperfit step ${step}/${steps} loss ${loss.toFixed(4)} ${(positionsPerSecond * LENGTH).toFixed(0)} tokens/s\n`,
    );
  const loop = {
    epochs: EPOCHS,
    steps: 1,
    batchSize: BATCH,
    learningRate: LR,
    schedule: SCHEDULE,
    seed: 1,
    logEvery: Math.min(10, perEpoch),
    onProgress: progress,
  };
  const tuned =
    BACKEND === 'torch'
      ? await fineTuneLlamaTorch(config, start, sequences, { ...loop, threads: THREADS })
      : await fineTuneLlama(config, start, sequences, {
          ...loop,
          backend: 'wasm',
          checkpoint: join(DIR, `checkpoint-${run}.json`),
          checkpointEvery: Math.max(20, perEpoch),
        });
  const minutes = (Date.now() - started) / 60_000;
  // The tuned model first: nothing after this point can lose a long run.
  const binDir = join(DIR, 'bin');
  mkdirSync(binDir, { recursive: true });
  writeFileSync(
    join(binDir, 'hyperfit.bin'),
    writeLlama2cCheckpoint({ config, weights: tuned.weights }),
  );
  writeFileSync(join(DIR, `losses-${run}.json`), JSON.stringify(tuned.losses));
  // The loss curve: the mean of the batch losses logged in each epoch.
  const curve: string[] = [];
  const lastStep = tuned.losses.at(-1)?.step ?? 0;
  for (let epoch = 1; (epoch - 1) * perEpoch < lastStep; epoch++) {
    const inEpoch = tuned.losses.filter(
      ({ step }) => step > (epoch - 1) * perEpoch && step <= epoch * perEpoch,
    );
    if (inEpoch.length > 0)
      curve.push((inEpoch.reduce((sum, { loss }) => sum + loss, 0) / inEpoch.length).toFixed(3));
  }
  // Mean next-token loss over every training position, before and after (TensorFlow.js scores both, whichever
  // backend trained).
  await useTrainBackend('wasm');
  const [baseLoss, tunedLoss] = [weights, tuned.weights].map(w =>
    Math.log(llamaPerplexity(config, w, sequences)[0]),
  );
  console.log(
    `fine-tuned ${SEQUENCES} sequences × ${LENGTH} tokens, ${EPOCHS} epochs, batch ${BATCH}, lr ${LR} (${SCHEDULE}, ${BACKEND}${START ? ', continued from a checkpoint' : ''}): loss per epoch ${curve.join(' ')}; mean training-set loss ${baseLoss.toFixed(3)} (base) → ${tunedLoss.toFixed(4)}, floor ${memorizationFloor(sequences).toFixed(4)} (memorizationFloor: the least any model can reach on these sequences); ${minutes.toFixed(1)} min this run`,
  );
  copyFileSync(tokPath, join(binDir, 'tok512.bin'));
  const folder = join(DIR, 'stories260K-hyperfit');
  await convertLlama2cToFolder(join(binDir, 'hyperfit.bin'), join(binDir, 'tok512.bin'), folder, {
    overwrite: existsSync(folder),
    name: 'stories260K-hyperfit',
  });
  const hyperfit = await loadModel(folder);

  // 3. Long continuations of the held-out prompts.
  const prompts = readFileSync(
    fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url)),
    'utf8',
  )
    .trim()
    .split('\n')
    .map(line => tokenizer.encode((JSON.parse(line) as { prompt: string }).prompt));
  const trainingGrams = new Set<string>();
  for (const s of sequences)
    for (let i = 0; i + 4 <= s.length; i++) trainingGrams.add(s.slice(i, i + 4).join(','));
  const blocker = trainingNgramBlocker({ sequences, n: 4 });
  const rows: [string, CausalLM, { temperature: number; topP?: number }, LogitsProcessor[]][] = [
    ['base, greedy', base, { temperature: 0 }, []],
    ['base, top-p 0.9 (T = 1)', base, { temperature: 1, topP: 0.9 }, []],
    ['hyperfitted, greedy', hyperfit, { temperature: 0 }, []],
    ['hyperfitted, greedy + training 4-gram blocker', hyperfit, { temperature: 0 }, [blocker]],
  ];
  console.log(
    `\n| ${SEQUENCES}×${LENGTH} hyperfit, ${TOKENS} tokens, 30 prompts | TTR ↑ | rep-4 ↓ | entropy / step (nats) | ppl under base | training 4-grams | tokens |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, model, sampling, processors] of rows) {
    let ttr = 0;
    let rep = 0;
    let entropy = 0;
    let steps = 0;
    let nll = 0;
    let overlap = 0;
    let grams = 0;
    let emitted = 0;
    for (const [i, prompt] of prompts.entries()) {
      let decoder = createDecoder({ model, tokenizer });
      for (const processor of processors) decoder = decoder.use(processor);
      const { tokens, text } = await decoder.generate(
        { tokens: prompt },
        { maxTokens: TOKENS, ...sampling, seed: 100 + i },
      );
      ttr += typeTokenRatio(text);
      rep += repetitionOfNgrams(tokens, 4);
      emitted += tokens.length;
      // Per-step entropy of the generating model; perplexity under the base model (eval's scorer).
      const all = Int32Array.from([...prompt, ...tokens]);
      const vocab = model.info.vocabSize;
      const sequence = model.createSequence();
      const { logits } = await sequence.forward({ tokens: all });
      sequence.dispose();
      for (let p = prompt.length; p < all.length; p++) {
        entropy += entropyOfLogits(logits.subarray((p - 1) * vocab, p * vocab));
        steps++;
      }
      nll += (await continuationNll(base, prompt, tokens)).nll;
      const output = [...prompt.slice(-3), ...tokens];
      for (let k = 0; k + 4 <= output.length; k++) {
        grams++;
        if (trainingGrams.has(output.slice(k, k + 4).join(','))) overlap++;
      }
    }
    const n = prompts.length;
    console.log(
      `| ${name} | ${(ttr / n).toFixed(3)} | ${(rep / n).toFixed(3)} | ${(entropy / steps).toFixed(3)} | ${Math.exp(nll / steps).toFixed(2)} | ${((100 * overlap) / grams).toFixed(1)} % | ${(emitted / n).toFixed(0)} |`,
    );
  }
  await hyperfit.dispose();
  await base.dispose();
}, 7_200_000);
