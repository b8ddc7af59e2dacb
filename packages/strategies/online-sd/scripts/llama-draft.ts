/**
 * Node-only helpers of the online-sd scripts and tests: the llama2xs draft from the mirror
 * (`DECODEKIT_MODELS`), and the `load` of `onlineDistiller` that rebuilds a draft from updated weights with
 * our own writer and graph builder (`writeLlama2cCheckpoint` → `convertLlama2c`) and loads it in memory on
 * the CPU backend.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCpuBackend } from '@decodekit/backend-onnx';
import type { LoadedModel } from '@decodekit/core';
import {
  convertLlama2c,
  readLlama2cCheckpoint,
  writeLlama2cCheckpoint,
  type Llama2cCheckpoint,
} from '@decodekit/models';
import type { TfLlamaWeights } from '@decodekit/train';

/** llama2xs (the draft) read from the first mirror of `DECODEKIT_MODELS`, with its tok512 tokenizer bytes. */
export function llama2xsCheckpoint(): Llama2cCheckpoint & { tokenizer: Uint8Array } {
  const mirror = (process.env.DECODEKIT_MODELS ?? '../shared/models').split(':')[0];
  const folder = join(mirror, 'llama2xs');
  return {
    ...readLlama2cCheckpoint(new Uint8Array(readFileSync(join(folder, 'model.bin')))),
    tokenizer: new Uint8Array(readFileSync(join(folder, 'tok512.bin'))),
  };
}

/**
 * A draft loader for `onlineDistiller({ load })`: llama.c checkpoint bytes of the updated weights → a model
 * folder in memory (our ONNX graph builder) → a CPU-backend `CausalLM`, named `<name>@v<version>`.
 */
export function llamaDraftLoader(
  base: Llama2cCheckpoint & { tokenizer: Uint8Array },
  name: string,
): (weights: TfLlamaWeights, version: number) => Promise<LoadedModel> {
  const backend = createCpuBackend();
  return async (weights, version) => {
    const { files } = convertLlama2c({
      checkpoint: writeLlama2cCheckpoint({ config: base.config, weights }),
      tokenizer: base.tokenizer,
      name: `${name}@v${version}`,
    });
    const json = (path: string) => JSON.parse(files[path] as string) as Record<string, unknown>;
    return backend.load(
      {
        config: json('config.json'),
        generationConfig: json('generation_config.json'),
        tokenizer: json('tokenizer.json'),
        tokenizerConfig: json('tokenizer_config.json'),
        onnx: files['onnx/model.onnx'] as Uint8Array,
      },
      { name: `${name}@v${version}` },
    );
  };
}
