/**
 * `decodekit generate` on a third-party export (the onnxruntime-genai model builder's tiny fp16 Llama, from
 * ../shared/fixtures/hf-exports): greedy ids equal the API's (which backend-onnx's tests check against a
 * minimal onnxruntime-node loop), and the speculative strategies stay token-identical to greedy.
 */
import { delimiter, join, resolve } from 'node:path';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { createProgram } from './program.js';

// eslint-disable-next-line no-process-env -- test fixture location, next to the models mirror
const models = resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models');
const fixture = join(models, '..', 'fixtures', 'hf-exports', 'onnxruntime-genai-tiny-random-llama-fp16');

async function generate(args: string[]): Promise<{ tokens: number[]; reason: string }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await createProgram().parseAsync(['node', 'decodekit', 'generate', '--model', fixture, '--format', 'json', ...args]);
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  return JSON.parse(out) as { tokens: number[]; reason: string };
}

describe('decodekit generate on an onnxruntime-genai fp16 export', () => {
  const prompt = 'one two three one two three one two';

  it('greedy gives the API\'s ids, and prompt-lookup and token-recycling give the same ids', async () => {
    const model = await loadModel(fixture);
    let expected: number[];
    try {
      const result = await createDecoder({ model, tokenizer: model.tokenizer }).generate(prompt, { maxTokens: 24, temperature: 0 });
      expected = result.tokens;
    } finally {
      await model.dispose();
    }
    expect(expected.length).toBeGreaterThan(0);
    const greedy = await generate(['--prompt', prompt, '--temperature', '0', '--max-tokens', '24']);
    expect(greedy.tokens).toEqual(expected);
    for (const strategy of ['prompt-lookup', 'token-recycling']) {
      const speculative = await generate(['--prompt', prompt, '--temperature', '0', '--max-tokens', '24', '--strategy', strategy]);
      expect(speculative.tokens, strategy).toEqual(expected);
    }
  });
});
