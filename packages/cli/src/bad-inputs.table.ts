/**
 * The catalogue of bad inputs: every row is one thing a user can get wrong, what decodekit answers (an error
 * class, a warning event, or a normal result where the input is fine after all), and how to reproduce it
 * through the API and, where the CLI takes that input, through `decodekit`. `bad-inputs.int.test.ts` runs
 * every row; docs/errors.md is rendered from this table (`renderErrorsDoc`) and checked against it.
 */
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  createDecoder,
  speculative,
  type DecodeEvent,
  type GenerateOptions,
  type LoadedModel,
  type Sequence,
} from '@decodekit/core';
import { createCpuBackend, loadModel } from '@decodekit/backend-onnx';
import { convertLlama2cToFolder, resolveModel } from '@decodekit/models/node';
import { grammar, jsonSchema, regex } from '@decodekit/strategy-constrained';
import { draftModel } from '@decodekit/strategy-draft-model';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';

/** What the fixtures of the table provide (built once by the test). */
export interface BadInputFixtures {
  /** A scratch folder for broken copies. */
  readonly work: string;
  /** Cache folder for conversions. */
  readonly cache: string;
  /** The read-only model mirror (DECODEKIT_MODELS). */
  readonly mirror: string;
  /** stories260K converted to a model folder. */
  readonly storiesFolder: string;
  /** stories260K loaded on the CPU backend. */
  readonly model: LoadedModel;
  /** A builder-made tiny model folder (vocab 32) to copy and break. */
  readonly tinyFolder: string;
  /** A builder-made tiny model with stories260K's vocabulary size (512) but a 16-token context. */
  readonly shortContextFolder: string;
}

/** The documented outcome of a row: an error class name, a `warning` event, or `ok` (no error). */
export type Outcome =
  | 'InvalidArgumentError'
  | 'ModelNotFoundError'
  | 'ModelFormatError'
  | 'ContextLengthError'
  | 'AbortedError'
  | 'DisposedError'
  | 'VocabMismatchError'
  | 'UnsupportedCapabilityError'
  | 'ConstraintDeadEndError'
  | 'warning'
  | 'ok';

/** One bad input. */
export interface BadInputCase {
  /** Stable slug (used in test names and docs). */
  readonly id: string;
  readonly area:
    | 'model folder'
    | 'tokenizer'
    | 'options'
    | 'prompt'
    | 'constraint'
    | 'abort'
    | 'dispose'
    | 'draft model'
    | 'command line';
  /** The input, in words (docs). */
  readonly input: string;
  readonly outcome: Outcome;
  /** What the message (or the warning's message) must mention. */
  readonly message?: RegExp;
  /** For InvalidArgumentError: the argument it names. */
  readonly argument?: string;
  /** Reproduces it through the API: a promise that rejects with the error (or resolves, for ok/warning). */
  readonly api?: (fixtures: BadInputFixtures) => Promise<unknown>;
  /** Reproduces it through the CLI: the arguments after `decodekit` (must exit 2 with one line on stderr). */
  readonly cli?: (fixtures: BadInputFixtures) => string[];
  /** For CLI-only rows: what the CLI's one line must mention. */
  readonly cliMessage?: RegExp;
}

/** Copies the tiny fixture folder to a fresh folder and applies `mutate` to the copy. */
function brokenCopy(
  fixtures: BadInputFixtures,
  name: string,
  mutate: (dir: string) => void,
): string {
  const dir = join(fixtures.work, name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(fixtures.tinyFolder, dir, { recursive: true });
  mutate(dir);
  return dir;
}

function editJson(
  file: string,
  edit: (value: Record<string, unknown>) => Record<string, unknown>,
): void {
  writeFileSync(
    file,
    JSON.stringify(edit(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)),
  );
}

/** Replaces every occurrence of `from` by `to` (same length) in a binary file. */
function replaceBytes(file: string, from: string, to: string): void {
  const bytes = readFileSync(file);
  const needle = Buffer.from(from);
  const replacement = Buffer.from(to);
  if (needle.length !== replacement.length) throw new Error('replaceBytes keeps lengths');
  let at = bytes.indexOf(needle);
  if (at < 0) throw new Error(`"${from}" is not in ${file}`);
  for (; at >= 0; at = bytes.indexOf(needle, at + 1)) replacement.copy(bytes, at);
  writeFileSync(file, bytes);
}

/**
 * Declares every `past_key_values.*` graph input as float64 instead of float32: in the ValueInfoProto the
 * name (field 1) is followed by its TypeProto (field 2) → tensor_type (field 1) → elem_type (field 1, varint).
 */
function declareKvAsDouble(file: string): void {
  const bytes = readFileSync(file);
  let patched = 0;
  for (
    let at = bytes.indexOf('past_key_values.');
    at >= 0;
    at = bytes.indexOf('past_key_values.', at + 1)
  ) {
    let end = at;
    while (end < bytes.length && bytes[end] >= 0x20 && bytes[end] < 0x7f) end++;
    // 0x12 len 0x0a len 0x08 <elem_type>
    if (
      bytes[end] === 0x12 &&
      bytes[end + 2] === 0x0a &&
      bytes[end + 4] === 0x08 &&
      bytes[end + 5] === 1
    ) {
      bytes[end + 5] = 11; // DOUBLE
      patched++;
    }
  }
  if (patched === 0) throw new Error(`no past_key_values inputs found in ${file}`);
  writeFileSync(file, bytes);
}

async function generate(
  fixtures: BadInputFixtures,
  prompt: Parameters<ReturnType<typeof createDecoder>['generate']>[0],
  options: GenerateOptions,
): Promise<unknown> {
  return createDecoder({ model: fixtures.model }).generate(prompt, options);
}

const generateCli = (fixtures: BadInputFixtures, ...args: string[]): string[] => [
  'generate',
  '--model',
  fixtures.storiesFolder,
  '--max-tokens',
  '4',
  ...args,
];

function writeFile(fixtures: BadInputFixtures, name: string, content: string | Uint8Array): string {
  const file = join(fixtures.work, name);
  writeFileSync(file, content);
  return file;
}

/** A loaded model whose sequences run `onForward` before each forward (to act at an exact moment). */
function instrumented(model: LoadedModel, onForward: (rows: number) => void): LoadedModel {
  return {
    ...model,
    info: model.info,
    capabilities: model.capabilities,
    tokenizer: model.tokenizer,
    createSequence(): Sequence {
      const inner = model.createSequence();
      const sequence: Sequence = {
        get tokens() {
          return inner.tokens;
        },
        forward(input, options) {
          onForward(input.tokens.length);
          return inner.forward(input, options);
        },
        commit: rows => inner.commit(rows),
        truncate: length => inner.truncate(length),
        fork: () => inner.fork(),
        dispose: () => inner.dispose(),
      };
      return sequence;
    },
    dispose: () => model.dispose(),
  };
}

async function collect(events: AsyncIterable<DecodeEvent>): Promise<DecodeEvent[]> {
  const all: DecodeEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

/** Numeric options of `generate()`: the values each must reject (out of range, NaN, ±Infinity, fractions). */
const numericOptions: {
  option: keyof GenerateOptions;
  flag?: string;
  values: number[];
  sampling?: boolean;
}[] = [
  {
    option: 'maxTokens',
    flag: '--max-tokens',
    values: [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY],
  },
  {
    option: 'temperature',
    flag: '--temperature',
    values: [-1, Number.NaN, Number.POSITIVE_INFINITY],
  },
  { option: 'topP', flag: '--top-p', values: [0, 1.5, -1, Number.NaN], sampling: true },
  { option: 'topK', flag: '--top-k', values: [-1, 2.5, Number.NaN], sampling: true },
  { option: 'minP', flag: '--min-p', values: [1.5, -0.1, Number.NaN], sampling: true },
  { option: 'typicalP', values: [0, 1.5, Number.NaN], sampling: true },
  {
    option: 'repetitionPenalty',
    flag: '--repetition-penalty',
    values: [0, -1, Number.NaN, Number.POSITIVE_INFINITY],
  },
  { option: 'presencePenalty', values: [Number.NaN, Number.POSITIVE_INFINITY] },
  { option: 'frequencyPenalty', values: [Number.NaN, Number.NEGATIVE_INFINITY] },
  { option: 'noRepeatNgramSize', flag: '--ban-repeated-ngrams', values: [0, 2.5, Number.NaN] },
  { option: 'seed', flag: '--seed', values: [1.5, Number.NaN, Number.POSITIVE_INFINITY] },
];

const optionCases: BadInputCase[] = numericOptions.flatMap(({ option, flag, values, sampling }) =>
  values.map(value => {
    const shown = String(value);
    // The CLI's number parser rejects NaN/Infinity itself (naming the flag); finite values reach the API check.
    const finite = Number.isFinite(value);
    return {
      id: `option-${option}-${shown.toLowerCase()}`,
      area: 'options' as const,
      input: `\`${option}: ${shown}\``,
      outcome: 'InvalidArgumentError' as const,
      argument: option,
      api: (fixtures: BadInputFixtures) =>
        generate(fixtures, 'Once', {
          maxTokens: 4,
          ...(sampling ? { temperature: 1 } : {}),
          [option]: value,
        }),
      cli: flag
        ? (fixtures: BadInputFixtures) =>
            generateCli(fixtures, ...(sampling ? ['--temperature', '1'] : []), flag, shown)
        : undefined,
      cliMessage: finite ? new RegExp(option) : new RegExp(`${flag}.*expected a number`),
    } satisfies BadInputCase;
  }),
);

/** Strategy factory options: NaN, ±Infinity and negative values fail when the strategy is made. */
const strategyOptions: { option: string; make: (value: number) => unknown }[] = [
  { option: 'budget', make: value => speculative({ drafter: tokenRecycling(), budget: value }) },
  { option: 'topK', make: value => tokenRecycling({ topK: value }) },
  { option: 'numSpeculativeTokens', make: value => promptLookup({ numSpeculativeTokens: value }) },
];
const strategyOptionCases: BadInputCase[] = strategyOptions.flatMap(({ option, make }) =>
  [Number.NaN, Number.NEGATIVE_INFINITY, -1].map(value => ({
    id: `strategy-${option}-${String(value).toLowerCase()}`,
    area: 'options' as const,
    input: `strategy option \`${option}: ${value}\``,
    outcome: 'InvalidArgumentError' as const,
    argument: option,
    api: async () => make(value),
  })),
);

/** Every bad input decodekit knows, with its outcome. */
export const BAD_INPUTS: readonly BadInputCase[] = [
  // ——— model folders ———
  {
    id: 'folder-missing',
    area: 'model folder',
    input: 'a model folder path that does not exist',
    outcome: 'ModelNotFoundError',
    message: /no-such-folder/,
    api: fixtures => loadModel(join(fixtures.work, 'no-such-folder'), { cacheDir: fixtures.cache }),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'no-such-folder')],
  },
  {
    id: 'folder-is-a-file',
    area: 'model folder',
    input: 'a file given where a model folder goes',
    outcome: 'ModelFormatError',
    message: /folder/,
    api: fixtures => createCpuBackend().load(join(fixtures.storiesFolder, 'config.json')),
    cli: fixtures => ['generate', '--model', join(fixtures.storiesFolder, 'config.json')],
  },
  {
    id: 'onnx-missing',
    area: 'model folder',
    input: 'a folder without `onnx/model.onnx`',
    outcome: 'ModelFormatError',
    message: /model\.onnx/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'no-onnx', dir => rmSync(join(dir, 'onnx'), { recursive: true })),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'no-onnx')],
  },
  {
    id: 'onnx-corrupt',
    area: 'model folder',
    input: '`onnx/model.onnx` that is not a protobuf',
    outcome: 'ModelFormatError',
    message: /model\.onnx/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'corrupt', dir =>
          writeFileSync(join(dir, 'onnx/model.onnx'), 'this is not a protobuf'),
        ),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'corrupt')],
  },
  {
    id: 'onnx-empty',
    area: 'model folder',
    input: 'an empty (0-byte) `onnx/model.onnx`',
    outcome: 'ModelFormatError',
    message: /model\.onnx/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'empty-onnx', dir => writeFileSync(join(dir, 'onnx/model.onnx'), '')),
      ),
  },
  {
    id: 'onnx-truncated',
    area: 'model folder',
    input: '`onnx/model.onnx` cut in half (truncated weights)',
    outcome: 'ModelFormatError',
    message: /model\.onnx/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'truncated-onnx', dir => {
          const file = join(dir, 'onnx/model.onnx');
          truncateSync(file, Math.floor(readFileSync(file).length / 2));
        }),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'truncated-onnx')],
  },
  {
    id: 'onnx-trailing-garbage',
    area: 'model folder',
    input: '`onnx/model.onnx` with garbage appended',
    outcome: 'ModelFormatError',
    message: /model\.onnx/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'garbage-onnx', dir =>
          appendFileSync(join(dir, 'onnx/model.onnx'), Buffer.alloc(64, 0xff)),
        ),
      ),
  },
  {
    id: 'graph-unknown-input',
    area: 'model folder',
    input: 'a graph with an input decodekit does not know (`attention_mask` renamed)',
    outcome: 'ModelFormatError',
    message: /attention_musk/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'unknown-input', dir =>
          replaceBytes(join(dir, 'onnx/model.onnx'), 'attention_mask', 'attention_musk'),
        ),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'unknown-input')],
  },
  {
    id: 'graph-kv-dtype',
    area: 'model folder',
    input: 'a graph whose KV cache inputs are float64',
    outcome: 'ModelFormatError',
    message: /past_key_values|double|type/i,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'kv-double', dir => declareKvAsDouble(join(dir, 'onnx/model.onnx'))),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'kv-double')],
  },
  {
    id: 'config-missing',
    area: 'model folder',
    input: 'a folder without `config.json`',
    outcome: 'ModelFormatError',
    message: /config\.json/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'no-config', dir => rmSync(join(dir, 'config.json'))),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'no-config')],
  },
  {
    id: 'config-not-json',
    area: 'model folder',
    input: '`config.json` that is not JSON',
    outcome: 'ModelFormatError',
    message: /config\.json/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'config-not-json', dir =>
          writeFileSync(join(dir, 'config.json'), '{ "vocab_size": '),
        ),
      ),
  },
  {
    id: 'config-vocab-mismatch',
    area: 'model folder',
    input: '`config.json` whose `vocab_size` disagrees with the graph',
    outcome: 'ModelFormatError',
    message: /vocab/i,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'vocab-mismatch', dir =>
          editJson(join(dir, 'config.json'), config => ({ ...config, vocab_size: 7 })),
        ),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'vocab-mismatch')],
  },
  {
    id: 'config-vocab-graph-mismatch',
    area: 'model folder',
    input: "`config.json` whose `vocab_size` fits the tokenizer but not the graph's logits",
    outcome: 'ModelFormatError',
    message: /vocab_size is 40 but the logits of onnx\/model\.onnx have 32 columns/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'vocab-graph-mismatch', dir =>
          editJson(join(dir, 'config.json'), config => ({ ...config, vocab_size: 40 })),
        ),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'vocab-graph-mismatch')],
  },
  {
    id: 'config-layers-mismatch',
    area: 'model folder',
    input: '`config.json` whose `num_hidden_layers` disagrees with the graph',
    outcome: 'ModelFormatError',
    message: /num_hidden_layers/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'layers-mismatch', dir =>
          editJson(join(dir, 'config.json'), config => ({ ...config, num_hidden_layers: 9 })),
        ),
      ),
  },
  {
    id: 'config-field-missing',
    area: 'model folder',
    input: '`config.json` without `vocab_size`',
    outcome: 'ModelFormatError',
    message: /vocab_size/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'config-no-vocab', dir =>
          editJson(join(dir, 'config.json'), ({ vocab_size: _dropped, ...config }) => config),
        ),
      ),
  },
  {
    id: 'checkpoint-truncated',
    area: 'model folder',
    input: 'a truncated llama2.c checkpoint (`convert`)',
    outcome: 'ModelFormatError',
    message: /bytes/,
    api: async fixtures => {
      const source = join(fixtures.work, 'truncated-src');
      mkdirSync(source, { recursive: true });
      const stories = join(fixtures.mirror, 'karpathy/tinyllamas/stories260K');
      copyFileSync(join(stories, 'stories260K.bin'), join(source, 'model.bin'));
      copyFileSync(join(stories, 'tok512.bin'), join(source, 'tok512.bin'));
      truncateSync(join(source, 'model.bin'), 500_000);
      return convertLlama2cToFolder(
        join(source, 'model.bin'),
        join(source, 'tok512.bin'),
        join(fixtures.work, 'truncated-out'),
      );
    },
    cli: fixtures => [
      'convert',
      join(fixtures.work, 'truncated-src/model.bin'),
      '--tokenizer',
      join(fixtures.work, 'truncated-src/tok512.bin'),
      '--out',
      join(fixtures.work, 'truncated-out-cli'),
    ],
  },
  {
    id: 'checkpoint-missing',
    area: 'model folder',
    input: 'a llama2.c checkpoint path that does not exist (`convert`)',
    outcome: 'ModelNotFoundError',
    message: /nothing(-tok)?\.bin/,
    api: fixtures =>
      convertLlama2cToFolder(
        join(fixtures.work, 'nothing.bin'),
        join(fixtures.work, 'nothing-tok.bin'),
        join(fixtures.work, 'nothing-out'),
      ),
    cli: fixtures => [
      'convert',
      join(fixtures.work, 'nothing.bin'),
      '--tokenizer',
      join(fixtures.work, 'nothing-tok.bin'),
      '--out',
      join(fixtures.work, 'nothing-out'),
    ],
  },
  {
    id: 'plain-export-tree',
    area: 'model folder',
    input: 'a tree forward on a plain export (no attention-bias input)',
    outcome: 'UnsupportedCapabilityError',
    message: /plain/,
    api: async fixtures => {
      const plainFolder = join(fixtures.work, 'plain');
      const stories = join(fixtures.mirror, 'karpathy/tinyllamas/stories260K');
      await convertLlama2cToFolder(
        join(stories, 'stories260K.bin'),
        join(stories, 'tok512.bin'),
        plainFolder,
        { plain: true },
      );
      const plain = await createCpuBackend().load(plainFolder);
      try {
        if (plain.capabilities.tree)
          throw new Error('a plain export must not report tree capability');
        return await plain
          .createSequence()
          .forward({ tokens: Int32Array.from([1, 2, 3]), parents: Int32Array.from([-1, 0, 0]) });
      } finally {
        await plain.dispose();
      }
    },
  },
  {
    id: 'hub-offline-uncached',
    area: 'model folder',
    input: 'a hub id, offline, in no cache or mirror',
    outcome: 'ModelNotFoundError',
    message: /Looked in/,
    api: fixtures =>
      resolveModel('karpathy/tinyllamas/stories260K', {
        cacheDir: join(fixtures.work, 'empty-cache'),
        mirrors: [],
        offline: true,
      }),
  },
  {
    id: 'hub-unknown',
    area: 'model folder',
    input: 'an unknown hub id',
    outcome: 'ModelNotFoundError',
    message: /nobody\/nothing/,
    api: fixtures =>
      resolveModel('nobody/nothing', {
        cacheDir: join(fixtures.work, 'empty-cache'),
        mirrors: [fixtures.mirror],
        offline: true,
      }),
  },
  // ——— tokenizer files ———
  {
    id: 'tokenizer-unknown-model',
    area: 'tokenizer',
    input: '`tokenizer.json` with an unknown model type',
    outcome: 'ModelFormatError',
    message: /tokenizer/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'odd-tokenizer', dir =>
          writeFileSync(
            join(dir, 'tokenizer.json'),
            JSON.stringify({ version: '1.0', model: { type: 'NoSuchModel' } }),
          ),
        ),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'odd-tokenizer')],
  },
  {
    id: 'tokenizer-not-json',
    area: 'tokenizer',
    input: '`tokenizer.json` that is not JSON',
    outcome: 'ModelFormatError',
    message: /tokenizer\.json/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'tokenizer-not-json', dir =>
          writeFileSync(join(dir, 'tokenizer.json'), '{"model": {'),
        ),
      ),
  },
  {
    id: 'tokenizer-missing',
    area: 'tokenizer',
    input: 'a folder without `tokenizer.json`',
    outcome: 'ModelFormatError',
    message: /tokenizer\.json/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'no-tokenizer', dir => rmSync(join(dir, 'tokenizer.json'))),
      ),
    cli: fixtures => ['generate', '--model', join(fixtures.work, 'no-tokenizer')],
  },
  {
    id: 'tokenizer-too-large',
    area: 'tokenizer',
    input:
      "a `tokenizer.json` with more tokens than the model's vocabulary (another model's tokenizer)",
    outcome: 'ModelFormatError',
    message: /does not belong/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'foreign-tokenizer', dir =>
          copyFileSync(join(fixtures.storiesFolder, 'tokenizer.json'), join(dir, 'tokenizer.json')),
        ),
      ),
  },
  {
    id: 'tokenizer-config-not-json',
    area: 'tokenizer',
    input: '`tokenizer_config.json` that is not JSON',
    outcome: 'ModelFormatError',
    message: /tokenizer_config\.json/,
    api: fixtures =>
      createCpuBackend().load(
        brokenCopy(fixtures, 'tokenizer-config-not-json', dir =>
          writeFileSync(join(dir, 'tokenizer_config.json'), '{'),
        ),
      ),
  },
  // ——— numeric options ———
  ...optionCases,
  {
    id: 'strategy-option-huge',
    area: 'options',
    input:
      'a strategy option far beyond any useful size (`promptLookup({ maxNgramSize: 1e9 })`, which would exhaust memory)',
    outcome: 'InvalidArgumentError',
    argument: 'maxNgramSize',
    api: async () => promptLookup({ maxNgramSize: 1e9 }),
    cli: fixtures => generateCli(fixtures, '--strategy', 'prompt-lookup:maxNgramSize=1000000000'),
    cliMessage: /maxNgramSize/,
  },
  ...strategyOptionCases,
  // ——— prompts and stop strings ———
  {
    id: 'prompt-empty-tokens',
    area: 'prompt',
    input: 'an empty token prompt `{ tokens: [] }`',
    outcome: 'InvalidArgumentError',
    argument: 'prompt',
    api: fixtures => generate(fixtures, { tokens: [] }, { maxTokens: 4 }),
  },
  {
    id: 'prompt-empty-text-no-bos',
    area: 'prompt',
    input: 'an empty text prompt with `addSpecialTokens: false` (nothing to continue)',
    outcome: 'InvalidArgumentError',
    argument: 'prompt',
    api: fixtures => generate(fixtures, '', { maxTokens: 4, addSpecialTokens: false }),
  },
  {
    id: 'prompt-token-out-of-vocab',
    area: 'prompt',
    input: 'a token id outside the vocabulary',
    outcome: 'InvalidArgumentError',
    argument: 'prompt',
    message: /outside the vocabulary/,
    api: fixtures => generate(fixtures, { tokens: [1, 99_999] }, { maxTokens: 4 }),
  },
  {
    id: 'prompt-not-a-prompt',
    area: 'prompt',
    input: 'a number where the prompt goes',
    outcome: 'InvalidArgumentError',
    argument: 'prompt',
    api: fixtures => generate(fixtures, 42 as unknown as string, { maxTokens: 4 }),
  },
  {
    id: 'prompt-over-long',
    area: 'prompt',
    input: "a prompt longer than the model's context",
    outcome: 'ContextLengthError',
    message: /Shorten the prompt/,
    api: fixtures =>
      generate(fixtures, { tokens: Array.from({ length: 600 }, () => 300) }, { maxTokens: 4 }),
    cli: fixtures =>
      generateCli(
        fixtures,
        '--prompt-file',
        writeFile(fixtures, 'long-prompt.txt', 'Once upon a time there was a cat. '.repeat(120)),
      ),
  },
  {
    id: 'prompt-lone-surrogate',
    area: 'prompt',
    input: 'a text prompt with a lone UTF-16 surrogate (invalid Unicode)',
    outcome: 'InvalidArgumentError',
    message: /surrogate/,
    api: fixtures => generate(fixtures, 'Once upon \uD800 a time', { maxTokens: 4 }),
  },
  {
    id: 'prompt-file-invalid-utf8',
    area: 'prompt',
    input: 'a `--prompt-file` with invalid UTF-8 bytes',
    outcome: 'InvalidArgumentError',
    argument: '--prompt-file',
    cli: fixtures =>
      generateCli(
        fixtures,
        '--prompt-file',
        writeFile(
          fixtures,
          'latin1.txt',
          Uint8Array.from([0x4f, 0x6e, 0x63, 0x65, 0xff, 0xfe, 0x20]),
        ),
      ),
    cliMessage: /not valid UTF-8/,
  },
  {
    id: 'prompt-file-missing',
    area: 'prompt',
    input: 'a `--prompt-file` that does not exist',
    outcome: 'InvalidArgumentError',
    argument: '--prompt-file',
    cli: fixtures => generateCli(fixtures, '--prompt-file', join(fixtures.work, 'no-prompt.txt')),
    cliMessage: /no such file/,
  },
  {
    id: 'stop-empty',
    area: 'prompt',
    input: 'an empty stop string',
    outcome: 'InvalidArgumentError',
    argument: 'stop',
    api: fixtures => generate(fixtures, 'Once', { maxTokens: 4, stop: [''] }),
    cli: fixtures => generateCli(fixtures, '--stop', ''),
  },
  {
    id: 'stop-lone-surrogate',
    area: 'prompt',
    input: 'a stop string with a lone UTF-16 surrogate (it could never match)',
    outcome: 'InvalidArgumentError',
    argument: 'stop',
    message: /surrogate/,
    api: fixtures => generate(fixtures, 'Once', { maxTokens: 4, stop: ['end\uDC00'] }),
  },
  // ——— constraints ———
  {
    id: 'regex-invalid',
    area: 'constraint',
    input: 'a regular expression that does not parse, `(`',
    outcome: 'InvalidArgumentError',
    argument: 'pattern',
    api: async fixtures => regex('(', { tokenizer: fixtures.model.tokenizer }),
    cli: fixtures => generateCli(fixtures, '--regex', '('),
  },
  {
    id: 'regex-unsupported',
    area: 'constraint',
    input: 'a regular expression with a backreference, `(a)\\1`',
    outcome: 'InvalidArgumentError',
    message: /backreference/,
    api: async fixtures => regex('(a)\\1', { tokenizer: fixtures.model.tokenizer }),
    cli: fixtures => generateCli(fixtures, '--regex', '(a)\\1'),
  },
  {
    id: 'regex-unsatisfiable',
    area: 'constraint',
    input: 'a regular expression that matches nothing, `[^\\s\\S]`',
    outcome: 'InvalidArgumentError',
    message: /no finite string.*empty character class/,
    api: async fixtures => regex('[^\\s\\S]', { tokenizer: fixtures.model.tokenizer }),
  },
  {
    id: 'regex-nested-quantifiers',
    area: 'constraint',
    input:
      'a nested-quantifier regular expression, `(a+)+b` (catastrophic for backtracking engines)',
    outcome: 'ok',
    api: async fixtures => {
      const start = performance.now();
      const { text } = await createDecoder({ model: fixtures.model })
        .use(regex('(a+)+b', { tokenizer: fixtures.model.tokenizer, maxTokens: 12 }))
        .generate('Once', { maxTokens: 12 });
      if (!/^(a+)+b$/.test(text)) throw new Error(`output "${text}" does not match /(a+)+b/`);
      if (performance.now() - start > 5_000) throw new Error('took longer than 5 s');
      return text;
    },
  },
  {
    id: 'schema-invalid',
    area: 'constraint',
    input: 'a JSON Schema with an unknown type',
    outcome: 'InvalidArgumentError',
    message: /nonsense/,
    api: async fixtures =>
      jsonSchema({ type: 'nonsense' } as never, { tokenizer: fixtures.model.tokenizer }),
    cli: fixtures =>
      generateCli(
        fixtures,
        '--json-schema',
        writeFile(fixtures, 'bad-schema.json', JSON.stringify({ type: 'nonsense' })),
      ),
  },
  {
    id: 'schema-unsupported',
    area: 'constraint',
    input: 'a JSON Schema with an unsupported keyword (`patternProperties`)',
    outcome: 'InvalidArgumentError',
    message: /patternProperties/,
    api: async fixtures =>
      jsonSchema({ type: 'object', patternProperties: { '^a': { type: 'string' } } } as never, {
        tokenizer: fixtures.model.tokenizer,
      }),
  },
  {
    id: 'schema-unsatisfiable',
    area: 'constraint',
    input: 'an unsatisfiable JSON Schema (`minLength` 5 > `maxLength` 2)',
    outcome: 'InvalidArgumentError',
    api: async fixtures =>
      jsonSchema(
        { type: 'string', minLength: 5, maxLength: 2 },
        { tokenizer: fixtures.model.tokenizer },
      ),
  },
  {
    id: 'schema-budget-too-small',
    area: 'constraint',
    input: 'a JSON Schema whose shortest output does not fit `maxTokens`',
    outcome: 'InvalidArgumentError',
    argument: 'maxTokens',
    message: /raise maxTokens/,
    api: async fixtures =>
      jsonSchema(
        {
          type: 'object',
          properties: { name: { type: 'string', minLength: 30 } },
          required: ['name'],
        },
        { tokenizer: fixtures.model.tokenizer, maxTokens: 3 },
      ),
    cli: fixtures => [
      ...generateCli(
        fixtures,
        '--json-schema',
        writeFile(
          fixtures,
          'long-schema.json',
          JSON.stringify({
            type: 'object',
            properties: { name: { type: 'string', minLength: 30 } },
            required: ['name'],
          }),
        ),
      ),
      '--max-tokens',
      '3',
    ],
  },
  {
    id: 'schema-file-not-json',
    area: 'constraint',
    input: 'a `--json-schema` file that is not JSON',
    outcome: 'InvalidArgumentError',
    argument: '--json-schema',
    cli: fixtures =>
      generateCli(
        fixtures,
        '--json-schema',
        writeFile(fixtures, 'schema-not-json.json', '{ "type": '),
      ),
    cliMessage: /not valid JSON/,
  },
  {
    id: 'schema-file-missing',
    area: 'constraint',
    input: 'a `--json-schema` file that does not exist',
    outcome: 'InvalidArgumentError',
    argument: '--json-schema',
    cli: fixtures => generateCli(fixtures, '--json-schema', join(fixtures.work, 'no-schema.json')),
    cliMessage: /no such file/,
  },
  {
    id: 'grammar-invalid',
    area: 'constraint',
    input: 'a GBNF grammar that does not parse',
    outcome: 'InvalidArgumentError',
    argument: 'grammar',
    api: async fixtures =>
      grammar('root ::= "unterminated', { tokenizer: fixtures.model.tokenizer }),
    cli: fixtures =>
      generateCli(fixtures, '--grammar', writeFile(fixtures, 'bad.gbnf', 'root ::= "unterminated')),
  },
  {
    id: 'grammar-left-recursive',
    area: 'constraint',
    input: 'a left-recursive grammar, `root ::= root "a" | "b"`',
    outcome: 'InvalidArgumentError',
    message: /left-recursive/,
    api: async fixtures =>
      grammar('root ::= root "a" | "b"', { tokenizer: fixtures.model.tokenizer }),
  },
  {
    id: 'grammar-undefined-rule',
    area: 'constraint',
    input: 'a grammar that uses an undefined rule',
    outcome: 'InvalidArgumentError',
    message: /missing/,
    api: async fixtures => grammar('root ::= "a" missing', { tokenizer: fixtures.model.tokenizer }),
  },
  {
    id: 'grammar-infinite',
    area: 'constraint',
    input: 'a grammar with no finite string, `root ::= "a" root`',
    outcome: 'InvalidArgumentError',
    message: /no finite string/,
    api: async fixtures => grammar('root ::= "a" root', { tokenizer: fixtures.model.tokenizer }),
  },
  // ——— abort ———
  {
    id: 'abort-before',
    area: 'abort',
    input: 'a signal aborted before `generate()`',
    outcome: 'AbortedError',
    api: fixtures =>
      generate(fixtures, 'Once', { maxTokens: 8, signal: AbortSignal.abort('early') }),
  },
  {
    id: 'abort-during-prefill',
    area: 'abort',
    input: 'a signal aborted while the prompt is prefilled',
    outcome: 'AbortedError',
    api: fixtures => {
      const controller = new AbortController();
      const model = instrumented(fixtures.model, rows => {
        if (rows > 1) controller.abort('during prefill');
      });
      return createDecoder({ model }).generate('Once upon a time there was a little girl', {
        maxTokens: 8,
        signal: controller.signal,
      });
    },
  },
  {
    id: 'abort-during-decode',
    area: 'abort',
    input: 'a signal aborted after 10 streamed tokens',
    outcome: 'AbortedError',
    api: async fixtures => {
      const controller = new AbortController();
      let seen = 0;
      for await (const event of createDecoder({ model: fixtures.model }).stream(
        'Once upon a time',
        { maxTokens: 400, signal: controller.signal },
      )) {
        if (event.type === 'token' && ++seen === 10) controller.abort('user stop');
      }
    },
  },
  {
    id: 'abort-after-done',
    area: 'abort',
    input: 'a signal aborted after `generate()` resolved',
    outcome: 'ok',
    api: async fixtures => {
      const controller = new AbortController();
      const result = await generate(fixtures, 'Once', { maxTokens: 8, signal: controller.signal });
      controller.abort('too late');
      const again = await generate(fixtures, 'Once', { maxTokens: 8 });
      if (
        JSON.stringify((result as { tokens: number[] }).tokens) !==
        JSON.stringify((again as { tokens: number[] }).tokens)
      ) {
        throw new Error('a late abort changed the result');
      }
      return result;
    },
  },
  // ——— dispose ———
  {
    id: 'dispose-model-before',
    area: 'dispose',
    input: 'a disposed model passed to a decoder',
    outcome: 'DisposedError',
    api: async fixtures => {
      const doomed = await createCpuBackend().load(fixtures.storiesFolder);
      await doomed.dispose();
      return createDecoder({ model: doomed }).generate('Once');
    },
  },
  {
    id: 'dispose-sequence',
    area: 'dispose',
    input: 'a forward on a disposed sequence',
    outcome: 'DisposedError',
    api: async fixtures => {
      const sequence = fixtures.model.createSequence();
      sequence.dispose();
      return sequence.forward({ tokens: Int32Array.from([1]) });
    },
  },
  {
    id: 'dispose-mid-generation',
    area: 'dispose',
    input: 'a model disposed while a generation runs',
    outcome: 'DisposedError',
    api: async fixtures => {
      const doomed = await createCpuBackend().load(fixtures.storiesFolder);
      let seen = 0;
      for await (const event of createDecoder({ model: doomed }).stream('Once upon a time', {
        maxTokens: 200,
      })) {
        if (event.type === 'token' && ++seen === 5) void doomed.dispose();
      }
    },
  },
  {
    id: 'dispose-twice',
    area: 'dispose',
    input: '`dispose()` called twice on a model and on a sequence',
    outcome: 'ok',
    api: async fixtures => {
      const model = await createCpuBackend().load(fixtures.storiesFolder);
      const sequence = model.createSequence();
      sequence.dispose();
      sequence.dispose();
      await model.dispose();
      await model.dispose();
    },
  },
  // ——— draft models ———
  {
    id: 'draft-other-vocabulary',
    area: 'draft model',
    input: "a draft model with another vocabulary than the target's",
    outcome: 'VocabMismatchError',
    message: /vocabulary/,
    cli: fixtures =>
      generateCli(fixtures, '--strategy', 'draft-model', '--draft-model', fixtures.tinyFolder),
    api: async fixtures => {
      const draft = await createCpuBackend().load(fixtures.tinyFolder);
      try {
        return await createDecoder({ model: fixtures.model })
          .use(speculative({ drafter: draftModel({ model: draft }) }))
          .generate('Once', { maxTokens: 8 });
      } finally {
        await draft.dispose();
      }
    },
  },
  {
    id: 'draft-short-context',
    area: 'draft model',
    input: 'a draft model whose context is shorter than the prompt',
    outcome: 'warning',
    message: /context of 16 tokens.*drafts nothing/,
    api: async fixtures => {
      const draft = await createCpuBackend().load(fixtures.shortContextFolder);
      try {
        const prompt =
          'Once upon a time there was a little girl named Lily. She liked to play outside in the sun.';
        const events = await collect(
          createDecoder({ model: fixtures.model })
            .use(speculative({ drafter: draftModel({ model: draft }) }))
            .stream(prompt, { maxTokens: 16 }),
        );
        const plain = await generate(fixtures, prompt, { maxTokens: 16 });
        const done = events.at(-1) as Extract<DecodeEvent, { type: 'done' }>;
        if (JSON.stringify(done.tokens) !== JSON.stringify((plain as { tokens: number[] }).tokens))
          throw new Error('output differs from AR');
        return events;
      } finally {
        await draft.dispose();
      }
    },
  },
  // ——— command line only ———
  {
    id: 'cli-unknown-strategy',
    area: 'command line',
    input: '`--strategy` with an unknown name',
    outcome: 'InvalidArgumentError',
    cli: fixtures => generateCli(fixtures, '--strategy', 'warp-drive'),
    cliMessage: /warp-drive/,
  },
  {
    id: 'cli-strategy-syntax',
    area: 'command line',
    input: '`--strategy` options without `key=value`',
    outcome: 'InvalidArgumentError',
    cli: fixtures => generateCli(fixtures, '--strategy', 'token-recycling:budget'),
    cliMessage: /key=value/,
  },
  {
    id: 'cli-strategy-option-range',
    area: 'command line',
    input: '`--strategy` with an out-of-range option (`token-recycling:budget=-1`)',
    outcome: 'InvalidArgumentError',
    cli: fixtures => generateCli(fixtures, '--strategy', 'token-recycling:budget=-1'),
    cliMessage: /budget/,
  },
  {
    id: 'cli-unknown-backend',
    area: 'command line',
    input: '`--backend` with an unknown name',
    outcome: 'InvalidArgumentError',
    cli: fixtures => generateCli(fixtures, '--backend', 'abacus'),
    cliMessage: /abacus/,
  },
  {
    id: 'cli-not-a-number',
    area: 'command line',
    input: 'a numeric flag given text (`--max-tokens many`)',
    outcome: 'InvalidArgumentError',
    cli: fixtures => ['generate', '--model', fixtures.storiesFolder, '--max-tokens', 'many'],
    cliMessage: /--max-tokens.*expected a number/,
  },
  {
    id: 'cli-unknown-flag',
    area: 'command line',
    input: 'an unknown flag (`--tempreature`)',
    outcome: 'InvalidArgumentError',
    cli: fixtures => generateCli(fixtures, '--tempreature', '1'),
    cliMessage: /unknown option/,
  },
  {
    id: 'cli-unknown-command',
    area: 'command line',
    input: 'an unknown command (`decodekit generat`)',
    outcome: 'InvalidArgumentError',
    cli: () => ['generat'],
    cliMessage: /unknown command/,
  },
  {
    id: 'cli-prompt-twice',
    area: 'command line',
    input: '`--prompt` and `--prompt-file` together',
    outcome: 'InvalidArgumentError',
    cli: fixtures =>
      generateCli(
        fixtures,
        '--prompt',
        'a',
        '--prompt-file',
        join(fixtures.work, 'long-prompt.txt'),
      ),
    cliMessage: /not both/,
  },
  {
    id: 'cli-format',
    area: 'command line',
    input: '`--format` other than text or json',
    outcome: 'InvalidArgumentError',
    cli: fixtures => generateCli(fixtures, '--format', 'xml'),
    cliMessage: /xml/,
  },
];

/** What each outcome means, for docs/errors.md. */
export const OUTCOME_DESCRIPTIONS: Readonly<Record<Outcome, string>> = {
  InvalidArgumentError:
    'An argument or option is invalid: out of range, NaN or Infinity, malformed text, an unparsable or unsupported constraint. `error.argument` names it. On the command line, usage errors (unknown flags and commands) are reported the same way.',
  ModelNotFoundError:
    'No model at the given path, or a hub id found in no cache, mirror or (offline) download. The message lists every place looked at.',
  ModelFormatError:
    'A model folder, checkpoint, graph or tokenizer file is missing, damaged or inconsistent. `error.path` names the file; the message says what disagrees and what to do.',
  ContextLengthError: "The prompt (plus one new token) does not fit the model's context.",
  AbortedError: "The generation's AbortSignal fired, before, during or after the prompt's prefill.",
  DisposedError: 'A model or sequence was used after `dispose()`.',
  VocabMismatchError: "A draft model does not use the target's token ids.",
  UnsupportedCapabilityError:
    'The model cannot do what was asked (e.g. tree attention on a plain export).',
  ConstraintDeadEndError: 'Constrained decoding reached a state where no token is allowed.',
  warning:
    'Not an error: a `{ type: "warning", code, message }` event in `decoder.stream()`, sent once per generation, for input that works but not as the user likely expects.',
  ok: 'Not an error: the input is handled correctly (checked by the suite).',
};

/** docs/errors.md, rendered from {@link BAD_INPUTS}. */
export function renderErrorsDoc(cases: readonly BadInputCase[] = BAD_INPUTS): string {
  const lines = [
    '# Errors and bad inputs',
    '',
    '<!-- Generated from packages/cli/src/bad-inputs.table.ts; packages/cli/src/bad-inputs.int.test.ts checks it.',
    '     Regenerate: DECODEKIT_WRITE_ERRORS_DOC=1 pnpm vitest run packages/cli/src/bad-inputs.int.test.ts -->',
    '',
    'Every error decodekit throws on purpose is a `DecodingError` subclass from `@decodekit/core` (the',
    'constraint errors come from `@decodekit/strategy-constrained`). Check them with `XError.isInstance(error)`,',
    'which works across duplicate installs. The command line prints the message as one line on stderr',
    '(`decodekit: ...`), without a stack, and exits with code 2; an unexpected failure (a bug) exits with 1.',
    '',
    `The table below is the test suite's table: ${cases.length} bad inputs, each run through the API and,`,
    'where the command line takes that input, through `decodekit` too.',
    '',
  ];
  const outcomes = [...new Set(cases.map(row => row.outcome))];
  for (const outcome of outcomes) {
    lines.push(
      `## ${outcome === 'ok' || outcome === 'warning' ? `No error: ${outcome}` : outcome}`,
      '',
      OUTCOME_DESCRIPTIONS[outcome],
      '',
    );
    lines.push('| Area | Input | Argument | Through |', '|---|---|---|---|');
    for (const row of cases.filter(item => item.outcome === outcome)) {
      const through = [row.api ? 'API' : '', row.cli ? 'CLI' : ''].filter(Boolean).join(', ');
      lines.push(
        `| ${row.area} | ${row.input.replaceAll('|', '\\|')} | ${row.argument ? `\`${row.argument}\`` : ''} | ${through} |`,
      );
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
