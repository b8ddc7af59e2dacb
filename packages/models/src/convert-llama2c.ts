import { ModelFormatError } from '@decodekit/core';
import { buildLlamaGraph } from './graph-builder.js';
import {
  type ModelFolderFiles,
  generationConfigJson,
  jsonText,
  llamaConfigJson,
} from './hf-config.js';
import { readLlama2cCheckpoint, readLlama2cTokenizer } from './llama2c.js';
import { llama2cTokenizerConfig, llama2cTokenizerJson } from './tokenizer-json.js';

/** Input of {@link convertLlama2c}. */
export interface ConvertLlama2cInput {
  /** Bytes of a llama2.c legacy checkpoint (`stories260K.bin`). */
  readonly checkpoint: Uint8Array;
  /** Bytes of the matching llama2.c tokenizer (`tok512.bin`). */
  readonly tokenizer: Uint8Array;
  /** Emit only the standard Hugging Face I/O (no decodekit extensions). */
  readonly plain?: boolean;
  /** Recorded in config.json and the ONNX metadata. */
  readonly name?: string;
  /** Shown in error messages. */
  readonly checkpointPath?: string;
  readonly tokenizerPath?: string;
}

/** Output of {@link convertLlama2c}: the model folder's files by relative path. */
export interface ConvertedModel {
  readonly files: ModelFolderFiles;
}

/**
 * Converts a llama2.c checkpoint and tokenizer into a Hugging Face-style model folder (in memory):
 * `config.json`, `generation_config.json`, `tokenizer.json`, `tokenizer_config.json`, `onnx/model.onnx`, and (without `plain`) `onnx/model_embeds.onnx`, the same graph
 * taking `inputs_embeds` in place of `input_ids` (docs/graph-io.md, "Build-time variant").
 * Browser-safe; {@link convertLlama2cToFolder} in `@decodekit/models/node` writes the files.
 *
 * @throws ModelFormatError when a file is malformed or the tokenizer does not fit the checkpoint
 */
export function convertLlama2c(input: ConvertLlama2cInput): ConvertedModel {
  const checkpointPath = input.checkpointPath ?? 'llama2.c checkpoint';
  const tokenizerPath = input.tokenizerPath ?? 'llama2.c tokenizer';
  const { config, weights } = readLlama2cCheckpoint(input.checkpoint, checkpointPath);
  const tokenizer = readLlama2cTokenizer(input.tokenizer, tokenizerPath);
  if (tokenizer.tokens.length !== config.vocabSize) {
    throw new ModelFormatError({
      path: tokenizerPath,
      message:
        `the tokenizer has ${tokenizer.tokens.length} tokens but the checkpoint ${checkpointPath} has vocab_size ` +
        `${config.vocabSize}. Use the tokenizer the model was trained with.`,
    });
  }
  const plain = input.plain ?? false;
  const info = {
    graph: plain ? 'plain' : 'extended',
    source: 'llama2.c',
    name: input.name,
  } as const;
  return {
    files: {
      'config.json': jsonText(llamaConfigJson(config, info)),
      'generation_config.json': jsonText(generationConfigJson()),
      'tokenizer.json': jsonText(llama2cTokenizerJson(tokenizer, tokenizerPath)),
      'tokenizer_config.json': jsonText(llama2cTokenizerConfig(config.contextLength)),
      'onnx/model.onnx': buildLlamaGraph(config, weights, { plain, name: input.name }),
      // The inputs_embeds variant (same I/O otherwise, same KV layout) for backends' `forward({ embeddings })`.
      ...(plain
        ? {}
        : { 'onnx/model_embeds.onnx': buildLlamaGraph(config, weights, { plain, inputsEmbeds: true, name: input.name }) }),
    },
  };
}
