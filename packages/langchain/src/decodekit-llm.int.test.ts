import { createDecoder, type LoadedModel } from '@decodekit/core';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { PromptTemplate } from '@langchain/core/prompts';
import { assert, beforeAll, describe, expect, it } from 'vitest';
import { DecodekitLLM } from './decodekit-llm.js';

let model: LoadedModel;

beforeAll(async () => {
  model = await new DecodekitLLM().loadModel();
});

class TokenRecorder extends BaseCallbackHandler {
  name = 'tokens';
  tokens: string[] = [];
  override handleLLMNewToken(token: string): void {
    this.tokens.push(token);
  }
}

describe('DecodekitLLM with stories260K', () => {
  it('continues the prompt as plain text, exactly as core does', async () => {
    const text = await new DecodekitLLM({ maxTokens: 30 }).invoke('Once upon a time');
    const expected = await createDecoder({ model }).generate('Once upon a time', { maxTokens: 30 });
    expect(text).toBe(expected.text);
    expect(text.length).toBeGreaterThan(10);
  });

  it('streams string chunks that add up to invoke’s text and fire token callbacks', async () => {
    const llm = new DecodekitLLM({ maxTokens: 30 });
    const recorder = new TokenRecorder();
    const chunks: string[] = [];
    for await (const chunk of await llm.stream('Once upon a time', { callbacks: [recorder] }))
      chunks.push(chunk);
    const text = await llm.invoke('Once upon a time');
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.join('')).toBe(text);
    expect(recorder.tokens.join('')).toBe(text);
  });

  it('reports token usage per generation and in llmOutput; batch matches invoke', async () => {
    const llm = new DecodekitLLM({ maxTokens: 12 });
    const result = await llm.generate(['Once upon a time', 'Lily and Tom']);
    const info = result.generations.map(([generation]) => {
      assert(generation.generationInfo, 'every generation carries generationInfo');
      return generation.generationInfo;
    });
    const prompts = ['Once upon a time', 'Lily and Tom'].map(
      prompt => model.tokenizer.encode(prompt).length,
    );
    expect(info.map(entry => entry.usage.input_tokens)).toEqual(prompts);
    expect(result.llmOutput?.tokenUsage).toEqual({
      promptTokens: prompts[0] + prompts[1],
      completionTokens: info[0].usage.output_tokens + info[1].usage.output_tokens,
      totalTokens:
        prompts[0] + prompts[1] + info[0].usage.output_tokens + info[1].usage.output_tokens,
    });
    expect(info[0]).toMatchObject({
      model_name: 'karpathy/tinyllamas/stories260K',
      finish_reason: 'length',
    });
    const batched = await llm.batch(['Once upon a time', 'Lily and Tom']);
    expect(batched).toEqual([
      await llm.invoke('Once upon a time'),
      await llm.invoke('Lily and Tom'),
    ]);
  });

  it('stops before a stop string and honours call-option overrides', async () => {
    const llm = new DecodekitLLM({ maxTokens: 40 });
    const free = await llm.invoke('Once upon a time');
    const word = free.trim().split(/\s+/)[4];
    expect(await llm.invoke('Once upon a time', { stop: [word] })).toBe(
      free.slice(0, free.indexOf(word)),
    );
    const short = await llm.generate(['Once upon a time'], { maxTokens: 4 });
    expect(short.generations[0][0].generationInfo?.usage.output_tokens).toBe(4);
    const sampled = await llm.invoke('Once upon a time', { temperature: 1, seed: 3 });
    expect(await llm.invoke('Once upon a time', { temperature: 1, seed: 3 })).toBe(sampled);
  });

  it('rejects on an aborted signal, before and during a stream', async () => {
    const llm = new DecodekitLLM({ maxTokens: 200 });
    await expect(llm.invoke('Once upon a time', { signal: AbortSignal.abort() })).rejects.toThrow();
    const controller = new AbortController();
    let received = 0;
    const run = async () => {
      for await (const _chunk of await llm.stream('Once upon a time', {
        signal: controller.signal,
      })) {
        received += 1;
        if (received === 2) controller.abort();
      }
    };
    await expect(run()).rejects.toThrow();
    expect(received).toBe(2);
  });

  it('works in a PromptTemplate | llm | StringOutputParser chain', async () => {
    const chain = PromptTemplate.fromTemplate('Once upon a time there was a {animal}')
      .pipe(new DecodekitLLM({ maxTokens: 20 }))
      .pipe(new StringOutputParser());
    const text = await chain.invoke({ animal: 'dog' });
    const expected = await createDecoder({ model }).generate('Once upon a time there was a dog', {
      maxTokens: 20,
    });
    expect(text).toBe(expected.text);
  });
});
