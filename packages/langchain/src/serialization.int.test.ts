import { badWords, ModelNotFoundError, type LoadedModel } from '@decodekit/core';
import { load } from '@langchain/core/load';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChatDecodekit } from './chat-decodekit.js';
import { DecodekitLLM } from './decodekit-llm.js';

let model: LoadedModel;

beforeAll(async () => {
  model = await new ChatDecodekit().loadModel();
});

const importMap = { chat_models__decodekit: { ChatDecodekit }, llms__decodekit: { DecodekitLLM } };

describe('serialization and the model-id constructor', () => {
  it('ChatDecodekit serializes its settings (no secrets, no callbacks) and load() revives an equal model', async () => {
    const chat = new ChatDecodekit({
      model: 'karpathy/tinyllamas/stories260K',
      maxTokens: 12,
      temperature: 0.5,
      seed: 3,
      stop: ['\n'],
      timeout: 5000,
      apiKey: 'sk-should-not-leak',
      callbacks: [],
    } as never);
    expect(chat.lc_serializable).toBe(true);
    const json = JSON.stringify(chat);
    expect(json).not.toContain('sk-should-not-leak');
    const serialized = JSON.parse(json);
    expect(serialized).toMatchObject({
      lc: 1,
      type: 'constructor',
      id: ['langchain', 'chat_models', 'decodekit', 'ChatDecodekit'],
      kwargs: {
        model: 'karpathy/tinyllamas/stories260K',
        max_tokens: 12,
        temperature: 0.5,
        seed: 3,
        stop: ['\n'],
        timeout: 5000,
      },
    });
    expect(Object.keys(serialized.kwargs)).not.toContain('callbacks');
    const revived = await load<ChatDecodekit>(json, { importMap });
    expect(revived).toBeInstanceOf(ChatDecodekit);
    expect(revived.maxTokens).toBe(12);
    expect((await revived.invoke('Hello')).text).toBe((await chat.invoke('Hello')).text);
    // Settings changed after construction are what gets serialized.
    chat.maxTokens = 7;
    expect(JSON.parse(JSON.stringify(chat)).kwargs.max_tokens).toBe(7);
  });

  it('DecodekitLLM serializes too', async () => {
    const llm = new DecodekitLLM({ maxTokens: 6, addSpecialTokens: false });
    const revived = await load<DecodekitLLM>(JSON.stringify(llm), { importMap });
    expect(revived).toBeInstanceOf(DecodekitLLM);
    expect(revived.maxTokens).toBe(6);
    expect(revived.addSpecialTokens).toBe(false);
  });

  it('settings that are code (a LoadedModel, processors, a strategy) serialize as not_implemented, never half', () => {
    for (const chat of [
      new ChatDecodekit({ model }),
      new ChatDecodekit({ processors: [badWords([[1]])] }),
    ]) {
      expect(JSON.parse(JSON.stringify(chat))).toMatchObject({ lc: 1, type: 'not_implemented' });
    }
  });

  it('new ChatDecodekit(modelId, fields) loads the id lazily on the first call', async () => {
    const chat = new ChatDecodekit('karpathy/tinyllamas/stories260K', { maxTokens: 6 });
    expect(chat.model).toBe('karpathy/tinyllamas/stories260K');
    expect(chat.maxTokens).toBe(6);
    expect((await chat.invoke('Hello')).text).toBe(
      (await new ChatDecodekit({ model, maxTokens: 6 }).invoke('Hello')).text,
    );
    expect(new DecodekitLLM('karpathy/tinyllamas/stories260K').model).toBe(
      'karpathy/tinyllamas/stories260K',
    );
    // Constructing with a folder that does not exist is fine; the first call says what is missing.
    const missing = new ChatDecodekit('./no-such-model-folder', { maxTokens: 2 });
    const error = await missing.invoke('Hi').then(
      () => undefined,
      caught => caught,
    );
    expect(ModelNotFoundError.isInstance(error), String(error)).toBe(true);
  });
});
