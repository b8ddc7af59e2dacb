import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, UnsupportedCapabilityError } from '@decodekit/core';
import {
  defaultCacheDir,
  defaultMirrors,
  findKnownModel,
  findLlama2cFiles,
  LLAMA2C_MANIFEST,
  readLlama2cCheckpoint,
  writeLlama2cCheckpoint,
} from '@decodekit/models/node';
import type { FastDraftRecipeFlags, TfLlamaConfig, TfLlamaWeights } from '@decodekit/train';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';
import { number } from './option-parsers.js';

/** What `decodekit train fastdraft` takes (commander's parsed flags). */
export interface TrainFastDraftFlags extends Omit<
  FastDraftRecipeFlags,
  | 'alignTemperatures'
  | 'pretrainTemperatures'
  | 'alignPrefixes'
  | 'alignPrefixTemperatures'
  | 'backend'
> {
  model: string;
  out: string;
  /** Comma-separated lists (see `FastDraftRecipeFlags`). */
  alignTemperatures: string;
  pretrainTemperatures?: string;
  alignPrefixes?: string;
  alignPrefixTemperatures?: string;
  backend: string;
  /** Comma-separated drafts (llama2.c folders or known ids) scored on the same held-out data. */
  compare?: string;
  dataDir?: string;
  checkpoint?: string;
  checkpointEvery: number;
}

const FLAG_ORDER: (keyof TrainFastDraftFlags)[] = [
  'model',
  'dim',
  'hidden',
  'layers',
  'heads',
  'kvHeads',
  'pretrainCount',
  'pretrainLength',
  'pretrainTemperatures',
  'pretrainSteps',
  'pretrainLr',
  'pretrainKd',
  'alignCount',
  'alignPrefix',
  'alignPrefixes',
  'alignPrefixTemperatures',
  'alignLength',
  'alignTemperatures',
  'alignSteps',
  'alignLr',
  'alignKd',
  'heldOutCount',
  'batchSize',
  'seed',
  'backend',
  'compare',
];

/** The command line that reproduces a run. */
export function fastDraftCommandLine(flags: TrainFastDraftFlags): string {
  const kebab = (name: string) => name.replace(/[A-Z]/g, letter => `-${letter.toLowerCase()}`);
  return `decodekit train fastdraft ${FLAG_ORDER.filter(flag => flags[flag] !== undefined)
    .map(flag => `--${kebab(flag)} ${flags[flag]}`)
    .join(' ')} --out ${flags.out}`;
}

/** The llama2.c checkpoint of a draft to compare with: a folder holding one, or a known id found in a mirror. */
function compareCheckpoint(ref: string): string {
  const known = findKnownModel(ref);
  const folders = [
    resolve(ref),
    ...(known ? defaultMirrors().map(mirror => join(mirror, known.mirrorPath)) : []),
  ];
  for (const folder of folders) {
    const file = known ? join(folder, known.checkpoint.file) : folder;
    if (existsSync(file)) return file;
  }
  throw new InvalidArgumentError({
    argument: '--compare',
    message: `no llama2.c checkpoint found for "${ref}" (looked in ${folders.join(', ')}); pass a known id (llama2xs) with DECODEKIT_MODELS set to a mirror holding it.`,
  });
}

async function compareDraft(
  ref: string,
): Promise<{ name: string; config: TfLlamaConfig; weights: TfLlamaWeights }> {
  let file = compareCheckpoint(ref);
  if (!file.endsWith('.bin')) {
    const found = await findLlama2cFiles(file);
    if (!found)
      throw new InvalidArgumentError({
        argument: '--compare',
        message: `${ref} holds no llama2.c checkpoint.`,
      });
    file = found.checkpoint;
  }
  const { config, weights } = readLlama2cCheckpoint(new Uint8Array(readFileSync(file)), file);
  return { name: ref, config, weights };
}

/**
 * Runs FastDraft for `flags.model` and writes `<out>/model.bin` (the aligned draft, a llama2.c checkpoint),
 * `<out>/pretrained/model.bin` (the draft before alignment), a `llama2c.json` beside each naming the target as the
 * source of the tokenizer (so the resolver loads either folder), and `<out>/training.json` (command, recipe,
 * parameters, held-out acceptance before and after alignment and of the `--compare` drafts, loss curves).
 */
export async function runTrainFastDraft(
  flags: TrainFastDraftFlags,
  log: (message: string) => void = message => process.stderr.write(`${message}\n`),
): Promise<Record<string, unknown>> {
  if (flags.backend !== 'wasm' && flags.backend !== 'cpu') {
    throw new InvalidArgumentError({
      argument: '--backend',
      message: `unknown training backend "${flags.backend}"; use wasm or cpu.`,
    });
  }
  const known = findKnownModel(flags.model);
  if (!known) {
    throw new InvalidArgumentError({
      argument: '--model',
      message: `FastDraft writes a llama2.c draft that borrows the target's tokenizer, so the target must be a known llama2.c model (e.g. stories260K), got "${flags.model}".`,
    });
  }
  const list = (value: string | undefined) =>
    value === undefined ? undefined : value.split(',').map(item => Number(item.trim()));
  const { fastDraftRecipe, llamaParameterCount, trainFastDraft } = await import('@decodekit/train');
  const recipe = fastDraftRecipe({
    ...flags,
    alignTemperatures: list(flags.alignTemperatures) ?? [],
    pretrainTemperatures: list(flags.pretrainTemperatures),
    alignPrefixes: list(flags.alignPrefixes),
    alignPrefixTemperatures: list(flags.alignPrefixTemperatures),
    backend: flags.backend,
  });
  const compare = await Promise.all(
    (flags.compare ?? '')
      .split(',')
      .filter(Boolean)
      .map(ref => compareDraft(ref.trim())),
  );
  const model = await loadForCli(flags.model, 'cpu');
  const lmHead = model.embeddingTable?.();
  try {
    if (!lmHead) {
      throw new UnsupportedCapabilityError({
        capability: 'inputEmbeddings',
        backendId: model.capabilities.backendId,
        hint: 'FastDraft scores acceptance with the target LM head: use a model converted by decodekit, not a --plain folder.',
      });
    }
    const out = resolve(flags.out);
    const result = await trainFastDraft(model, lmHead, {
      ...recipe,
      cacheDir: flags.dataDir ? resolve(flags.dataDir) : join(defaultCacheDir(), 'train'),
      checkpoint: flags.checkpoint ? resolve(flags.checkpoint) : join(out, 'checkpoint'),
      checkpointEvery: flags.checkpointEvery,
      compare,
      onProgress: (phase, message) => log(`${phase}: ${message}`),
    });
    const manifest = `${JSON.stringify({ tokenizer: known.ref }, null, 2)}\n`;
    for (const [folder, weights] of [
      [out, result.aligned],
      [join(out, 'pretrained'), result.pretrained],
    ] as const) {
      mkdirSync(folder, { recursive: true });
      writeFileSync(
        join(folder, 'model.bin'),
        writeLlama2cCheckpoint({ config: result.config, weights }),
      );
      writeFileSync(join(folder, LLAMA2C_MANIFEST), manifest);
    }
    const report = {
      command: fastDraftCommandLine(flags),
      target: known.ref,
      config: result.config,
      parameters: result.parameters,
      compareParameters: Object.fromEntries(
        compare.map(({ name, config }) => [name, llamaParameterCount(config)]),
      ),
      recipe,
      acceptance: result.acceptance,
      seconds: Math.round(result.seconds),
      positionsPerSecond: result.positionsPerSecond,
      losses: result.losses,
    };
    writeFileSync(join(out, 'training.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    await model.dispose();
  }
}

/** `decodekit train fastdraft`: pretrain and align a small draft on the target's own generations. */
export function registerTrainFastDraft(train: Command): void {
  train
    .command('fastdraft')
    .description(
      'FastDraft: pretrain a small Llama draft with the target’s vocabulary on the target’s free generations, then align it by sequence-level distillation.',
    )
    .option('--model <ref>', 'target model (a known llama2.c model)', DEFAULT_MODEL)
    .requiredOption('--out <dir>', 'folder for model.bin, pretrained/model.bin and training.json')
    .option('--dim <n>', 'draft width', number('--dim'), 48)
    .option('--hidden <n>', 'draft MLP width', number('--hidden'), 128)
    .option('--layers <n>', 'draft layers', number('--layers'), 4)
    .option('--heads <n>', 'attention heads', number('--heads'), 6)
    .option('--kv-heads <n>', 'key/value heads', number('--kv-heads'), 3)
    .option(
      '--pretrain-count <n>',
      'free generations (T = 1 from BOS) to pretrain on',
      number('--pretrain-count'),
      400,
    )
    .option('--pretrain-length <n>', 'tokens per free generation', number('--pretrain-length'), 128)
    .option(
      '--pretrain-temperatures <list>',
      'temperatures of the free generations (--pretrain-count each)',
      '1,0.7',
    )
    .option('--pretrain-steps <n>', 'pretraining steps', number('--pretrain-steps'), 600)
    .option('--pretrain-lr <x>', 'pretraining Adam learning rate', number('--pretrain-lr'), 5e-3)
    .option(
      '--pretrain-kd <w>',
      'weight in [0, 1] of distribution-level KD in pretraining (0: the sampled tokens only)',
      number('--pretrain-kd'),
      1,
    )
    .option(
      '--align-count <n>',
      'alignment prompts per prompt length and prompt temperature (each continued once per temperature)',
      number('--align-count'),
      100,
    )
    .option(
      '--align-prefix <n>',
      'tokens of each held-out prompt (sampled from BOS by the target at T = 1)',
      number('--align-prefix'),
      16,
    )
    .option(
      '--align-prefixes <list>',
      'prompt lengths of the alignment data (--align-count prompts per length and prompt temperature)',
      '4,16,48',
    )
    .option(
      '--align-prefix-temperatures <list>',
      'temperatures the target samples the alignment prompts at',
      '1,0.7',
    )
    .option('--align-length <n>', 'tokens per alignment sequence', number('--align-length'), 160)
    .option(
      '--align-temperatures <list>',
      'temperatures of the target’s continuations (0 = greedy)',
      '0,0.8',
    )
    .option('--align-steps <n>', 'alignment steps', number('--align-steps'), 500)
    .option('--align-lr <x>', 'alignment Adam learning rate', number('--align-lr'), 2e-3)
    .option(
      '--align-kd <w>',
      'weight in [0, 1] of distribution-level KD in alignment (0: sequence-level KD on the target’s tokens only)',
      number('--align-kd'),
      1,
    )
    .option(
      '--held-out-count <n>',
      'held-out prompts per temperature',
      number('--held-out-count'),
      24,
    )
    .option('--batch-size <n>', 'sequences per step', number('--batch-size'), 4)
    .option('--seed <n>', 'seed of data, initialization and batch order', number('--seed'), 0)
    .option('--backend <name>', 'TensorFlow.js backend: wasm, cpu', 'wasm')
    .option('--compare <refs>', 'drafts to score on the same held-out data (e.g. llama2xs)')
    .option('--data-dir <dir>', 'dataset cache (default: <decodekit cache>/train)')
    .option('--checkpoint <prefix>', 'checkpoint prefix (default: <out>/checkpoint)')
    .option('--checkpoint-every <n>', 'steps between checkpoints', number('--checkpoint-every'), 25)
    .action(async (flags: TrainFastDraftFlags) => {
      const report = await runTrainFastDraft(flags);
      const acceptance = report.acceptance as {
        pretrained: { temperature: number; acceptance: number }[];
        aligned: { temperature: number; acceptance: number }[];
        compare: Record<string, { temperature: number; acceptance: number }[]>;
      };
      const row = (list: { temperature: number; acceptance: number }[]) =>
        list.map(entry => `T=${entry.temperature}: ${entry.acceptance.toFixed(3)}`).join(', ');
      process.stdout.write(
        `wrote ${join(resolve(flags.out), 'model.bin')} (${report.parameters} parameters)\n` +
          `held-out acceptance — pretrained ${row(acceptance.pretrained)}; aligned ${row(acceptance.aligned)}` +
          Object.entries(acceptance.compare)
            .map(([name, list]) => `; ${name} ${row(list)}`)
            .join('') +
          '\n',
      );
    });
}
