import { InvalidArgumentError } from '@decodekit/core';
import type { ConvertedModel } from './convert-llama2c.js';
import { buildLlamaGraph } from './graph-builder.js';
import { generationConfigJson, jsonText, llamaConfigJson } from './hf-config.js';
import { type LlamaConfig, type LlamaWeights, weightSizes } from './llama-config.js';
import { type Llama2cTokenizer, readLlama2cTokenizer } from './llama2c.js';
import { seededRandom } from './seeded-random.js';
import { llama2cTokenizerConfig, llama2cTokenizerJson } from './tokenizer-json.js';

/** Options of {@link buildRandomLlama}. */
export interface RandomLlamaOptions {
  readonly seed: number;
  readonly vocabSize?: number;
  readonly dim?: number;
  readonly numLayers?: number;
  readonly numHeads?: number;
  readonly numKvHeads?: number;
  readonly hiddenDim?: number;
  readonly contextLength?: number;
  /** Share the classifier with the embedding (default true). */
  readonly tiedEmbeddings?: boolean;
  /** Emit only the standard I/O (no decodekit extensions). */
  readonly plain?: boolean;
  /** A llama2.c tokenizer (`tok512.bin` bytes) to use instead of the generated character vocabulary. */
  readonly tokenizer?: Uint8Array;
  /** Recorded in config.json and the ONNX metadata. */
  readonly name?: string;
}

/** Options of {@link buildTinyModel} (small defaults: vocab 32, dim 16, 2 layers, 2 heads, 1 KV head). */
export interface TinyModelOptions {
  readonly seed: number;
  readonly vocabSize?: number;
  readonly dim?: number;
  readonly layers?: number;
  readonly heads?: number;
  readonly kvHeads?: number;
  readonly hiddenDim?: number;
  readonly contextLength?: number;
  readonly plain?: boolean;
}

/** Characters of the generated vocabulary, in id order after the three specials. */
const CHARS = [...' etaoinshrdlucmwfgypbvk.,!?\'"jxqzETAOINSHRDLUCMWFGYPBVKJXQZ0123456789-:;()\n'];
/** Two-character pieces appended after the characters and byte tokens when the vocabulary is larger. */
const PAIR_SEEDS = [...' etaoinshrdlu'];

/**
 * A character-level llama2.c-style vocabulary of `vocabSize` pieces: `<unk>`, `<s>`, `</s>`, then characters
 * (space first), then byte tokens `<0x00>`.. and finally two-character merges, each with a descending score.
 */
export function charVocabulary(vocabSize: number): Llama2cTokenizer {
  if (vocabSize < 4)
    throw new InvalidArgumentError({
      argument: 'vocabSize',
      message: `must be at least 4, got ${vocabSize}.`,
    });
  const pieces: string[] = ['<unk>', '<s>', '</s>', ...CHARS];
  for (let byte = 0; byte < 256; byte++)
    pieces.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
  const seen = new Set(pieces);
  for (let length = 2; pieces.length < vocabSize; length++) {
    let added = false;
    for (const a of PAIR_SEEDS) {
      for (const b of pieces.slice(3, 3 + CHARS.length)) {
        const piece = a + b.repeat(length - 1);
        if (seen.has(piece) || pieces.length >= vocabSize) continue;
        seen.add(piece);
        pieces.push(piece);
        added = true;
      }
    }
    if (!added) break;
  }
  const encoder = new TextEncoder();
  return {
    maxTokenLength: Math.max(...pieces.map(piece => encoder.encode(piece).length)),
    tokens: pieces
      .slice(0, vocabSize)
      .map((piece, id) => ({ bytes: encoder.encode(piece), score: id < 3 ? 0 : -id })),
  };
}

/** Seeded random weights for `config` (normal, std 1/sqrt(fan-in); norms near 1). */
export function randomLlamaWeights(config: LlamaConfig, seed: number): LlamaWeights {
  const random = seededRandom(seed);
  const { dim, hiddenDim } = config;
  const weights: Record<string, Float32Array> = {};
  const fill = (size: number, std: number, mean = 0) => {
    const array = new Float32Array(size);
    for (let i = 0; i < size; i++) array[i] = mean + std * random.normal();
    return array;
  };
  for (const [name, size] of weightSizes(config)) {
    if (name === 'rmsAtt' || name === 'rmsFfn' || name === 'rmsFinal')
      weights[name] = fill(size, 0.1, 1);
    else if (name === 'tokenEmbedding') weights[name] = fill(size, 1);
    else weights[name] = fill(size, 1 / Math.sqrt(name === 'w2' ? hiddenDim : dim));
  }
  if (!config.tiedEmbeddings) weights.wcls = fill(config.vocabSize * dim, 1 / Math.sqrt(dim));
  return weights as unknown as LlamaWeights;
}

/**
 * A random Llama model folder (config, generation_config, tokenizer, onnx) from a seed, built with the
 * same graph builder as the converters. Use it for benchmarks of realistic size (e.g. dim 512, 8 layers,
 * hidden 1376, vocab 512: about 25M parameters); nothing is written to disk.
 */
export function buildRandomLlama(options: RandomLlamaOptions): ConvertedModel {
  const tokenizer = options.tokenizer
    ? readLlama2cTokenizer(options.tokenizer, 'tokenizer')
    : undefined;
  const dim = options.dim ?? 512;
  const numHeads = options.numHeads ?? 8;
  const config: LlamaConfig = {
    vocabSize: tokenizer?.tokens.length ?? options.vocabSize ?? 512,
    dim,
    hiddenDim: options.hiddenDim ?? Math.round((dim * 8) / 3 / 32) * 32,
    numLayers: options.numLayers ?? 8,
    numHeads,
    numKvHeads: options.numKvHeads ?? numHeads,
    contextLength: options.contextLength ?? 1024,
    tiedEmbeddings: options.tiedEmbeddings ?? true,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  };
  if (
    options.vocabSize !== undefined &&
    tokenizer &&
    options.vocabSize !== tokenizer.tokens.length
  ) {
    throw new InvalidArgumentError({
      argument: 'vocabSize',
      message: `is ${options.vocabSize} but the tokenizer has ${tokenizer.tokens.length} tokens; leave vocabSize out.`,
    });
  }
  const weights = randomLlamaWeights(config, options.seed);
  const plain = options.plain ?? false;
  const ids = { bos: 1, eos: [2] };
  const info = {
    graph: plain ? 'plain' : 'extended',
    source: `seeded:${options.seed}`,
    name: options.name,
  } as const;
  return {
    files: {
      'config.json': jsonText(llamaConfigJson(config, info, ids)),
      'generation_config.json': jsonText(generationConfigJson(ids)),
      'tokenizer.json': jsonText(
        llama2cTokenizerJson(tokenizer ?? charVocabulary(config.vocabSize)),
      ),
      'tokenizer_config.json': jsonText(llama2cTokenizerConfig(config.contextLength)),
      'onnx/model.onnx': buildLlamaGraph(config, weights, { plain, name: options.name }),
    },
  };
}

/**
 * A tiny seeded model folder for tests (defaults: vocab 32 characters, dim 16, 2 layers, 2 heads, 1 KV head,
 * hidden 32, context 64). Same seed, same bytes. Generate it at test time; never commit it.
 */
export function buildTinyModel(options: TinyModelOptions): ConvertedModel {
  return buildRandomLlama({
    seed: options.seed,
    vocabSize: options.vocabSize ?? 32,
    dim: options.dim ?? 16,
    numLayers: options.layers ?? 2,
    numHeads: options.heads ?? 2,
    numKvHeads: options.kvHeads ?? 1,
    hiddenDim: options.hiddenDim ?? 32,
    contextLength: options.contextLength ?? 64,
    plain: options.plain,
    name: `tiny-${options.seed}`,
  });
}
