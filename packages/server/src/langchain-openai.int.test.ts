import { loadModel } from '@decodekit/backend-onnx';
import type { LoadedModel } from '@decodekit/core';
import type { AIMessageChunk } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { assert, afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createServer, type DecodekitServer } from './index.js';

// LangChain's ChatOpenAI pointed at `decodekit serve` on 127.0.0.1 (stories260K from DECODEKIT_MODELS).
let model: LoadedModel;
let server: DecodekitServer;
let chat: ChatOpenAI;
let baseURL: string;

beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  server = await createServer({ models: { stories260K: model } });
  baseURL = `${await server.listen({ host: '127.0.0.1', port: 0 })}/v1`;
  chat = new ChatOpenAI({
    model: 'stories260K',
    apiKey: 'unused',
    configuration: { baseURL },
    temperature: 0,
    maxTokens: 40,
    maxRetries: 0,
  });
});

afterAll(async () => {
  await server?.close();
  await model?.dispose();
});

describe('ChatOpenAI against decodekit serve', () => {
  it('invokes and streams the same text', async () => {
    const message = await chat.invoke('Tell me a story about a cat.');
    expect(typeof message.content).toBe('string');
    expect((message.content as string).length).toBeGreaterThan(10);
    expect(message.usage_metadata?.output_tokens).toBeGreaterThan(0);
    let streamed = '';
    let chunks = 0;
    for await (const chunk of await chat.stream('Tell me a story about a cat.')) {
      streamed += chunk.content as string;
      chunks++;
    }
    expect(chunks).toBeGreaterThan(5);
    expect(streamed).toBe(message.content);
  });

  it('withStructuredOutput returns an object valid under the zod schema (json_schema)', async () => {
    const person = z.object({ name: z.string().max(12), age: z.number().int().min(1).max(99) });
    const structured = chat.withStructuredOutput(person, { method: 'jsonSchema' });
    const value = await structured.invoke('Describe a child.', { maxTokens: 60 } as never);
    expect(person.parse(value)).toEqual(value);
  });

  it('bindTools with tool_choice returns a tool call with valid arguments', async () => {
    const weather = tool(async ({ city }) => `sunny in ${city}`, {
      name: 'get_weather',
      description: 'Weather of a city.',
      schema: z.object({ city: z.string().max(10) }),
    });
    // A call of this tool needs up to 46 tokens: the server refuses a smaller max_tokens with a 400.
    const roomy = new ChatOpenAI({
      model: 'stories260K',
      apiKey: 'unused',
      configuration: { baseURL },
      temperature: 0,
      maxTokens: 80,
      maxRetries: 0,
    });
    await expect(
      chat.bindTools([weather], { tool_choice: 'get_weather' }).invoke('Weather?'),
    ).rejects.toThrow(/max_tokens.*raise max_tokens/);
    const withTools = roomy.bindTools([weather], { tool_choice: 'get_weather' });
    const message = await withTools.invoke('What is the weather in Paris?');
    expect(message.tool_calls).toHaveLength(1);
    const call = message.tool_calls?.[0];
    assert(call, 'the reply carries one tool call');
    expect(call.name).toBe('get_weather');
    expect(typeof call.args.city).toBe('string');
    const result = await weather.invoke(call);
    expect(String(result.content)).toMatch(/^sunny in /);

    // Streamed, the call arrives as tool_call_chunks that LangChain merges into the same call.
    let merged: AIMessageChunk | undefined;
    let chunks = 0;
    for await (const chunk of await withTools.stream('What is the weather in Paris?')) {
      merged = merged ? merged.concat(chunk) : chunk;
      if (chunk.tool_call_chunks?.length) chunks++;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(merged?.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: call.args });
  });
});
