import { badWords, createDecoder, logitBias, type LoadedModel } from '@decodekit/core';
import { jsonSchema } from '@decodekit/strategy-constrained';
import { InMemoryCache } from '@langchain/core/caches';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ChatDecodekit } from './chat-decodekit.js';
import { DecodekitLLM } from './decodekit-llm.js';

let model: LoadedModel;

beforeAll(async () => {
  model = await new ChatDecodekit().loadModel();
});

const PROMPT = 'Once upon a time';

/** The first greedy token of the chat reply to PROMPT, and a second choice to ban or favour instead. */
async function firstTokens(): Promise<[number, number]> {
  const { tokens } = await createDecoder({ model }).generate(
    { messages: [{ role: 'user', content: PROMPT }] },
    { maxTokens: 1 },
  );
  const other = (tokens[0] + 37) % model.info.vocabSize;
  return [tokens[0], other];
}

describe('cache keys: everything that changes the output, not names', () => {
  it('ChatDecodekit: models differing only in badWords / logitBias / a JSON-schema processor do not share cached text', async () => {
    const [first, other] = await firstTokens();
    const variants: [string, () => ChatDecodekit][] = [
      ['badWords', () => new ChatDecodekit({ maxTokens: 8, processors: [badWords([[first]])] })],
      ['badWords', () => new ChatDecodekit({ maxTokens: 8, processors: [badWords([[other]])] })],
      [
        'logitBias',
        () => new ChatDecodekit({ maxTokens: 8, processors: [logitBias({ [first]: 20 })] }),
      ],
      [
        'logitBias',
        () => new ChatDecodekit({ maxTokens: 8, processors: [logitBias({ [other]: 20 })] }),
      ],
      [
        'jsonSchema',
        () =>
          new ChatDecodekit({
            maxTokens: 8,
            processors: [
              jsonSchema({ type: 'integer', maximum: 9 }, { tokenizer: model.tokenizer }),
            ],
          }),
      ],
      [
        'jsonSchema',
        () =>
          new ChatDecodekit({
            maxTokens: 8,
            processors: [jsonSchema({ enum: ['yes', 'no'] }, { tokenizer: model.tokenizer })],
          }),
      ],
    ];
    for (let i = 0; i < variants.length; i += 2) {
      const cache = new InMemoryCache();
      const [name, makeA] = variants[i];
      const makeB = variants[i + 1][1];
      const uncachedA = (await makeA().invoke(PROMPT)).text;
      const uncachedB = (await makeB().invoke(PROMPT)).text;
      expect(uncachedA, name).not.toBe(uncachedB);
      const a = new ChatDecodekit({ ...makeA().decodeOptions, cache });
      const b = new ChatDecodekit({ ...makeB().decodeOptions, cache });
      expect((await a.invoke(PROMPT)).text, name).toBe(uncachedA);
      expect((await b.invoke(PROMPT)).text, name).toBe(uncachedB);
      // Per-call processors are keyed the same way.
      const plain = new ChatDecodekit({ maxTokens: 8, cache });
      expect(
        (await plain.invoke(PROMPT, { processors: makeB().decodeOptions.processors })).text,
      ).toBe(uncachedB);
    }
  });

  it('ChatDecodekit: the same processor objects still hit the cache', async () => {
    const [first] = await firstTokens();
    const cache = new InMemoryCache();
    const chat = new ChatDecodekit({ maxTokens: 8, cache, processors: [badWords([[first]])] });
    const generate = vi.spyOn(chat, '_generate');
    const one = await chat.invoke(PROMPT);
    const two = await chat.invoke(PROMPT);
    expect(two.text).toBe(one.text);
    expect(generate).toHaveBeenCalledTimes(1);
  });

  it('ChatDecodekit: two LoadedModels with one name but different folders are different cache entries', async () => {
    const cache = new InMemoryCache();
    const twin = {
      ...model,
      source: `${model.source}-other`,
      createSequence: () => model.createSequence(),
    };
    const a = new ChatDecodekit({ model, maxTokens: 4, cache });
    const b = new ChatDecodekit({ model: twin as LoadedModel, maxTokens: 4, cache });
    expect(a._getSerializedCacheKeyParametersForCall({} as never)).not.toBe(
      b._getSerializedCacheKeyParametersForCall({} as never),
    );
  });

  it('ChatDecodekit: the tool-call format and the bound tools are part of the key', () => {
    const hermes = new ChatDecodekit({ maxTokens: 4 });
    const custom = new ChatDecodekit({
      maxTokens: 4,
      toolCallFormat: { prefix: '[CALL]', suffix: '[/CALL]' },
    });
    expect(hermes._getSerializedCacheKeyParametersForCall({} as never)).not.toBe(
      custom._getSerializedCacheKeyParametersForCall({} as never),
    );
    const tools = (name: string) => [{ name, parameters: { type: 'object' } }];
    expect(hermes._getSerializedCacheKeyParametersForCall({ tools: tools('a') } as never)).not.toBe(
      hermes._getSerializedCacheKeyParametersForCall({ tools: tools('b') } as never),
    );
  });

  it('DecodekitLLM: models differing only in processors do not share cached text', async () => {
    const { tokens } = await createDecoder({ model }).generate(PROMPT, { maxTokens: 1 });
    const cache = new InMemoryCache();
    const a = new DecodekitLLM({ maxTokens: 8, cache, processors: [badWords([[tokens[0]]])] });
    const b = new DecodekitLLM({
      maxTokens: 8,
      cache,
      processors: [badWords([[(tokens[0] + 37) % 512]])],
    });
    const uncachedA = await new DecodekitLLM({
      maxTokens: 8,
      processors: a.decodeOptions.processors,
    }).invoke(PROMPT);
    const uncachedB = await new DecodekitLLM({
      maxTokens: 8,
      processors: b.decodeOptions.processors,
    }).invoke(PROMPT);
    expect(uncachedA).not.toBe(uncachedB);
    expect(await a.invoke(PROMPT)).toBe(uncachedA);
    expect(await b.invoke(PROMPT)).toBe(uncachedB);
  });
});
