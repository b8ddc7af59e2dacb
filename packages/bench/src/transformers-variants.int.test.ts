/**
 * transformers.js 4.x `generate()` as a second reference for the variants decodekit's converter writes: on the
 * same graph files (served under transformers.js' dtype file names), its greedy ids equal decodekit's.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder } from '@decodekit/core';
import { buildTinyGpt2 } from '@decodekit/models';
import { convertLlama2cToFolder, writeModelFolder } from '@decodekit/models/node';
import { describe, expect, it } from 'vitest';

// eslint-disable-next-line no-process-env -- test fixture location
const models = resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models');
const stories = join(models, 'karpathy', 'tinyllamas', 'stories260K');
const work = mkdtempSync(join(tmpdir(), 'decodekit-tjs-variants-'));
const defaultPrompt = [1, 403, 407, 261, 378]; // "Once upon a time"
const steps = 32;

/** transformers.js' file name of each dtype (its `dtype` option picks `onnx/model{suffix}.onnx`). */
const fileOf = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q8: 'model_quantized.onnx',
  q4: 'model_q4.onnx',
  q4f16: 'model_q4f16.onnx',
} as const;

/** Serves a converted folder's files under transformers.js' layout: the graph under its dtype's name. */
function serveConverted(folder: string, dtype: keyof typeof fileOf, graph: string): string {
  const served = join(work, `served-${dtype}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(served, 'onnx'), { recursive: true });
  for (const file of [
    'config.json',
    'generation_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
  ])
    symlinkSync(join(folder, file), join(served, file));
  symlinkSync(join(folder, 'onnx', graph), join(served, 'onnx', fileOf[dtype]));
  return served;
}

async function transformersGreedy(
  folder: string,
  dtype: keyof typeof fileOf,
  graph = 'model.onnx',
  served = serveConverted(folder, dtype, graph),
  prompt = defaultPrompt,
): Promise<number[]> {
  const transformers = await import('@huggingface/transformers');
  const { env } = transformers;
  env.localModelPath = `${work}/`;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  const model = await transformers.AutoModelForCausalLM.from_pretrained(
    served.slice(work.length + 1),
    {
      dtype,
      device: 'cpu',
      local_files_only: true,
      session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
    },
  );
  try {
    const inputIds = new transformers.Tensor('int64', BigInt64Array.from(prompt, BigInt), [
      1,
      prompt.length,
    ]);
    const attentionMask = new transformers.Tensor(
      'int64',
      new BigInt64Array(prompt.length).fill(1n),
      [1, prompt.length],
    );
    const output = (await model.generate({
      input_ids: inputIds,
      attention_mask: attentionMask,
      max_new_tokens: steps,
      do_sample: false,
    } as never)) as { tolist(): (bigint | number)[][] };
    return output.tolist()[0].slice(prompt.length).map(Number);
  } finally {
    await model.dispose();
  }
}

describe('transformers.js generate() on the converter variants', () => {
  it.each([
    { name: 'fp32', dtype: 'fp32', flags: {} },
    { name: 'fp16', dtype: 'fp16', flags: { dtype: 'fp16' } },
    { name: 'q8', dtype: 'q8', flags: { dtype: 'q8' } },
    { name: 'q4', dtype: 'q4', flags: { dtype: 'q4' } },
    { name: 'q4f16', dtype: 'q4f16', flags: { dtype: 'q4f16' } },
    { name: 'no position_ids', dtype: 'fp32', flags: { positionIds: false } },
    { name: 'num_logits_to_keep', dtype: 'fp32', flags: { logitsToKeep: true } },
    {
      name: 'merged',
      dtype: 'fp32',
      flags: { layout: 'merged' },
      graph: 'decoder_model_merged.onnx',
    },
    { name: 'group-query', dtype: 'fp32', flags: { attention: 'group-query' } },
  ] as const)(
    '$name: the same greedy ids as decodekit',
    async ({ name, dtype, flags, ...rest }) => {
      const folder = await convertLlama2cToFolder(
        join(stories, 'stories260K.bin'),
        join(stories, 'tok512.bin'),
        join(work, name.replace(/\W+/g, '-')),
        { plain: true, ...flags },
      );
      const model = await loadModel(folder);
      let ours: number[];
      try {
        ours = (
          await createDecoder({ model }).generate(
            { tokens: defaultPrompt },
            { maxTokens: steps, temperature: 0 },
          )
        ).tokens;
      } finally {
        await model.dispose();
      }
      expect(ours.length).toBe(steps);
      expect(
        await transformersGreedy(folder, dtype, 'graph' in rest ? rest.graph : undefined),
      ).toEqual(ours);
    },
  );
});

describe('transformers.js generate() on the onnxruntime-genai fp16 export', () => {
  it("gives decodekit's greedy ids on the same graph and external data", async () => {
    const fixture = join(
      models,
      '..',
      'fixtures',
      'hf-exports',
      'onnxruntime-genai-tiny-random-llama-fp16',
    );
    // transformers.js reads config.json and onnx/model_fp16.onnx: write the config from genai_config.json and
    // link the unchanged graph (its external data model.onnx.data beside it).
    const genai = JSON.parse(readFileSync(join(fixture, 'genai_config.json'), 'utf8')).model;
    const served = join(work, 'served-genai');
    mkdirSync(join(served, 'onnx'), { recursive: true });
    writeFileSync(
      join(served, 'config.json'),
      JSON.stringify({
        model_type: genai.type,
        architectures: ['LlamaForCausalLM'],
        vocab_size: genai.vocab_size,
        hidden_size: genai.decoder.hidden_size,
        num_hidden_layers: genai.decoder.num_hidden_layers,
        num_attention_heads: genai.decoder.num_attention_heads,
        num_key_value_heads: genai.decoder.num_key_value_heads,
        head_dim: genai.decoder.head_size,
        max_position_embeddings: genai.context_length,
        bos_token_id: genai.bos_token_id,
        eos_token_id: genai.eos_token_id,
        pad_token_id: genai.pad_token_id,
      }),
    );
    for (const file of ['tokenizer.json', 'tokenizer_config.json'])
      symlinkSync(join(fixture, file), join(served, file));
    symlinkSync(join(fixture, 'model.onnx'), join(served, 'onnx', 'model_fp16.onnx'));
    symlinkSync(join(fixture, 'model.onnx.data'), join(served, 'onnx', 'model.onnx.data'));
    const prompt = [0, 450, 4996, 17354, 1701];
    const model = await loadModel(fixture);
    let ours: number[];
    try {
      ours = (
        await createDecoder({ model }).generate(
          { tokens: prompt },
          { maxTokens: steps, temperature: 0 },
        )
      ).tokens;
    } finally {
      await model.dispose();
    }
    expect(await transformersGreedy(fixture, 'fp16', 'model.onnx', served, prompt)).toEqual(ours);
  });
});

describe('transformers.js generate() on a GPT-2-layout model (learned positions, buildTinyGpt2)', () => {
  it("gives decodekit's greedy ids", async () => {
    const folder = await writeModelFolder(
      join(work, 'tiny-gpt2'),
      buildTinyGpt2({ seed: 3 }).files,
    );
    const prompt = [1, 4, 14, 4, 20, 5, 9, 4, 14, 4, 20, 5];
    const model = await loadModel(folder);
    let ours: number[];
    try {
      ours = (
        await createDecoder({ model }).generate(
          { tokens: prompt },
          { maxTokens: steps, temperature: 0 },
        )
      ).tokens;
    } finally {
      await model.dispose();
    }
    expect(ours.length).toBe(steps);
    expect(await transformersGreedy(folder, 'fp32', 'model.onnx', undefined, prompt)).toEqual(ours);
  });
});
