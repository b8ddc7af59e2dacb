import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createDecoder,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type CausalLM,
  type Tokenizer,
} from '@decodekit/core';

/** How a training set is generated from the target. */
export interface DatasetOptions {
  /** Sequences to generate. */
  count: number;
  /** Tokens per sequence, BOS and prompt included (at most the model's context length). */
  length: number;
  /** Seed of the sampled prefixes (same seed, same data). */
  seed: number;
  /**
   * Tokens sampled at `prefixTemperature` (default 1) after BOS before the greedy continuation: they make the sequences
   * differ, and the greedy rest is what a drafter meets at T = 0. Ignored for prompts from a corpus.
   */
  sampledPrefix: number;
  /**
   * Temperature of the sampled prefix (default 1): below 1 the target writes more typical openings, above 1
   * rarer ones. Only changes the data when given (absent, the cache key is the one of earlier datasets).
   */
  prefixTemperature?: number;
  /** Prompts (text) from a corpus; sequence i starts with BOS + prompts[i % prompts.length] instead of a sampled prefix. */
  prompts?: readonly string[];
  /**
   * Temperature of the continuation after the prefix: 0 or absent (the default) is the target's greedy
   * continuation; > 0 samples it from `softmax(logits / temperature)`, seeded by `seed + count + i` (so the
   * continuation draws never repeat the prefix draws). FastDraft's alignment data at T = 0.8 uses it.
   */
  temperature?: number;
}

/** Target-generated sequences with the target's final hidden state at every position. */
export interface Dataset {
  readonly model: string;
  readonly hiddenSize: number;
  readonly options: DatasetOptions;
  /** Start of sequence i in `tokens` (and in `hidden`, in rows); offsets[count] = total rows. [count + 1] */
  readonly offsets: Int32Array;
  /** [rows] */
  readonly tokens: Int32Array;
  /** hidden[r] = final hidden state after tokens[r] (it gives the logits of token r + 1). [rows, hiddenSize] */
  readonly hidden: Float32Array;
}

function checkOptions(options: DatasetOptions, model: CausalLM): void {
  const check = (condition: boolean, argument: string, message: string) => {
    if (!condition) throw new InvalidArgumentError({ argument, message });
  };
  check(
    Number.isInteger(options.count) && options.count >= 1,
    'count',
    `must be a positive integer, got ${options.count}.`,
  );
  check(
    Number.isInteger(options.length) &&
      options.length >= 4 &&
      options.length <= model.info.contextLength,
    'length',
    `must be an integer in [4, ${model.info.contextLength}] (the context length), got ${options.length}.`,
  );
  check(Number.isSafeInteger(options.seed), 'seed', `must be an integer, got ${options.seed}.`);
  check(
    Number.isInteger(options.sampledPrefix) &&
      options.sampledPrefix >= 0 &&
      options.sampledPrefix < options.length - 1,
    'sampledPrefix',
    `must be an integer in [0, length - 2], got ${options.sampledPrefix}.`,
  );
  check(
    options.temperature === undefined ||
      (Number.isFinite(options.temperature) && options.temperature >= 0),
    'temperature',
    `must be a finite number ≥ 0, got ${options.temperature}.`,
  );
  check(
    options.prefixTemperature === undefined ||
      (Number.isFinite(options.prefixTemperature) && options.prefixTemperature > 0),
    'prefixTemperature',
    `must be a finite number > 0, got ${options.prefixTemperature}.`,
  );
}

/**
 * Generates a training set from the target itself (the self-distillation recipe of Medusa-2 and
 * FastDraft): BOS, then `sampledPrefix` tokens sampled at `prefixTemperature` (default 1; seed + i) or a corpus prompt, then the
 * target's greedy continuation (or one sampled at `temperature`) up to `length` tokens (or EOS); one chain
 * forward per sequence then reads
 * the final hidden state at every position. Needs `capabilities.hiddenStates`.
 */
export async function generateDataset(
  model: CausalLM & { tokenizer?: Tokenizer },
  options: DatasetOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<Dataset> {
  checkOptions(options, model);
  if (!model.capabilities.hiddenStates) {
    throw new UnsupportedCapabilityError({
      capability: 'hiddenStates',
      backendId: model.capabilities.backendId,
      hint: 'Training data needs the final hidden states: use a model converted by decodekit (not --plain) on the onnx-cpu backend.',
    });
  }
  const bos = model.info.bosTokenId ?? 1;
  const decoder = createDecoder({ model });
  const sequences: number[][] = [];
  const hiddenRows: Float32Array[] = [];
  for (let i = 0; i < options.count; i++) {
    let prefix = [bos];
    if (options.prompts && options.prompts.length > 0) {
      if (!model.tokenizer)
        throw new InvalidArgumentError({
          argument: 'prompts',
          message: 'prompts from a corpus need a model with a tokenizer.',
        });
      prefix = [bos, ...model.tokenizer.encode(options.prompts[i % options.prompts.length])].slice(
        0,
        options.length - 1,
      );
    } else if (options.sampledPrefix > 0) {
      const sampled = await decoder.generate(
        { tokens: prefix },
        {
          maxTokens: options.sampledPrefix,
          temperature: options.prefixTemperature ?? 1,
          seed: options.seed + i,
        },
      );
      prefix = [...prefix, ...sampled.tokens];
    }
    const rest = options.length - prefix.length;
    const temperature = options.temperature ?? 0;
    const continuation =
      rest > 0
        ? await decoder.generate(
            { tokens: prefix },
            temperature > 0
              ? { maxTokens: rest, temperature, seed: options.seed + options.count + i }
              : { maxTokens: rest, temperature: 0 },
          )
        : { tokens: [] as number[] };
    const tokens = [...prefix, ...continuation.tokens];
    const sequence = model.createSequence();
    try {
      const { hidden } = await sequence.forward({ tokens: Int32Array.from(tokens), hidden: true });
      if (!hidden)
        throw new UnsupportedCapabilityError({
          capability: 'hiddenStates',
          backendId: model.capabilities.backendId,
        });
      hiddenRows.push(hidden);
    } finally {
      sequence.dispose();
    }
    sequences.push(tokens);
    onProgress?.(i + 1, options.count);
  }
  const offsets = new Int32Array(options.count + 1);
  sequences.forEach((tokens, i) => (offsets[i + 1] = offsets[i] + tokens.length));
  const hiddenSize = model.info.hiddenSize;
  const hidden = new Float32Array(offsets[options.count] * hiddenSize);
  hiddenRows.forEach((rows, i) => hidden.set(rows, offsets[i] * hiddenSize));
  return {
    model: model.info.name,
    hiddenSize,
    options,
    offsets,
    tokens: Int32Array.from(sequences.flat()),
    hidden,
  };
}

/** The cache key of a dataset: model name and every option. */
export function datasetKey(modelName: string, options: DatasetOptions): string {
  return createHash('sha256')
    .update(JSON.stringify({ modelName, ...options, prompts: options.prompts ?? null }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * `generateDataset` with a disk cache: `<cacheDir>/<key>.json` (metadata) and `<key>.bin` (offsets, tokens,
 * hidden states as little-endian int32/float32). The same model and options read the same file.
 */
export async function loadOrGenerateDataset(
  model: CausalLM & { tokenizer?: Tokenizer },
  options: DatasetOptions,
  cacheDir: string,
  onProgress?: (done: number, total: number) => void,
): Promise<{ dataset: Dataset; cached: boolean; path: string }> {
  const key = datasetKey(model.info.name, options);
  const meta = join(cacheDir, `${key}.json`);
  const data = join(cacheDir, `${key}.bin`);
  if (existsSync(meta) && existsSync(data)) {
    const header = JSON.parse(readFileSync(meta, 'utf8')) as {
      model: string;
      hiddenSize: number;
      count: number;
      rows: number;
    };
    const bytes = readFileSync(data);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const offsets = new Int32Array(buffer, 0, header.count + 1);
    const tokens = new Int32Array(buffer, (header.count + 1) * 4, header.rows);
    const hidden = new Float32Array(
      buffer,
      (header.count + 1 + header.rows) * 4,
      header.rows * header.hiddenSize,
    );
    return {
      dataset: {
        model: header.model,
        hiddenSize: header.hiddenSize,
        options,
        offsets,
        tokens,
        hidden,
      },
      cached: true,
      path: data,
    };
  }
  const dataset = await generateDataset(model, options, onProgress);
  mkdirSync(cacheDir, { recursive: true });
  const rows = dataset.tokens.length;
  const out = Buffer.alloc((options.count + 1 + rows + rows * dataset.hiddenSize) * 4);
  Buffer.from(dataset.offsets.buffer, dataset.offsets.byteOffset, dataset.offsets.byteLength).copy(
    out,
    0,
  );
  Buffer.from(dataset.tokens.buffer, dataset.tokens.byteOffset, dataset.tokens.byteLength).copy(
    out,
    (options.count + 1) * 4,
  );
  Buffer.from(dataset.hidden.buffer, dataset.hidden.byteOffset, dataset.hidden.byteLength).copy(
    out,
    (options.count + 1 + rows) * 4,
  );
  // Write-then-rename, so an interrupted run never leaves a half file that a later run would read.
  writeFileSync(`${data}.partial`, out);
  renameSync(`${data}.partial`, data);
  writeFileSync(
    meta,
    `${JSON.stringify({ model: dataset.model, hiddenSize: dataset.hiddenSize, count: options.count, rows, options }, null, 2)}\n`,
  );
  return { dataset, cached: false, path: data };
}

/**
 * Several datasets of one model as one, their sequences interleaved (sequence i is sequence ⌊i / n⌋ of dataset
 * i mod n while each has one left, then the rest in turn): every recipe reaches both sides of `splitSequences`'
 * held-out tail. `options` is the first dataset's; keep the recipes of all of them apart where they matter.
 * @throws InvalidArgumentError for no datasets or datasets of different models or hidden sizes
 */
export function mixDatasets(datasets: readonly Dataset[]): Dataset {
  const [first] = datasets;
  if (!first || datasets.some(d => d.model !== first.model || d.hiddenSize !== first.hiddenSize)) {
    throw new InvalidArgumentError({
      argument: 'datasets',
      message: 'need at least one dataset, all generated by the same model.',
    });
  }
  const order: [Dataset, number][] = [];
  const longest = Math.max(...datasets.map(d => d.offsets.length - 1));
  for (let i = 0; i < longest; i++)
    for (const d of datasets) if (i < d.offsets.length - 1) order.push([d, i]);
  const H = first.hiddenSize;
  const rows = datasets.reduce((sum, d) => sum + d.tokens.length, 0);
  const offsets = new Int32Array(order.length + 1);
  const tokens = new Int32Array(rows);
  const hidden = new Float32Array(rows * H);
  order.forEach(([d, i], s) => {
    const [from, to] = [d.offsets[i], d.offsets[i + 1]];
    tokens.set(d.tokens.subarray(from, to), offsets[s]);
    hidden.set(d.hidden.subarray(from * H, to * H), offsets[s] * H);
    offsets[s + 1] = offsets[s] + to - from;
  });
  return { model: first.model, hiddenSize: H, options: first.options, offsets, tokens, hidden };
}
