import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readPromptSet } from '@decodekit/bench';
import { createDecoder, InvalidArgumentError } from '@decodekit/core';
import {
  defaultMirrors,
  findKnownModel,
  readLlama2cCheckpoint,
  writeLlama2cCheckpoint,
} from '@decodekit/models/node';
import type { RetrievalPair, TrainBackend } from '@decodekit/train';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';
import { collect, number } from './option-parsers.js';

/** TensorFlow.js backends, and `torch`: the same full fine-tuning in PyTorch (`trainSpladeTorch`), ~20× faster. */
const TRAIN_BACKENDS: readonly (TrainBackend | 'torch')[] = ['wasm', 'cpu', 'torch'];

/** The options commander parses for `decodekit train splade`. */
interface SpladeOptions {
  model: string;
  llama2c?: string;
  out: string;
  name?: string;
  count: number;
  seed: number;
  steps: number;
  batchSize: number;
  lr: number;
  schedule: string;
  clipGradNorm?: number;
  threads?: number;
  flopsQuery: number;
  flopsDocument: number;
  backend: string;
  trainable: string;
  headInit: string;
  hardNegatives: boolean;
  regularizerWarmup: number;
  heldOut: string[];
  checkpoint?: string;
  checkpointEvery: number;
}

/** The base model's llama2.c checkpoint and the tokenizer file beside it (`tok*.bin`). */
function baseFiles(options: SpladeOptions): { checkpoint: string; tokenizer: string } {
  const known = findKnownModel(options.model);
  const checkpoint = options.llama2c
    ? resolve(options.llama2c)
    : known &&
      defaultMirrors()
        .map(mirror => join(mirror, known.mirrorPath, known.checkpoint.file))
        .find(path => existsSync(path));
  if (!checkpoint || !existsSync(checkpoint)) {
    throw new InvalidArgumentError({
      argument: '--llama2c',
      message: `SPLADE training fine-tunes the whole model from its llama2.c checkpoint; pass --llama2c FILE (the .bin of ${options.model}) or list a mirror holding it in DECODEKIT_MODELS.`,
    });
  }
  const folder = dirname(checkpoint);
  const tokenizer = readdirSync(folder).find(file => /^tok.*\.bin$/.test(file));
  if (!tokenizer) {
    throw new InvalidArgumentError({
      argument: '--llama2c',
      message: `no llama2.c tokenizer (tok*.bin) beside ${checkpoint}; put the model's tokenizer in that folder.`,
    });
  }
  return { checkpoint, tokenizer: join(folder, tokenizer) };
}

function commandLine(options: SpladeOptions): string {
  return [
    'decodekit train splade',
    `--model ${options.model}`,
    `--count ${options.count}`,
    `--seed ${options.seed}`,
    `--steps ${options.steps}`,
    `--batch-size ${options.batchSize}`,
    `--lr ${options.lr}`,
    ...(options.schedule === 'constant' ? [] : [`--schedule ${options.schedule}`]),
    ...(options.clipGradNorm === undefined ? [] : [`--clip-grad-norm ${options.clipGradNorm}`]),
    ...(options.threads === undefined ? [] : [`--threads ${options.threads}`]),
    `--flops-query ${options.flopsQuery}`,
    `--flops-document ${options.flopsDocument}`,
    `--backend ${options.backend}`,
    `--trainable ${options.trainable}`,
    ...(options.headInit === 'model' ? [] : [`--head-init ${options.headInit}`]),
    ...(options.hardNegatives ? ['--hard-negatives'] : []),
    ...(options.regularizerWarmup > 0 ? [`--regularizer-warmup ${options.regularizerWarmup}`] : []),
    ...options.heldOut.map(file => `--held-out ${file}`),
    `--out ${options.out}`,
  ].join(' ');
}

/**
 * `decodekit train splade`: fine-tunes the whole model as a decoder-LM SPLADE encoder (Mistral-SPLADE's echo
 * mode) on retrieval pairs made from its own stories, and writes a llama2.c model folder (the tuned checkpoint
 * and the base tokenizer) that `loadModel` and `causalLmSplade` use.
 */
export function registerTrainSplade(train: Command): void {
  train
    .command('splade')
    .description(
      'Fine-tune the model as a SPLADE encoder (echo, in-batch contrastive loss + FLOPS) on pairs from its own stories; writes a llama2.c model folder.',
    )
    .option('--model <ref>', 'base model (its tokenizer generates the pairs)', DEFAULT_MODEL)
    .option(
      '--llama2c <file>',
      'the base llama2.c checkpoint, with its tok*.bin beside it (default: the known model’s files in DECODEKIT_MODELS)',
    )
    .requiredOption(
      '--out <dir>',
      'model folder to write (<name>.bin, the tokenizer, training.json, pairs.json)',
    )
    .option('--name <name>', 'checkpoint file name (default <model>-splade)')
    .option('--count <n>', 'training pairs to generate', number('--count'), 2000)
    .option('--seed <n>', 'seed of the pairs and the batch order', number('--seed'), 0)
    .option('--steps <n>', 'training steps', number('--steps'), 400)
    .option('--batch-size <n>', 'pairs per step (in-batch negatives)', number('--batch-size'), 16)
    .option('--lr <x>', 'Adam learning rate', number('--lr'), 1e-4)
    .option('--schedule <name>', 'learning-rate schedule: constant or cosine', 'constant')
    .option('--threads <n>', 'with --backend torch: CPU threads (default 1)', number('--threads'))
    .option(
      '--clip-grad-norm <x>',
      'with --backend torch: clip the global gradient norm before each step',
      number('--clip-grad-norm'),
    )
    .option(
      '--flops-query <x>',
      'FLOPS regulariser weight on queries',
      number('--flops-query'),
      1e-3,
    )
    .option(
      '--flops-document <x>',
      'FLOPS regulariser weight on documents',
      number('--flops-document'),
      1e-3,
    )
    .option(
      '--backend <name>',
      `wasm or cpu (TensorFlow.js), or torch (PyTorch through DECODEKIT_PYTHON / python3; --trainable all only)`,
      'wasm',
    )
    .option(
      '--trainable <what>',
      'all (every weight) or head (the classifier alone, untied, over frozen hidden states)',
      'all',
    )
    .option(
      '--head-init <how>',
      'with --trainable head: model (the next-token classifier) or lexical (least squares onto each row’s own token, IDF-weighted)',
      'model',
    )
    .option(
      '--hard-negatives',
      'add each pair’s BM25 hard negative (the best-scoring other training document) to its batch',
      false,
    )
    .option(
      '--regularizer-warmup <n>',
      'steps over which the FLOPS weights grow quadratically to their value (0 = none)',
      number('--regularizer-warmup'),
      0,
    )
    .option(
      '--held-out <file>',
      'JSONL prompt set (field "prompt") whose bench pairs no training pair may share a query or document with (repeatable)',
      collect,
      [],
    )
    .option(
      '--checkpoint <file>',
      'checkpoint to resume from and write (default: <out>/checkpoint.json)',
    )
    .option('--checkpoint-every <n>', 'steps between checkpoints', number('--checkpoint-every'), 50)
    .action(async (options: SpladeOptions) => {
      if (!TRAIN_BACKENDS.includes(options.backend as TrainBackend | 'torch')) {
        throw new InvalidArgumentError({
          argument: '--backend',
          message: `unknown training backend "${options.backend}"; use ${TRAIN_BACKENDS.join(' or ')}.`,
        });
      }
      if (
        !Number.isInteger(options.batchSize) ||
        options.batchSize < 2 ||
        options.batchSize > options.count
      ) {
        throw new InvalidArgumentError({
          argument: '--batch-size',
          message: `in-batch negatives need an integer batch size in [2, --count], got ${options.batchSize}.`,
        });
      }
      if (options.schedule !== 'constant' && options.schedule !== 'cosine') {
        throw new InvalidArgumentError({
          argument: '--schedule',
          message: `use constant or cosine, got "${options.schedule}".`,
        });
      }
      if (options.backend === 'torch' && options.trainable !== 'all') {
        throw new InvalidArgumentError({
          argument: '--backend',
          message:
            'the torch backend trains the whole model; drop --trainable head or use --backend wasm.',
        });
      }
      for (const [flag, value] of [
        ['--clip-grad-norm', options.clipGradNorm],
        ['--threads', options.threads],
      ] as const) {
        if (value !== undefined && options.backend !== 'torch') {
          throw new InvalidArgumentError({
            argument: flag,
            message: `${flag} is a torch-backend option; add --backend torch or drop it.`,
          });
        }
      }
      if (options.trainable !== 'all' && options.trainable !== 'head') {
        throw new InvalidArgumentError({
          argument: '--trainable',
          message: `use all or head, got "${options.trainable}".`,
        });
      }
      if (options.headInit !== 'model' && options.headInit !== 'lexical') {
        throw new InvalidArgumentError({
          argument: '--head-init',
          message: `use model or lexical, got "${options.headInit}".`,
        });
      }
      if (options.headInit === 'lexical' && options.trainable !== 'head') {
        throw new InvalidArgumentError({
          argument: '--head-init',
          message:
            'a lexical classifier initialises --trainable head; add --trainable head or drop --head-init.',
        });
      }
      // Before pairs are generated (minutes): a bad option fails at once.
      const { checkSpladeOptions } = await import('@decodekit/train');
      checkSpladeOptions({
        batchSize: options.batchSize,
        flopsQuery: options.flopsQuery,
        flopsDocument: options.flopsDocument,
        trainable: options.trainable as 'all' | 'head',
        headInit: options.headInit as 'model' | 'lexical',
        regularizerWarmupSteps: options.regularizerWarmup,
      });
      const files = baseFiles(options);
      // Before pairs are generated: no PyTorch, no run.
      if (options.backend === 'torch') (await import('@decodekit/train')).requireTorch();
      const { config, weights } = readLlama2cCheckpoint(
        new Uint8Array(readFileSync(files.checkpoint)),
        files.checkpoint,
      );
      const out = resolve(options.out);
      mkdirSync(out, { recursive: true });
      const started = performance.now();
      const {
        bm25HardNegatives,
        generateStoryRetrievalPairs,
        storyRetrievalPair,
        trainSplade,
        trainSpladeTorch,
      } = await import('@decodekit/train');
      const model = await loadForCli(options.model, 'cpu');
      let pairs: RetrievalPair[];
      let attempts: number;
      let excluded = 0;
      const pairsFile = join(out, 'pairs.json');
      const dataKey = { count: options.count, seed: options.seed, heldOut: options.heldOut };
      try {
        const cached = existsSync(pairsFile)
          ? (JSON.parse(readFileSync(pairsFile, 'utf8')) as {
              key: unknown;
              attempts: number;
              excluded: number;
              pairs: RetrievalPair[];
            })
          : undefined;
        const sameRun = (key: unknown) =>
          JSON.stringify({ ...(key as object), count: options.count }) === JSON.stringify(dataKey);
        if (cached && JSON.stringify(cached.key) === JSON.stringify(dataKey)) {
          ({ pairs, attempts, excluded } = cached);
        } else {
          // A cache of the same seed and held-out sets with fewer pairs is extended, not regenerated: the
          // pairs come in sampling order, so the result is the same as a run from scratch.
          const resume =
            cached && sameRun(cached.key) && cached.pairs.length < options.count
              ? { pairs: cached.pairs, attempts: cached.attempts }
              : undefined;
          const decoder = createDecoder({ model, tokenizer: model.tokenizer });
          const exclude: RetrievalPair[] = [];
          for (const file of options.heldOut)
            for (const entry of await readPromptSet(resolve(file)))
              exclude.push(await storyRetrievalPair(decoder, String(entry.prompt)));
          excluded = exclude.length;
          ({ pairs, attempts } = await generateStoryRetrievalPairs(model, {
            count: options.count,
            seed: options.seed,
            exclude,
            resume,
            onProgress: (done, tried) => {
              if (done % 100 === 0)
                process.stderr.write(
                  `pairs: ${done}/${options.count} (${tried} prompts sampled)\n`,
                );
            },
          }));
          writeFileSync(
            pairsFile,
            `${JSON.stringify({ key: dataKey, attempts, excluded, pairs })}\n`,
          );
        }
      } finally {
        await model.dispose();
      }
      if (pairs.length < options.count) {
        process.stderr.write(
          `warning: only ${pairs.length} distinct pairs in ${attempts} sampled prompts\n`,
        );
      }
      const { tokenizer } = model;
      const encode = (text: string) => tokenizer.encode(text, { addSpecialTokens: false });
      const negatives = options.hardNegatives ? bm25HardNegatives(pairs) : [];
      const tokenPairs = pairs.map((pair, i) => ({
        query: encode(pair.query),
        document: encode(pair.document),
        ...(negatives[i] >= 0 ? { negative: encode(pairs[negatives[i]].document) } : {}),
      }));
      const common = {
        steps: options.steps,
        batchSize: options.batchSize,
        learningRate: options.lr,
        schedule: options.schedule as 'constant' | 'cosine',
        seed: options.seed,
        flopsQuery: options.flopsQuery,
        flopsDocument: options.flopsDocument,
        bosTokenId: tokenizer.bosTokenId ?? null,
        regularizerWarmupSteps: options.regularizerWarmup,
        logEvery: 10,
        onProgress: ({ step, steps, loss }: { step: number; steps: number; loss: number }) =>
          process.stderr.write(`step ${step}/${steps} loss ${loss.toFixed(4)}\n`),
      };
      const result =
        options.backend === 'torch'
          ? await trainSpladeTorch(config, weights, tokenPairs, {
              ...common,
              clipGradNorm: options.clipGradNorm,
              threads: options.threads,
            })
          : await trainSplade(config, weights, tokenPairs, {
              ...common,
              backend: options.backend as TrainBackend,
              trainable: options.trainable as 'all' | 'head',
              headInit: options.headInit as 'model' | 'lexical',
              checkpoint: options.checkpoint
                ? resolve(options.checkpoint)
                : join(out, 'checkpoint.json'),
              checkpointEvery: options.checkpointEvery,
            });
      const name = options.name ?? `${basename(options.model)}-splade`;
      const checkpointFile = join(out, `${name}.bin`);
      writeFileSync(
        checkpointFile,
        writeLlama2cCheckpoint({ config: result.config, weights: result.weights }),
      );
      copyFileSync(files.tokenizer, join(out, basename(files.tokenizer)));
      writeFileSync(
        join(out, 'training.json'),
        `${JSON.stringify(
          {
            command: commandLine(options),
            base: options.model,
            data: { pairs: pairs.length, sampledPrompts: attempts, heldOutPairsExcluded: excluded },
            seconds: Math.round((performance.now() - started) / 1000),
            losses: result.losses,
          },
          null,
          2,
        )}\n`,
      );
      const first = result.losses[0]?.loss ?? Number.NaN;
      const last = result.losses.at(-1)?.loss ?? Number.NaN;
      process.stdout.write(
        `wrote ${checkpointFile} (${pairs.length} pairs, loss ${first.toFixed(3)} → ${last.toFixed(3)}); load the folder ${out} with causalLmSplade\n`,
      );
    });
}
