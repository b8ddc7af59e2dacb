/** Test fixtures: tokenizers of the seeded character vocabularies and tiny random Llama models, built in memory. */
import { createCpuBackend } from '@decodekit/backend-onnx';
import { createTokenizer, type LoadedModel, type ModelFiles, type Tokenizer } from '@decodekit/core';
import { buildRandomLlama, charVocabulary, llama2cTokenizerConfig, llama2cTokenizerJson } from '@decodekit/models';

/**
 * The llama2.c-style character tokenizer of `vocabSize` pieces: with 400 it has every byte-fallback token
 * `<0x00>..<0xFF>` (ids 83..338); with 48 it has none, so raw bytes need escape symbols.
 */
export function charTokenizer(vocabSize: number): Tokenizer {
  return createTokenizer({ tokenizerJson: llama2cTokenizerJson(charVocabulary(vocabSize)), tokenizerConfig: llama2cTokenizerConfig(64) });
}

/** A seeded tiny random Llama (dim 16, 1 layer, context `contextLength`) loaded on the CPU backend from memory. */
export async function tinyModel({ seed = 1, vocabSize = 400, contextLength = 64 }: { seed?: number; vocabSize?: number; contextLength?: number } = {}): Promise<LoadedModel> {
  const { files } = buildRandomLlama({ seed, vocabSize, dim: 16, numLayers: 1, numHeads: 2, numKvHeads: 1, hiddenDim: 32, contextLength, name: `tiny-${seed}` });
  const json = (path: string) => JSON.parse(files[path] as string) as Record<string, unknown>;
  const modelFiles: ModelFiles = {
    config: json('config.json'),
    generationConfig: json('generation_config.json'),
    tokenizer: json('tokenizer.json'),
    tokenizerConfig: json('tokenizer_config.json'),
    onnx: files['onnx/model.onnx'] as Uint8Array,
  };
  return createCpuBackend().load(modelFiles, { name: `tiny-${seed}` });
}
