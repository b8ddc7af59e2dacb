// Trains the eTok-style model shipped in packages/strategies/learn-your-tokens/weights/stories260K/ and a subword
// (tok512) Llama of about the same size on the same text, and reports held-out next-word accuracy.
// Run: npx vitest run --config packages/eval/measure.config.ts packages/train/scripts/etok.measure.ts
// (ETOK_WRITE=1 rewrites the shipped files; ETOK_STEPS / LLAMA_STEPS / ETOK_WINDOWS override the defaults;
// ETOK_ONLY=etok or llama trains one model and stops: run both at once, then once more without it, which
// resumes both from their finished checkpoints and evaluates.)
//
// Data (no third-party text): stories260K's own generations from BOS at T = 0.8 (seed = index), whitespace
// collapsed to single spaces; each story gives one window of its first 47 words (stories with fewer words, or
// with a word longer than 15 characters, are skipped; then windows with a word longer than MAX_CHARS = 12 are
// dropped). The last 100 windows are held out.
// Next-word accuracy: for every held-out word, the word predicted greedily from the words before it (the true
// words, teacher-forced at the word level) equals the word. eTok: its characters and then end-of-word.
// Subword: every token of the word is the argmax given the true tokens before it, and the argmax after its
// last token starts a new word (a '▁' piece) or is EOS — the subword counterpart of end-of-word.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDecoder, encodeFloats } from '@decodekit/core';
import { loadReferenceModel } from '@decodekit/conformance';
import { buildEtokGraphs, readLlama2cCheckpoint } from '@decodekit/models';
import type { EtokConfig } from '@decodekit/strategy-learn-your-tokens';
import { it } from 'vitest';
import {
  fineTuneLlama,
  tfLlama,
  type TfLlamaConfig,
  type TfLlamaWeights,
} from '../src/llama-tf.js';
import { tf, useTrainBackend } from '../src/tf-backend.js';
import { etokNextWordAccuracy, trainEtok } from '../src/train-etok.js';
import { seededUniform } from '../src/training-loop.js';

const WINDOWS = Number(process.env.ETOK_WINDOWS ?? 1100);
const HELD_OUT = 100;
const WORDS = 47;
const MAX_CHARS = 12;
const TEMPERATURE = 0.8;
const SEED = 1;
const BATCH = 8;
const ETOK_STEPS = Number(process.env.ETOK_STEPS ?? 200);
const LLAMA_STEPS = Number(process.env.LLAMA_STEPS ?? ETOK_STEPS);
const LEARNING_RATE = 3e-3;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const shipped = join(root, 'packages/strategies/learn-your-tokens/weights/stories260K');
const cacheDir = join(root, 'node_modules/.cache/decodekit-etok');

const paramCount = (tensors: Record<string, Float32Array> | TfLlamaWeights) =>
  Object.values(tensors).reduce((sum, t: Float32Array | undefined) => sum + (t?.length ?? 0), 0);

it('trains eTok and a subword Llama of its size on stories260K text; next-word accuracy', async () => {
  const model = await loadReferenceModel();
  const tokenizer = model.tokenizer;
  const bos = model.info.bosTokenId ?? 1;
  mkdirSync(cacheDir, { recursive: true });
  const dataFile = join(cacheDir, `windows-${WINDOWS}-${TEMPERATURE}-${SEED}.json`);
  let windows: string[];
  if (existsSync(dataFile)) windows = JSON.parse(readFileSync(dataFile, 'utf8')) as string[];
  else {
    windows = [];
    let skipped = 0;
    const decoder = createDecoder({ model });
    const began = Date.now();
    for (let seed = SEED * 1_000_000; windows.length < WINDOWS; seed++) {
      const { tokens } = await decoder.generate(
        { tokens: [bos] },
        { maxTokens: 96, temperature: TEMPERATURE, seed },
      );
      const words = tokenizer
        .decode(tokens)
        .replace(/\s+/gu, ' ')
        .trim()
        .split(' ')
        .slice(0, WORDS);
      if (words.length < WORDS || words.some(w => Array.from(w).length > 15)) skipped += 1;
      else windows.push(words.join(' '));
      if (seed % 100 === 99) console.log(`${windows.length} windows, ${skipped} skipped`);
    }
    console.log(
      `generated ${windows.length} windows (${skipped} skipped) in ${((Date.now() - began) / 1000).toFixed(0)} s`,
    );
    writeFileSync(dataFile, JSON.stringify(windows));
  }
  const usable = windows.filter(text =>
    text.split(' ').every(w => Array.from(w).length <= MAX_CHARS),
  );
  const train = usable.slice(0, usable.length - HELD_OUT);
  const test = usable.slice(usable.length - HELD_OUT);
  const chars = [...new Set(Array.from(train.join('').replace(/ /gu, '')))].sort().join('');

  // eTok: char encoder 1 block, word transformer 5 blocks, char decoder 1 block, width 64, MLP 128.
  const config: EtokConfig = {
    dim: 64,
    heads: 4,
    ffn: 128,
    encoderLayers: 1,
    wordLayers: 5,
    decoderLayers: 1,
    numPrefix: 1,
    maxChars: MAX_CHARS,
    maxWords: WORDS + 1,
    chars,
  };
  const progress =
    (name: string) => (p: { step: number; loss: number; positionsPerSecond: number }) =>
      console.log(
        `${name} step ${p.step} loss ${p.loss.toFixed(3)} (${p.positionsPerSecond.toFixed(1)} windows/s)`,
      );
  const only = process.env.ETOK_ONLY;
  const trainEtokNow = () =>
    trainEtok(config, train, {
      steps: ETOK_STEPS,
      batchSize: BATCH,
      learningRate: LEARNING_RATE,
      seed: SEED,
      backend: 'wasm',
      logEvery: 25,
      checkpoint: join(cacheDir, `etok-checkpoint-${ETOK_STEPS}-${BATCH}-${MAX_CHARS}.json`),
      checkpointEvery: 50,
      onProgress: progress('etok'),
    });

  // Subword baseline: stories260K's shape (dim 64, 5 layers, 8 heads / 4 KV heads, SwiGLU 172, tok512), random
  // init, trained on the same windows for the same number of steps and batch size.
  const reference = readLlama2cCheckpoint(
    new Uint8Array(
      readFileSync(
        join(process.env.DECODEKIT_MODELS ?? '', 'karpathy/tinyllamas/stories260K/stories260K.bin'),
      ),
    ),
  );
  const llamaConfig: TfLlamaConfig = { ...reference.config, contextLength: 256 };
  const sequenceOf = (text: string) => [
    bos,
    ...tokenizer.encode(text, { addSpecialTokens: false }),
  ];
  const trainSequences = train.map(sequenceOf);
  const testSequences = test.map(sequenceOf);
  const initial = Object.fromEntries(
    Object.entries(reference.weights).map(([name, values], index) => [
      name,
      name.startsWith('rms')
        ? new Float32Array(values.length).fill(1)
        : seededUniform(values.length, 0.02 * Math.sqrt(3), SEED * 7_919 + index),
    ]),
  ) as unknown as TfLlamaWeights;
  const trainLlamaNow = () =>
    fineTuneLlama(llamaConfig, initial, trainSequences, {
      steps: LLAMA_STEPS,
      batchSize: BATCH,
      learningRate: LEARNING_RATE,
      seed: SEED,
      backend: 'wasm',
      logEvery: 25,
      checkpoint: join(cacheDir, `llama-checkpoint-${LLAMA_STEPS}-${BATCH}-${MAX_CHARS}.json`),
      checkpointEvery: 50,
      onProgress: progress('llama'),
    });
  if (only === 'etok') {
    await trainEtokNow();
    return;
  }
  if (only === 'llama') {
    await trainLlamaNow();
    return;
  }
  const etok = await trainEtokNow();
  const llama = await trainLlamaNow();
  await useTrainBackend('wasm');
  const etokAccuracy = etokNextWordAccuracy(config, etok.weights, test);
  const etokTrainAccuracy = etokNextWordAccuracy(config, etok.weights, train.slice(0, HELD_OUT));

  const startsWord = (id: number) =>
    (tokenizer.idToToken(id) ?? '').startsWith('▁') || model.info.eosTokenIds.includes(id);
  const subwordAccuracy = (
    config: TfLlamaConfig,
    weights: TfLlamaWeights,
    sequences: number[][],
  ) => {
    const lm = tfLlama(config, weights);
    let correct = 0;
    let total = 0;
    try {
      for (const sequence of sequences) {
        const argmax = tf.tidy(
          () =>
            tf
              .argMax(lm.logits(tf.tensor2d(sequence, [1, sequence.length], 'int32')), -1)
              .dataSync() as Int32Array,
        );
        // Word starts: token 1 (after BOS) and every '▁' piece.
        const starts = sequence.map((id, t) => t >= 1 && (t === 1 || startsWord(id)));
        for (let a = 1; a < sequence.length;) {
          let b = a + 1;
          while (b < sequence.length && !starts[b]) b++;
          let right = true;
          for (let t = a; t < b; t++) if (argmax[t - 1] !== sequence[t]) right = false;
          if (!startsWord(argmax[b - 1])) right = false;
          total += 1;
          if (right) correct += 1;
          a = b;
        }
      }
    } finally {
      lm.dispose();
    }
    return { correct, total };
  };
  const llamaAccuracy = subwordAccuracy(llamaConfig, llama.weights, testSequences);
  const llamaTrainAccuracy = subwordAccuracy(
    llamaConfig,
    llama.weights,
    trainSequences.slice(0, HELD_OUT),
  );
  const generatorAccuracy = subwordAccuracy(reference.config, reference.weights, testSequences);

  const percent = ({ correct, total }: { correct: number; total: number }) =>
    `${((100 * correct) / total).toFixed(2)} % (${correct}/${total})`;
  const rows = [
    [
      'eTok (this package)',
      paramCount(etok.weights),
      ETOK_STEPS,
      etokAccuracy,
      etokTrainAccuracy,
      etok.losses.at(-1)?.loss,
    ],
    [
      'subword Llama, tok512',
      paramCount(llama.weights),
      LLAMA_STEPS,
      llamaAccuracy,
      llamaTrainAccuracy,
      llama.losses.at(-1)?.loss,
    ],
  ] as const;
  console.log(`train ${train.length} windows, held out ${test.length}; ${chars.length} characters`);
  for (const [name, params, steps, heldOut, trainAcc, loss] of rows) {
    console.log(
      `| ${name} | ${params} | ${steps} × ${BATCH} | ${percent(heldOut)} | ${percent(trainAcc)} | ${loss?.toFixed(3)} |`,
    );
  }
  console.log(
    `| stories260K (the generator of the text) | ${paramCount(reference.weights)} | — | ${percent(generatorAccuracy)} | | |`,
  );
  console.log(
    `eTok / subword: ${(etokAccuracy.correct / etokAccuracy.total / (llamaAccuracy.correct / llamaAccuracy.total)).toFixed(2)}×`,
  );

  if (process.env.ETOK_WRITE === '1') {
    mkdirSync(shipped, { recursive: true });
    const graphs = buildEtokGraphs(config, etok.weights);
    writeFileSync(join(shipped, 'char_encoder.onnx'), graphs.charEncoder);
    writeFileSync(join(shipped, 'word_transformer.onnx'), graphs.wordTransformer);
    writeFileSync(join(shipped, 'char_decoder.onnx'), graphs.charDecoder);
    const training = {
      command: `ETOK_STEPS=${ETOK_STEPS} LLAMA_STEPS=${LLAMA_STEPS} ETOK_WRITE=1 npx vitest run --config packages/eval/measure.config.ts packages/train/scripts/etok.measure.ts`,
      data: `stories260K generations from BOS at T = ${TEMPERATURE} (seeds ${SEED * 1_000_000}…), first ${WORDS} words each; ${train.length} training windows, last ${HELD_OUT} held out`,
      steps: ETOK_STEPS,
      batchSize: BATCH,
      learningRate: LEARNING_RATE,
      seed: SEED,
      backend: 'wasm',
      parameters: paramCount(etok.weights),
      losses: etok.losses,
      heldOutNextWordAccuracy: etokAccuracy,
      subwordBaseline: {
        parameters: paramCount(llama.weights),
        steps: LLAMA_STEPS,
        heldOutNextWordAccuracy: llamaAccuracy,
        losses: llama.losses,
      },
      generatorNextWordAccuracy: generatorAccuracy,
    };
    writeFileSync(
      join(shipped, 'etok.json'),
      `${JSON.stringify({
        format: 'decodekit-etok/1',
        config,
        training,
        tensors: Object.fromEntries(
          Object.entries(etok.weights).map(([name, values]) => [name, encodeFloats(values)]),
        ),
      })}\n`,
    );
    console.log(`wrote ${shipped}`);
  }
}, 3_600_000);
