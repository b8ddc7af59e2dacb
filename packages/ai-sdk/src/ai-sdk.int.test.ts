import { InvalidArgumentError, speculative } from '@decodekit/core';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import {
  generateObject,
  generateText,
  jsonSchema,
  Output,
  streamObject,
  streamText,
  tool,
} from 'ai';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDecodekit } from './index.js';

// The `ai` package's own functions against stories260K (found through DECODEKIT_MODELS).
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
const decodekit = createDecodekit({
  strategies: { 'prompt-lookup': () => speculative({ drafter: promptLookup() }) },
});
const model = decodekit('karpathy/tinyllamas/stories260K');

afterAll(() => decodekit.dispose());

describe('@decodekit/ai-sdk with the ai package', () => {
  it('generateText returns text, usage and decodekit stats; streamText streams the same text', async () => {
    const result = await generateText({
      model,
      prompt: 'Once upon a time, there was a little dog.',
      maxOutputTokens: 40,
      temperature: 0,
    });
    expect(result.text.length).toBeGreaterThan(10);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeLessThanOrEqual(40);
    expect(result.usage.inputTokens).toBeGreaterThan(5);
    expect(['stop', 'length']).toContain(result.finishReason);
    expect(result.providerMetadata?.decodekit).toMatchObject({ strategy: 'autoregressive' });

    const stream = streamText({
      model,
      prompt: 'Once upon a time, there was a little dog.',
      maxOutputTokens: 40,
      temperature: 0,
    });
    const deltas: string[] = [];
    for await (const delta of stream.textStream) deltas.push(delta);
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(result.text);
    expect((await stream.usage).outputTokens).toBe(result.usage.outputTokens);
  });

  it('picks a strategy with providerOptions.decodekit.strategy (same greedy text)', async () => {
    const plain = await generateText({
      model,
      prompt: 'Tom had a ball. Tom had a ball.',
      maxOutputTokens: 50,
      temperature: 0,
    });
    const fast = await generateText({
      model,
      prompt: 'Tom had a ball. Tom had a ball.',
      maxOutputTokens: 50,
      temperature: 0,
      providerOptions: { decodekit: { strategy: 'prompt-lookup' } },
    });
    expect(fast.text).toBe(plain.text);
    const metadata = fast.providerMetadata?.decodekit as {
      strategy: string;
      stats: { forwardPasses: number };
    };
    expect(metadata.strategy).toBe('prompt-lookup');
    await expect(
      generateText({
        model,
        prompt: 'x',
        providerOptions: { decodekit: { strategy: 'warp-drive' } },
        maxRetries: 0,
      }),
    ).rejects.toThrow(/unknown strategy "warp-drive"/);
  });

  it('builds catalogue strategies named NAME[:key=value,...], with typed errors for bad options', async () => {
    const prompt = 'Tom had a ball. Tom had a ball.';
    const plain = await generateText({ model, prompt, maxOutputTokens: 30, temperature: 0 });
    const strategy = 'prompt-lookup:maxNgramSize=2,budget=8';
    const fast = await generateText({
      model,
      prompt,
      maxOutputTokens: 30,
      temperature: 0,
      providerOptions: { decodekit: { strategy } },
    });
    expect(fast.text).toBe(plain.text);
    expect(fast.providerMetadata?.decodekit).toMatchObject({ strategy });
    const error = await generateText({
      model,
      prompt: 'x',
      providerOptions: { decodekit: { strategy: 'prompt-lookup:maxNgramSize=0' } },
      maxRetries: 0,
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).message).toMatch(
      /"prompt-lookup" option "maxNgramSize" must be in 1\.\.16, got 0/,
    );
  });

  it('stops before a stop sequence', async () => {
    const full = await generateText({
      model,
      prompt: 'Once upon a time',
      maxOutputTokens: 40,
      temperature: 0,
    });
    const words = full.text.trim().split(/\s+/);
    const stop = ` ${words[Math.floor(words.length / 2)]}`;
    const cut = await generateText({
      model,
      prompt: 'Once upon a time',
      maxOutputTokens: 40,
      temperature: 0,
      stopSequences: [stop],
    });
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(cut.finishReason).toBe('stop');
  });

  const person = z.object({
    name: z.string().max(12),
    age: z.number().int().min(1).max(99),
    pets: z.array(z.enum(['cat', 'dog'])).max(3),
  });

  it('generateObject and streamObject decode JSON valid under the schema (no retries)', async () => {
    for (const seed of [1, 2, 3]) {
      const { object } = await generateObject({
        model,
        schema: person,
        prompt: 'Describe a child.',
        temperature: 1,
        seed,
        maxOutputTokens: 80,
        maxRetries: 0,
      });
      expect(person.parse(object)).toEqual(object);
    }
    const stream = streamObject({
      model,
      schema: person,
      prompt: 'Describe a child.',
      temperature: 1,
      seed: 7,
      maxOutputTokens: 80,
      maxRetries: 0,
    });
    let partials = 0;
    for await (const _partial of stream.partialObjectStream) partials++;
    expect(partials).toBeGreaterThan(1);
    expect(person.parse(await stream.object)).toBeDefined();
    // The AI SDK 7 way: generateText with an object output.
    const { output } = await generateText({
      model,
      output: Output.object({ schema: person }),
      prompt: 'Describe a child.',
      temperature: 1,
      seed: 9,
      maxOutputTokens: 80,
    });
    expect(person.parse(output)).toEqual(output);
  });

  it('calls tools through the grammar: arguments valid under the schema, toolChoice honoured', async () => {
    const tools = {
      weather: tool({
        description: 'Weather of a city.',
        inputSchema: z.object({ city: z.string().max(10), days: z.number().int().min(1).max(7) }),
      }),
      add: tool({
        inputSchema: jsonSchema<{ a: number; b: number }>({
          type: 'object',
          properties: { a: { type: 'integer' }, b: { type: 'integer' } },
          required: ['a', 'b'],
        }),
      }),
    };
    const required = await generateText({
      model,
      tools,
      toolChoice: 'required',
      prompt: 'What is the weather in Paris?',
      temperature: 0.8,
      seed: 3,
      maxOutputTokens: 60,
    });
    expect(required.finishReason).toBe('tool-calls');
    expect(required.toolCalls).toHaveLength(1);
    expect(['weather', 'add']).toContain(required.toolCalls[0].toolName);

    const named = await generateText({
      model,
      tools,
      toolChoice: { type: 'tool', toolName: 'weather' },
      prompt: 'Weather?',
      temperature: 0.8,
      seed: 4,
      maxOutputTokens: 60,
    });
    const call = named.toolCalls[0];
    expect(call.toolName).toBe('weather');
    const input = call.input as { city: string; days: number };
    expect(input.city.length).toBeLessThanOrEqual(10);
    expect(Number.isInteger(input.days) && input.days >= 1 && input.days <= 7).toBe(true);

    const none = await generateText({
      model,
      tools,
      toolChoice: 'none',
      prompt: 'Once upon a time',
      temperature: 0,
      maxOutputTokens: 20,
    });
    expect(none.toolCalls).toHaveLength(0);
    expect(none.text.length).toBeGreaterThan(0);

    const streamed = streamText({
      model,
      tools,
      toolChoice: { type: 'tool', toolName: 'add' },
      prompt: 'Add numbers.',
      temperature: 0,
      maxOutputTokens: 60,
    });
    const inputDeltas: string[] = [];
    for await (const part of streamed.fullStream)
      if (part.type === 'tool-input-delta') inputDeltas.push(part.delta);
    expect(inputDeltas.length).toBeGreaterThan(2); // the arguments arrive as they are generated
    const calls = await streamed.toolCalls;
    expect(inputDeltas.join('')).toBe(JSON.stringify(calls[0].input));
    expect(calls[0].toolName).toBe('add');
    expect(Number.isInteger((calls[0].input as { a: number }).a)).toBe(true);
    expect(await streamed.finishReason).toBe('tool-calls');
  });

  it('runs a tool and continues with its result (the tool turn renders in the prompt)', async () => {
    let executed = 0;
    const prompt = [{ role: 'user' as const, content: 'Look up a word.' }];
    const result = await generateText({
      model,
      tools: {
        lookup: tool({
          inputSchema: z.object({ word: z.string().max(8) }),
          execute: async ({ word }) => {
            executed++;
            return `${word} means a small animal`;
          },
        }),
      },
      toolChoice: 'required',
      messages: prompt,
      temperature: 0,
      maxOutputTokens: 60,
    });
    expect(executed).toBe(1);
    expect(result.toolResults[0].output).toMatch(/means a small animal/);
    const next = await generateText({
      model,
      messages: [...prompt, ...result.response.messages],
      temperature: 0,
      maxOutputTokens: 20,
    });
    expect(next.text.length).toBeGreaterThan(0);
    const alone = await generateText({
      model,
      messages: prompt,
      temperature: 0,
      maxOutputTokens: 1,
    });
    // The call and its result are in the prompt: about 30 tokens more than the question alone.
    expect((next.usage.inputTokens ?? 0) - (alone.usage.inputTokens ?? Infinity)).toBeGreaterThan(
      20,
    );
  });

  it('aborts a streaming generation', async () => {
    const controller = new AbortController();
    const stream = streamText({
      model,
      prompt: 'Once upon a time',
      maxOutputTokens: 400,
      temperature: 0,
      abortSignal: controller.signal,
      providerOptions: { decodekit: { ignoreEos: true } },
    });
    let deltas = 0;
    for await (const part of stream.fullStream) {
      if (part.type === 'text-delta' && ++deltas === 5) controller.abort();
    }
    expect(deltas).toBeGreaterThanOrEqual(5);
    expect(deltas).toBeLessThan(100);
    // The model is free again: a new call runs at once.
    const after = await generateText({ model, prompt: 'Tom', maxOutputTokens: 5, temperature: 0 });
    expect(after.usage.outputTokens).toBeGreaterThan(0);
  });

  it('reports bad input as an error', async () => {
    await expect(
      generateObject({
        model,
        schema: jsonSchema({ type: 'string', format: 'email' }),
        prompt: 'x',
        maxRetries: 0,
      }),
    ).rejects.toThrow(/cannot enforce/);
    await expect(
      generateText({
        model,
        prompt: 'x',
        providerOptions: { decodekit: { beamWidth: 3 } },
        maxRetries: 0,
      }),
    ).rejects.toThrow(/providerOptions.decodekit.beamWidth/);
    // Bad sampling values throw from doStream itself (before any stream exists), and free the model.
    await expect(
      model.doStream({
        prompt: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
        topK: -1,
      }),
    ).rejects.toThrow(/topK/);
    expect(
      (await generateText({ model, prompt: 'Tom', maxOutputTokens: 3, temperature: 0 })).text
        .length,
    ).toBeGreaterThan(0);
  });
});

describe('the model lock', () => {
  it('is freed when a stream that nobody reads is aborted', async () => {
    const controller = new AbortController();
    await model.doStream({
      prompt: [{ role: 'user', content: [{ type: 'text', text: 'Once' }] }],
      abortSignal: controller.signal,
      maxOutputTokens: 50,
    });
    controller.abort();
    const next = await generateText({ model, prompt: 'Tom', maxOutputTokens: 5, temperature: 0 });
    expect(next.usage.outputTokens).toBeGreaterThan(0);
  });
});
