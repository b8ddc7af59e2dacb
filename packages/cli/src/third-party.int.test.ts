/**
 * `decodekit generate` on a third-party export (the onnxruntime-genai model builder's tiny fp16 Llama, from
 * ../shared/fixtures/hf-exports): greedy ids equal the API's (which backend-onnx's tests check against a
 * minimal onnxruntime-node loop), and the speculative strategies stay token-identical to greedy.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { buildTinyGpt2 } from '@decodekit/models';
import { writeModelFolder } from '@decodekit/models/node';
import { createDecoder } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { run } from './__fixtures__/run-program.js';

// eslint-disable-next-line no-process-env -- test fixture location, next to the models mirror
const models = resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models');
const fixture = join(
  models,
  '..',
  'fixtures',
  'hf-exports',
  'onnxruntime-genai-tiny-random-llama-fp16',
);

async function generate(
  args: string[],
  model = fixture,
): Promise<{ tokens: number[]; reason: string }> {
  return JSON.parse(await run(['generate', '--model', model, '--format', 'json', ...args])) as {
    tokens: number[];
    reason: string;
  };
}

describe('decodekit generate on an onnxruntime-genai fp16 export', () => {
  const prompt = 'one two three one two three one two';

  it("greedy gives the API's ids, and prompt-lookup and token-recycling give the same ids", async () => {
    const model = await loadModel(fixture);
    let expected: number[];
    try {
      const result = await createDecoder({ model, tokenizer: model.tokenizer }).generate(prompt, {
        maxTokens: 24,
        temperature: 0,
      });
      expected = result.tokens;
    } finally {
      await model.dispose();
    }
    expect(expected.length).toBeGreaterThan(0);
    const greedy = await generate(['--prompt', prompt, '--temperature', '0', '--max-tokens', '24']);
    expect(greedy.tokens).toEqual(expected);
    for (const strategy of ['prompt-lookup', 'token-recycling']) {
      const speculative = await generate([
        '--prompt',
        prompt,
        '--temperature',
        '0',
        '--max-tokens',
        '24',
        '--strategy',
        strategy,
      ]);
      expect(speculative.tokens, strategy).toEqual(expected);
    }
  });
});

describe('decodekit convert --tree-attention on the onnxruntime-genai fp16 export', () => {
  const work = mkdtempSync(join(tmpdir(), 'decodekit-cli-tree-'));
  const prompt = 'one two three one two three one two';

  it('writes a folder that loads with tree attention; token-recycling on it gives greedy ids', async () => {
    const out = join(work, 'genai-tree');
    await run(['convert', fixture, '--tree-attention', '--out', out]);
    const model = await loadModel(out);
    try {
      expect(model.capabilities.tree).toBe(true);
    } finally {
      await model.dispose();
    }
    const args = ['--prompt', prompt, '--temperature', '0', '--max-tokens', '32'];
    const original = await generate(args);
    const greedy = await generate(args, out);
    expect(greedy.tokens.length).toBeGreaterThan(8);
    expect(greedy.tokens).toEqual(original.tokens);
    const recycled = await generate([...args, '--strategy', 'token-recycling'], out);
    expect(recycled.tokens).toEqual(greedy.tokens);
  });

  it('refuses conversion flags beside --tree-attention, and an output inside the source', async () => {
    const flags = await run([
      'convert',
      fixture,
      '--tree-attention',
      '--dtype',
      'q8',
      '--out',
      join(work, 'bad'),
    ]).catch((error: unknown) => error);
    expect(InvalidArgumentError.isInstance(flags)).toBe(true);
    expect((flags as Error).message).toContain('drop --dtype');
    const inside = await run([
      'convert',
      fixture,
      '--tree-attention',
      '--out',
      join(fixture, 'tree'),
    ]).catch((error: unknown) => error);
    expect(InvalidArgumentError.isInstance(inside)).toBe(true);
  });
});

describe('a GPT-2-layout model (learned positions), before and after --tree-attention', () => {
  const work = mkdtempSync(join(tmpdir(), 'decodekit-cli-gpt2-'));
  const prompt = 'the cat sat on the mat. the cat';

  it('greedy, prompt-lookup and token-recycling give the same ids on both folders', async () => {
    const plain = await writeModelFolder(join(work, 'gpt2'), buildTinyGpt2({ seed: 3 }).files);
    const tree = join(work, 'gpt2-tree');
    await run(['convert', plain, '--tree-attention', '--out', tree]);
    const args = ['--prompt', prompt, '--temperature', '0', '--max-tokens', '40'];
    const greedy = await generate(args, plain);
    expect(greedy.tokens.length).toBeGreaterThan(20);
    for (const folder of [plain, tree]) {
      expect((await generate(args, folder)).tokens).toEqual(greedy.tokens);
      for (const strategy of ['prompt-lookup', 'token-recycling']) {
        const speculative = await generate([...args, '--strategy', strategy], folder);
        expect(speculative.tokens, `${strategy} on ${folder}`).toEqual(greedy.tokens);
      }
    }
  });
});

describe('decodekit convert variants', () => {
  const stories = join(models, 'karpathy', 'tinyllamas', 'stories260K');
  const work = mkdtempSync(join(tmpdir(), 'decodekit-cli-variants-'));
  const prompt = 'Once upon a time, there was a little girl. Once upon a time, there was a little';

  it.each([
    { name: 'fp16', flags: ['--dtype', 'fp16'] },
    { name: 'q8', flags: ['--dtype', 'q8'] },
    { name: 'merged', flags: ['--layout', 'merged', '--plain'] },
    { name: 'group-query', flags: ['--attention', 'group-query', '--plain'] },
  ])(
    '$name: prompt-lookup and token-recycling give the ids of greedy decoding',
    async ({ name, flags }) => {
      const out = join(work, name);
      await run([
        'convert',
        join(stories, 'stories260K.bin'),
        '--tokenizer',
        join(stories, 'tok512.bin'),
        '--out',
        out,
        ...flags,
      ]);
      const greedy = await generate(
        ['--prompt', prompt, '--temperature', '0', '--max-tokens', '48'],
        out,
      );
      expect(greedy.tokens.length).toBeGreaterThan(8);
      for (const strategy of ['prompt-lookup', 'token-recycling']) {
        const speculative = await generate(
          ['--prompt', prompt, '--temperature', '0', '--max-tokens', '48', '--strategy', strategy],
          out,
        );
        expect(speculative.tokens, strategy).toEqual(greedy.tokens);
      }
    },
  );

  it('rejects an unknown --dtype and --no-position-ids without --plain with InvalidArgumentError', async () => {
    const args = [
      'convert',
      join(stories, 'stories260K.bin'),
      '--tokenizer',
      join(stories, 'tok512.bin'),
      '--out',
      join(work, 'bad'),
    ];
    const dtype = await run([...args, '--dtype', 'q3']).catch((error: unknown) => error);
    expect(InvalidArgumentError.isInstance(dtype)).toBe(true);
    expect((dtype as Error).message).toContain('fp32, fp16, q8, q4, q4f16');
    const positions = await run([...args, '--no-position-ids']).catch((error: unknown) => error);
    expect(InvalidArgumentError.isInstance(positions)).toBe(true);
    expect((positions as Error).message).toContain('--plain');
  });
});
