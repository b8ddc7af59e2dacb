/** The decode loop end to end on the real models, against llama2.c's golden outputs. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { assert, afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from './program.js';

const mirror = process.env.DECODEKIT_MODELS ?? '../shared/models';
type Golden = Record<
  string,
  { prompt_ids: number[]; generated_ids: number[]; printed_text: string }
>;
const golden = (name: string): Golden =>
  JSON.parse(readFileSync(join(mirror, 'golden', name), 'utf8')) as Golden;

describe('golden greedy outputs through createDecoder', () => {
  let stories: LoadedModel;
  let llama2xs: LoadedModel;
  beforeAll(async () => {
    stories = await loadModel('karpathy/tinyllamas/stories260K');
    llama2xs = await loadModel('llama2xs');
  });
  afterAll(async () => {
    await stories?.dispose();
    await llama2xs?.dispose();
  });

  it('stories260K: "Once upon a time" (100 tokens) and BOS alone (200 tokens) equal the golden ids', async () => {
    const expected = golden('golden_stories260K_greedy.json');
    const once = expected['Once upon a time'];
    const result = await createDecoder({ model: stories }).generate('Once upon a time', {
      maxTokens: 100,
      temperature: 0,
    });
    expect(result.promptTokens).toEqual(once.prompt_ids);
    expect(result.tokens).toEqual(once.generated_ids);
    expect('Once upon a time' + result.text).toBe(once.printed_text);
    const bos = expected['<BOS only>'];
    const fromBos = await createDecoder({ model: stories }).generate(
      { tokens: bos.prompt_ids },
      { maxTokens: 200, ignoreEos: true },
    );
    expect(fromBos.tokens).toEqual(bos.generated_ids.slice(0, 200));
  });

  it('llama2xs equals its golden', async () => {
    const expected = golden('golden_llama2xs_saltyduckegg_greedy.json')['Once upon a time'];
    const result = await createDecoder({ model: llama2xs }).generate(
      { tokens: expected.prompt_ids },
      { maxTokens: expected.generated_ids.length, ignoreEos: true },
    );
    expect(result.tokens).toEqual(expected.generated_ids);
  });

  it('streamed text deltas concatenate to the decoded text, for emoji and CJK too', async () => {
    for (const prompt of ['café naïve 😀 日本', 'Once upon a time']) {
      for (const seed of [1, 2, 3]) {
        let streamed = '';
        let done: { text: string; tokens: number[] } | undefined;
        for await (const event of createDecoder({ model: stories }).stream(prompt, {
          maxTokens: 60,
          temperature: 1.5,
          seed,
        })) {
          if (event.type === 'token') streamed += event.text;
          if (event.type === 'done') done = event;
        }
        assert(done, 'the stream ends with a done event');
        expect(streamed).toBe(done.text);
        // The completion is the text the generated ids add after the prompt's text.
        const promptIds = stories.tokenizer.encode(prompt);
        const whole = stories.tokenizer.decode([...promptIds, ...done.tokens]);
        expect(whole.startsWith(stories.tokenizer.decode(promptIds))).toBe(true);
        expect(streamed).toBe(whole.slice(stories.tokenizer.decode(promptIds).length));
        expect(streamed).not.toContain('\uFFFD'.repeat(2));
      }
    }
    // Byte-fallback tokens of one character arrive whole: a 4-byte emoji fed as its bytes streams at once.
    const emoji = stories.tokenizer.encode('😀', { addSpecialTokens: false });
    expect(emoji.length).toBeGreaterThan(1);
  });

  it('seeded sampling is reproducible, and different seeds differ', async () => {
    const decoder = createDecoder({ model: stories });
    const options = { maxTokens: 40, temperature: 1, topP: 0.9, seed: 42 };
    const a = await decoder.generate('Once upon a time', options);
    const b = await decoder.generate('Once upon a time', options);
    const c = await decoder.generate('Once upon a time', { ...options, seed: 43 });
    expect(a.tokens).toEqual(b.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it('stop strings end generation before the stop string', async () => {
    const result = await createDecoder({ model: stories }).generate('Once upon a time', {
      maxTokens: 100,
      stop: ['Lily'],
    });
    expect(result.reason).toBe('stop');
    expect(result.text).toBe(', there was a little girl named ');
  });

  it('`decodekit generate` prints the golden text', async () => {
    const expected = golden('golden_stories260K_greedy.json')['Once upon a time'];
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    const writeErr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string) => (
      (out += chunk),
      true
    )) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await createProgram().parseAsync([
        'node',
        'decodekit',
        'generate',
        '--prompt',
        'Once upon a time',
        '--max-tokens',
        '100',
        '--temperature',
        '0',
      ]);
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeErr;
    }
    expect(out.trimEnd()).toBe(expected.printed_text.trimEnd());
  });
});
