import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readPromptSet } from '@decodekit/bench';
import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type LoadedModel,
} from '@decodekit/core';
import {
  defaultCacheDir,
  defaultMirrors,
  findKnownModel,
  readLlama2cCheckpoint,
  writeLlama2cCheckpoint,
} from '@decodekit/models/node';
import { serializeChimeraWeights } from '@decodekit/strategy-chimera';
import { serializeEagleWeights } from '@decodekit/strategy-eagle';
import { serializeFalconWeights } from '@decodekit/strategy-falcon';
import { serializeFspadWeights } from '@decodekit/strategy-fspad';
import { serializeHiddenTransferWeights } from '@decodekit/strategy-hidden-transfer';
import { serializeMedusaWeights } from '@decodekit/strategy-medusa';
import { serializePpdWeights } from '@decodekit/strategy-ppd';
// @decodekit/train (and TensorFlow.js with it) loads only when a train command runs: other commands start fast.
import type {
  DatasetOptions,
  LearningRateSchedule,
  PpdInit,
  TrainBackend,
  TrainProgress,
} from '@decodekit/train';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';
import { number } from './option-parsers.js';
import { registerTrainFastDraft } from './train-fastdraft.js';
import { registerTrainSplade } from './train-splade.js';

const TRAIN_BACKENDS: readonly TrainBackend[] = ['wasm', 'cpu'];
const loadTrain = () => import('@decodekit/train');

/** The options commander parses for `decodekit train <kind>` (numbers through `number()`). */
interface Options {
  model?: string;
  out: string;
  count: number;
  length: number;
  sampledPrefix: number;
  prompts?: string;
  seed: number;
  steps: number;
  batchSize: number;
  lr: number;
  backend: string;
  dataDir?: string;
  checkpoint?: string;
  checkpointEvery: number;
  heads?: number;
  inner?: number;
  treeSize?: number;
  unroll?: number;
  window?: number;
  promptTokens?: number;
  virtualTokens?: number;
  init?: string;
  lossDecay?: number;
  cutsPerSequence?: number;
  schedule?: string;
  llama2c?: string;
  layer?: number;
  transfers?: number;
  epochs?: number;
  placeholders?: number;
  alpha?: number;
  placeholderTokenId?: number;
  placeholderWeight?: number;
  sampledPrefixes?: string;
  prefixTemperatures?: string;
  threads?: number;
  clipGradNorm?: number;
}

function addCommonOptions(
  command: Command,
  defaults: { steps: number; batchSize: number; learningRate: number },
): Command {
  return command
    .option('--model <ref>', 'target model', DEFAULT_MODEL)
    .requiredOption('--out <dir>', 'folder for weights.json, losses.json and checkpoint.json')
    .option('--count <n>', 'sequences the target generates', number('--count'), 512)
    .option('--length <n>', 'tokens per sequence (BOS included)', number('--length'), 192)
    .option(
      '--sampled-prefix <n>',
      'tokens sampled at T = 1 after BOS before the greedy continuation',
      number('--sampled-prefix'),
      32,
    )
    .option(
      '--prompts <file>',
      'JSONL corpus of prompts (field "prompt") to continue instead of sampled prefixes',
    )
    .option('--seed <n>', 'seed of data, initialization and batch order', number('--seed'), 0)
    .option('--steps <n>', 'training steps', number('--steps'), defaults.steps)
    .option('--batch-size <n>', 'positions per step', number('--batch-size'), defaults.batchSize)
    .option('--lr <x>', 'Adam learning rate', number('--lr'), defaults.learningRate)
    .option('--backend <name>', `TensorFlow.js backend: ${TRAIN_BACKENDS.join(', ')}`, 'wasm')
    .option('--data-dir <dir>', 'dataset cache (default: <decodekit cache>/train)')
    .option(
      '--checkpoint <file>',
      'checkpoint to resume from and write (default: <out>/checkpoint.json)',
    )
    .option(
      '--checkpoint-every <n>',
      'steps between checkpoints',
      number('--checkpoint-every'),
      200,
    );
}

/** A comma-separated list of numbers (`--sampled-prefixes 4,8,16`), or undefined when the flag is absent. */
function numberList(flag: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map(item => item.trim());
  const list = items.map(Number);
  if (items.some((item, i) => item === '' || !Number.isFinite(list[i]))) {
    throw new InvalidArgumentError({
      argument: flag,
      message: `must be a comma-separated list of numbers, got "${value}".`,
    });
  }
  return list;
}

/**
 * The data recipes: one (`--sampled-prefix`), or with `--sampled-prefixes` / `--prefix-temperatures` (LUD) one
 * per prefix length × prefix temperature, each `--count` sequences drawn with its own seeds (recipe k: seed +
 * k × count, so no two recipes share a draw).
 */
function dataRecipes(options: Options, prompts: readonly string[] | undefined): DatasetOptions[] {
  const prefixes = numberList('--sampled-prefixes', options.sampledPrefixes);
  const temperatures = numberList('--prefix-temperatures', options.prefixTemperatures);
  const base = { count: options.count, length: options.length, seed: options.seed };
  if (prompts) {
    if (prefixes || temperatures)
      throw new InvalidArgumentError({
        argument: '--prompts',
        message:
          'prompts from a corpus replace the sampled prefixes; drop --sampled-prefixes / --prefix-temperatures or --prompts.',
      });
    return [{ ...base, sampledPrefix: 0, prompts }];
  }
  const recipes: DatasetOptions[] = [];
  for (const sampledPrefix of prefixes ?? [options.sampledPrefix])
    for (const temperature of temperatures ?? [1])
      recipes.push({
        ...base,
        seed: options.seed + recipes.length * options.count,
        sampledPrefix,
        // T = 1 is the default: left out, the cache key stays the one of earlier datasets.
        ...(temperature === 1 ? {} : { prefixTemperature: temperature }),
      });
  return recipes;
}

async function prepare(options: Options, backends: readonly string[] = TRAIN_BACKENDS) {
  if (!backends.includes(options.backend)) {
    throw new InvalidArgumentError({
      argument: '--backend',
      message: `unknown training backend "${options.backend}"; use ${backends.join(' or ')}.`,
    });
  }
  const model = await loadForCli(options.model, 'cpu');
  const lmHead = model.embeddingTable?.();
  if (!lmHead) {
    await model.dispose();
    throw new UnsupportedCapabilityError({
      capability: 'inputEmbeddings',
      backendId: model.capabilities.backendId,
      hint: 'training reads the target LM head (its tied embedding table): use a model converted by decodekit, not a --plain folder.',
    });
  }
  const prompts = options.prompts
    ? (await readPromptSet(resolve(options.prompts))).map(entry => String(entry.prompt))
    : undefined;
  const recipes = dataRecipes(options, prompts);
  const cacheDir = options.dataDir ? resolve(options.dataDir) : join(defaultCacheDir(), 'train');
  const { loadOrGenerateDataset, mixDatasets } = await loadTrain();
  const datasets = [];
  for (const recipe of recipes) {
    const started = performance.now();
    const { dataset, cached, path } = await loadOrGenerateDataset(
      model,
      recipe,
      cacheDir,
      (done, total) => {
        if (done % 32 === 0 || done === total)
          process.stderr.write(`generating data: ${done}/${total} sequences\r`);
      },
    );
    process.stderr.write(
      `${cached ? 'read cached' : 'generated'} dataset ${path}: ${dataset.offsets.length - 1} sequences, ${dataset.tokens.length} positions (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
    );
    datasets.push(dataset);
  }
  const dataset = datasets.length === 1 ? datasets[0] : mixDatasets(datasets);
  return { model, lmHead, dataset, recipes };
}

function loopOptions(options: Options) {
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  return {
    out,
    loop: {
      steps: options.steps,
      batchSize: options.batchSize,
      learningRate: options.lr,
      seed: options.seed,
      backend: options.backend as TrainBackend,
      checkpoint: options.checkpoint ? resolve(options.checkpoint) : join(out, 'checkpoint.json'),
      checkpointEvery: options.checkpointEvery,
      onProgress: ({ step, steps, loss, positionsPerSecond }: TrainProgress) => {
        const width = 30;
        const filled = Math.round((step / steps) * width);
        process.stderr.write(
          `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${step}/${steps} loss ${loss.toFixed(4)} ${Math.round(positionsPerSecond)} positions/s${process.stderr.isTTY ? '\r' : '\n'}`,
        );
      },
    },
  };
}

function commandLine(kind: string, options: Options): string {
  const flags: (keyof Options)[] = [
    'model',
    'count',
    'length',
    'sampledPrefix',
    'seed',
    'steps',
    'batchSize',
    'lr',
    'backend',
    ...({
      medusa: ['heads', 'treeSize'] as const,
      chimera: ['heads', 'window', 'inner'] as const,
      ppd: [
        'promptTokens',
        'virtualTokens',
        'init',
        'lossDecay',
        'cutsPerSequence',
        'schedule',
        'treeSize',
      ] as const,
      'hidden-transfer': ['layer', 'transfers', 'treeSize'] as const,
      lud: [
        'sampledPrefixes',
        'prefixTemperatures',
        'epochs',
        'placeholders',
        'alpha',
        'placeholderTokenId',
        'placeholderWeight',
        'threads',
        'clipGradNorm',
      ] as const,
    }[kind] ?? (['unroll', 'inner'] as const)),
  ];
  const kebab = (name: string) => name.replace(/[A-Z]/g, letter => `-${letter.toLowerCase()}`);
  return `decodekit train ${kind} ${flags
    // --epochs sets the steps, --sampled-prefixes the prefixes: the defaults would only mislead.
    .filter(
      flag =>
        options[flag] !== undefined &&
        !(flag === 'steps' && options.epochs) &&
        !(flag === 'sampledPrefix' && options.sampledPrefixes),
    )
    .map(flag => `--${kebab(flag)} ${options[flag]}`)
    .join(' ')}${options.prompts ? ` --prompts ${options.prompts}` : ''} --out ${options.out}`;
}

async function withModel(
  options: Options,
  body: (prepared: Awaited<ReturnType<typeof prepare>> & { model: LoadedModel }) => Promise<void>,
  backends: readonly string[] = TRAIN_BACKENDS,
) {
  const prepared = await prepare(options, backends);
  try {
    await body(prepared);
  } finally {
    await prepared.model.dispose();
  }
}

/**
 * The target's llama2.c checkpoint, for trainers that run the whole target (PPD, Hidden Transfer):
 * `--llama2c FILE`, or the known model's file in a DECODEKIT_MODELS mirror.
 */
function readTargetCheckpoint(options: Options, trainer = 'PPD') {
  const known = options.model ? findKnownModel(options.model) : undefined;
  const file = options.llama2c
    ? resolve(options.llama2c)
    : known &&
      defaultMirrors()
        .map(mirror => join(mirror, known.mirrorPath, known.checkpoint.file))
        .find(path => existsSync(path));
  if (!file || !existsSync(file)) {
    throw new InvalidArgumentError({
      argument: '--llama2c',
      message: `${trainer} training runs the target in TensorFlow.js from its llama2.c checkpoint; pass --llama2c FILE (the .bin of ${options.model}) or list a mirror holding it in DECODEKIT_MODELS.`,
    });
  }
  const { config, weights } = readLlama2cCheckpoint(new Uint8Array(readFileSync(file)), file);
  // The llama2.c tokenizer beside the checkpoint (tok512.bin, ...), as the resolver finds it.
  const tokenizer = readdirSync(dirname(file)).find(name => /^tok.*\.bin$/.test(name));
  return { shape: config, weights, tokenizer: tokenizer && join(dirname(file), tokenizer) };
}

/**
 * Writes a trainer's result: `weights.json` (its serialized weights, with the command line that reproduces them
 * in `training.command`) and `losses.json` (the loss curve), then one line naming the file and `summary`.
 */
function writeTrained<W extends { training?: object }>(
  out: string,
  trainer: string,
  options: Options,
  result: { weights: W; losses: readonly unknown[] },
  serialize: (weights: W) => string,
  summary: string,
): void {
  const weights = {
    ...result.weights,
    training: { command: commandLine(trainer, options), ...result.weights.training },
  };
  writeFileSync(join(out, 'weights.json'), serialize(weights));
  writeFileSync(join(out, 'losses.json'), `${JSON.stringify(result.losses)}\n`);
  process.stdout.write(`wrote ${join(out, 'weights.json')}: ${summary}\n`);
}

/** `decodekit train medusa | eagle | fspad | chimera | falcon | ppd | hidden-transfer | lud | fastdraft`: trains drafters (and LUD's fine-tuned model, FastDraft's draft) on the target's own generations. */
export function registerTrain(program: Command): void {
  const train = program
    .command('train')
    .description(
      'Train drafters (Medusa heads, EAGLE, FSPAD, Chimera, Falcon, PPD prompt tokens, Hidden Transfer projections, FastDraft drafts), LUD models and SPLADE encoders on the target’s own generations (TensorFlow.js).',
    );
  registerTrainFastDraft(train);
  registerTrainSplade(train);
  addCommonOptions(
    train
      .command('medusa')
      .description('Medusa-1 heads over the last hidden state, and their sparse tree.'),
    {
      steps: 1000,
      batchSize: 128,
      learningRate: 3e-3,
    },
  )
    .option('--heads <n>', 'heads (head k predicts the token k + 2 ahead)', number('--heads'), 4)
    .option(
      '--tree-size <n>',
      'nodes of the sparse tree built from held-out accuracy',
      number('--tree-size'),
      24,
    )
    .action(async (options: Options) => {
      await withModel(options, async ({ model, lmHead, dataset }) => {
        const { out, loop } = loopOptions(options);
        const { trainMedusa } = await loadTrain();
        const result = await trainMedusa(dataset, lmHead, model.info.vocabSize, {
          ...loop,
          heads: options.heads,
          treeSize: options.treeSize,
        });
        const top1 = result.accuracy.map(row => row[0].toFixed(3)).join(' ');
        writeTrained(
          out,
          'medusa',
          options,
          result,
          serializeMedusaWeights,
          `held-out top-1 accuracy per head ${top1}; ${Math.round(result.positionsPerSecond)} positions/s`,
        );
      });
    });
  addCommonOptions(
    train
      .command('eagle')
      .description('EAGLE feature-level drafter (fc + residual MLP) over (token, feature).'),
    {
      steps: 1500,
      batchSize: 128,
      learningRate: 3e-3,
    },
  )
    .option(
      '--unroll <n>',
      'drafter steps unrolled in training, fed its own features (1 = EAGLE-1 teacher forcing; 3 as EAGLE-3 training-time test)',
      number('--unroll'),
      3,
    )
    .option('--inner <n>', 'inner width of the MLP block (default 4 × hidden)', number('--inner'))
    .action(async (options: Options) => {
      await withModel(options, async ({ model, lmHead, dataset }) => {
        const { out, loop } = loopOptions(options);
        const { trainEagle } = await loadTrain();
        const result = await trainEagle(dataset, lmHead, model.info.vocabSize, {
          ...loop,
          unroll: options.unroll,
          innerSize: options.inner,
        });
        writeTrained(
          out,
          'eagle',
          options,
          result,
          serializeEagleWeights,
          `held-out top-1 ${result.heldOut.top1.toFixed(3)}, greedy chain accepted ${result.heldOut.meanAcceptedChain.toFixed(2)}/6; ${Math.round(result.positionsPerSecond)} positions/s`,
        );
      });
    });
  addCommonOptions(
    train
      .command('fspad')
      .description(
        'FSPAD feature drafter: token-gated feature sampling and partial alignment (split head / regression halves).',
      ),
    {
      steps: 1500,
      batchSize: 128,
      learningRate: 3e-3,
    },
  )
    .option(
      '--unroll <n>',
      'drafter steps unrolled in training, fed its own regressed features',
      number('--unroll'),
      3,
    )
    .option('--inner <n>', 'inner width of both gated MLPs (default 2 × hidden)', number('--inner'))
    .action(async (options: Options) => {
      await withModel(options, async ({ model, lmHead, dataset }) => {
        const { out, loop } = loopOptions(options);
        const { trainFspad } = await loadTrain();
        const result = await trainFspad(dataset, lmHead, model.info.vocabSize, {
          ...loop,
          unroll: options.unroll,
          innerSize: options.inner,
        });
        writeTrained(
          out,
          'fspad',
          options,
          result,
          serializeFspadWeights,
          `held-out top-1 ${result.heldOut.top1.toFixed(3)}, greedy chain accepted ${result.heldOut.meanAcceptedChain.toFixed(2)}/6; ${Math.round(result.positionsPerSecond)} positions/s`,
        );
      });
    });
  addCommonOptions(
    train
      .command('chimera')
      .description(
        'Chimera drafter: trigram MLP + one fusing decoder layer over the target’s hidden states + heads initialised from the LM head.',
      ),
    {
      steps: 1500,
      batchSize: 128,
      learningRate: 3e-3,
    },
  )
    .option('--heads <n>', 'draft heads (head k drafts depth k + 1)', number('--heads'), 4)
    .option(
      '--window <n>',
      'target hidden states the fusing layer attends to',
      number('--window'),
      8,
    )
    .option(
      '--inner <n>',
      'inner width of the fusing layer’s MLP (default 2 × hidden)',
      number('--inner'),
    )
    .action(async (options: Options) => {
      await withModel(options, async ({ model, lmHead, dataset }) => {
        const { out, loop } = loopOptions(options);
        const { trainChimera } = await loadTrain();
        const result = await trainChimera(dataset, lmHead, model.info.vocabSize, {
          ...loop,
          heads: options.heads,
          window: options.window,
          innerSize: options.inner,
        });
        writeTrained(
          out,
          'chimera',
          options,
          result,
          serializeChimeraWeights,
          `held-out top-1 ${result.heldOut.top1.toFixed(3)}, greedy chain accepted ${result.heldOut.meanAcceptedChain.toFixed(2)}/6; ${Math.round(result.positionsPerSecond)} positions/s`,
        );
      });
    });
  addCommonOptions(
    train
      .command('falcon')
      .description(
        'Falcon semi-autoregressive drafter: two tokens per forward, coupled sequential glancing distillation.',
      ),
    {
      steps: 1500,
      batchSize: 128,
      learningRate: 3e-3,
    },
  )
    .option(
      '--unroll <n>',
      'blocks of two tokens unrolled in training, fed the previous block (glancing at the truth half the time)',
      number('--unroll'),
      2,
    )
    .option(
      '--inner <n>',
      'inner width of the two MLP layers (default 4 × hidden)',
      number('--inner'),
    )
    .action(async (options: Options) => {
      await withModel(options, async ({ model, lmHead, dataset }) => {
        const { out, loop } = loopOptions(options);
        const { trainFalcon } = await loadTrain();
        const result = await trainFalcon(dataset, lmHead, model.info.vocabSize, {
          ...loop,
          unroll: options.unroll,
          innerSize: options.inner,
        });
        writeTrained(
          out,
          'falcon',
          options,
          result,
          serializeFalconWeights,
          `held-out top-1 ${result.heldOut.top1.toFixed(3)}, greedy chain accepted ${result.heldOut.meanAcceptedChain.toFixed(2)}/6; ${Math.round(result.positionsPerSecond)} positions/s`,
        );
      });
    });
  addCommonOptions(
    train
      .command('ppd')
      .description(
        'PPD prompt-token embeddings, trained through the frozen target, and their sparse tree.',
      ),
    {
      steps: 200,
      batchSize: 2,
      learningRate: 3e-2,
    },
  )
    .option(
      '--prompt-tokens <n>',
      'prompt tokens (token i predicts the token i + 1 after the next)',
      number('--prompt-tokens'),
      3,
    )
    .option(
      '--virtual-tokens <n>',
      'virtual tokens per prompt token (ensemble prompt tokens: m chains, logits averaged)',
      number('--virtual-tokens'),
      1,
    )
    .option('--init <kind>', 'prompt embedding init: random, mean, tokens', 'random')
    .option(
      '--loss-decay <x>',
      "weight decay^(i-1) of prompt token i's loss (the paper: 0.8)",
      number('--loss-decay'),
      1,
    )
    .option(
      '--cuts-per-sequence <n>',
      'cut points of each sequence trained per step, drawn at random (default: all)',
      number('--cuts-per-sequence'),
    )
    .option('--schedule <kind>', 'learning-rate schedule: constant, cosine', 'constant')
    .option(
      '--tree-size <n>',
      'nodes of the sparse tree built from held-out accuracy',
      number('--tree-size'),
      48,
    )
    .option(
      '--llama2c <file>',
      'the target’s llama2.c checkpoint (default: the known model’s file in DECODEKIT_MODELS)',
    )
    .action(async (options: Options) => {
      const target = readTargetCheckpoint(options);
      const { checkPpdOptions, trainPpd } = await loadTrain();
      const ppdOptions = {
        promptTokens: options.promptTokens,
        virtualTokens: options.virtualTokens,
        init: options.init as PpdInit,
        lossDecay: options.lossDecay,
        cutsPerSequence: options.cutsPerSequence,
      };
      // Before the dataset is generated or read: a bad option fails in a second, not after minutes.
      checkPpdOptions(ppdOptions);
      await withModel(options, async ({ dataset }) => {
        const { out, loop } = loopOptions(options);
        const result = await trainPpd(dataset, target, {
          ...loop,
          ...ppdOptions,
          schedule: options.schedule as LearningRateSchedule,
          treeSize: options.treeSize,
        });
        const top1 = result.accuracy.map(row => row[0].toFixed(3)).join(' ');
        writeTrained(
          out,
          'ppd',
          options,
          result,
          serializePpdWeights,
          `held-out top-1 accuracy per depth ${top1}; ${Math.round(result.positionsPerSecond)} sequences/s`,
        );
      });
    });
  addCommonOptions(
    train
      .command('hidden-transfer')
      .description(
        'Hidden Transfer projections of a middle layer’s hidden state into pseudo hidden states, trained through the frozen upper layers, and their sparse tree.',
      ),
    {
      steps: 300,
      batchSize: 2,
      learningRate: 1e-2,
    },
  )
    .option(
      '--layer <n>',
      'the split: pseudo states enter after the first N layers (default: half the layers)',
      number('--layer'),
    )
    .option(
      '--transfers <n>',
      'pseudo hidden states per draft (state i predicts the token i + 1 after the next)',
      number('--transfers'),
      3,
    )
    .option(
      '--tree-size <n>',
      'nodes of the sparse tree built from held-out accuracy',
      number('--tree-size'),
      48,
    )
    .option(
      '--llama2c <file>',
      'the target’s llama2.c checkpoint (default: the known model’s file in DECODEKIT_MODELS)',
    )
    .action(async (options: Options) => {
      const target = readTargetCheckpoint(options, 'Hidden Transfer');
      const { checkHiddenTransferOptions, trainHiddenTransfer } = await loadTrain();
      // Before the dataset is generated or read: a wrong split fails in a second, not after minutes.
      checkHiddenTransferOptions(target.shape, options);
      await withModel(options, async ({ dataset }) => {
        const { out, loop } = loopOptions(options);
        const result = await trainHiddenTransfer(dataset, target, {
          ...loop,
          layer: options.layer,
          transfers: options.transfers,
          treeSize: options.treeSize,
        });
        const top1 = result.accuracy.map(row => row[0].toFixed(3)).join(' ');
        writeTrained(
          out,
          'hidden-transfer',
          options,
          result,
          serializeHiddenTransferWeights,
          `held-out top-1 accuracy per depth ${top1}; ${Math.round(result.positionsPerSecond)} sequences/s`,
        );
      });
    });
  addCommonOptions(
    train
      .command('lud')
      .description(
        'Lexical Unit Decoding: fine-tunes the whole target so placeholder rows after a unit start predict the unit’s tokens; writes a llama2.c model folder.',
      ),
    {
      steps: 300,
      batchSize: 8,
      learningRate: 1e-3,
    },
  )
    .option('--epochs <n>', 'passes over the training sequences (sets --steps)', number('--epochs'))
    .option(
      '--placeholders <n>',
      'placeholder rows per step (most extra tokens per step)',
      number('--placeholders'),
      3,
    )
    .option(
      '--alpha <x>',
      'base-model probability that joins a token to its lexical unit',
      number('--alpha'),
      0.9,
    )
    .option(
      '--placeholder-token-id <n>',
      'token id fed at placeholder rows (0 = <unk>, never emitted by a byte-fallback tokenizer)',
      number('--placeholder-token-id'),
      0,
    )
    .option(
      '--placeholder-weight <x>',
      'weight of the placeholder loss against the next-token loss',
      number('--placeholder-weight'),
      1,
    )
    .option(
      '--sampled-prefixes <list>',
      'several sampled-prefix lengths (e.g. 4,8,16,32): --count sequences each, instead of --sampled-prefix',
    )
    .option(
      '--prefix-temperatures <list>',
      'temperatures of the sampled prefixes (e.g. 0.7,1,1.3): --count sequences per prefix length and temperature',
    )
    .option('--threads <n>', 'with --backend torch: CPU threads (default 1)', number('--threads'))
    .option(
      '--clip-grad-norm <x>',
      'with --backend torch: clip the global gradient norm before each step',
      number('--clip-grad-norm'),
    )
    .option(
      '--llama2c <file>',
      'the target’s llama2.c checkpoint (default: the known model’s file in DECODEKIT_MODELS)',
    )
    .action(async (options: Options) => {
      const backends = [...TRAIN_BACKENDS, 'torch'];
      for (const [flag, value] of [
        ['--threads', options.threads],
        ['--clip-grad-norm', options.clipGradNorm],
      ] as const) {
        if (value !== undefined && options.backend !== 'torch') {
          throw new InvalidArgumentError({
            argument: flag,
            message: `${flag} is a torch-backend option; add --backend torch or drop it.`,
          });
        }
      }
      const target = readTargetCheckpoint(options, 'LUD');
      const { requireTorch, trainLud, trainLudTorch } = await loadTrain();
      // Before the dataset is generated (minutes): no PyTorch, no run.
      if (options.backend === 'torch') requireTorch();
      await withModel(
        options,
        async ({ lmHead, dataset, recipes }) => {
          const { out, loop } = loopOptions(options);
          const started = performance.now();
          const recipe = {
            epochs: options.epochs,
            placeholders: options.placeholders,
            alpha: options.alpha,
            placeholderTokenId: options.placeholderTokenId,
            placeholderWeight: options.placeholderWeight,
          };
          const checkpoint = { config: target.shape, weights: target.weights };
          const result =
            options.backend === 'torch'
              ? await trainLudTorch(dataset, lmHead, checkpoint, {
                  ...recipe,
                  steps: loop.steps,
                  batchSize: loop.batchSize,
                  learningRate: loop.learningRate,
                  seed: loop.seed,
                  onProgress: loop.onProgress,
                  threads: options.threads,
                  clipGradNorm: options.clipGradNorm,
                })
              : await trainLud(dataset, lmHead, checkpoint, { ...loop, ...recipe });
          // A llama2.c folder (checkpoint + the target's tokenizer): `--model <out>` loads it.
          const name = `${basename(out)}.bin`;
          writeFileSync(
            join(out, name),
            writeLlama2cCheckpoint({ config: target.shape, weights: result.weights }),
          );
          if (target.tokenizer)
            copyFileSync(target.tokenizer, join(out, basename(target.tokenizer)));
          const record = {
            command: commandLine('lud', options),
            base: options.model,
            placeholderTokenId: options.placeholderTokenId,
            placeholders: options.placeholders,
            alpha: options.alpha,
            data: recipes.length === 1 ? dataset.options : recipes,
            backend: options.backend,
            units: result.units,
            heldOut: result.heldOut,
            seconds: Math.round((performance.now() - started) / 1000),
            losses: result.losses,
          };
          writeFileSync(join(out, 'training.json'), `${JSON.stringify(record, null, 2)}\n`);
          const accuracy = result.heldOut.unitAccuracy.map(value => value.toFixed(3)).join(' ');
          process.stdout.write(
            `wrote ${join(out, name)}: held-out placeholder accuracy inside units ${accuracy}; perplexity ${result.heldOut.perplexityBefore.toFixed(3)} → ${result.heldOut.perplexityAfter.toFixed(3)}\n`,
          );
        },
        backends,
      );
    });
}
