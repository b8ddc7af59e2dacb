import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  badWords,
  createDecoder,
  createTokenizer,
  InvalidArgumentError,
  speculative,
  type LoadedModel,
} from '@decodekit/core';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import {
  AIMessage,
  AIMessageChunk,
  HumanMessage,
  SystemMessage,
  ToolMessage,
  type BaseMessage,
} from '@langchain/core/messages';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import Ajv2020 from 'ajv/dist/2020.js';
import { assert, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { jsonSchema, normalizeJsonSchema, type JsonSchema } from '@decodekit/strategy-constrained';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import { ChatDecodekit, type DecodekitResponseMetadata } from './chat-decodekit.js';

let model: LoadedModel;

beforeAll(async () => {
  model = await new ChatDecodekit().loadModel();
});

/** What core's own decoder produces for the same chat at T = 0: the adapter must add nothing. */
async function coreReply(messages: { role: string; content: string }[], maxTokens: number) {
  return createDecoder({ model }).generate({ messages }, { maxTokens });
}

/** Records what LangChain's callback system sees. */
class Recorder extends BaseCallbackHandler {
  name = 'recorder';
  tokens: string[] = [];
  started: BaseMessage[][][] = [];
  ended = 0;
  errors: unknown[] = [];
  override handleLLMNewToken(token: string): void {
    this.tokens.push(token);
  }
  override handleChatModelStart(_llm: unknown, messages: BaseMessage[][]): void {
    this.started.push(messages);
  }
  override handleLLMEnd(): void {
    this.ended += 1;
  }
  override handleLLMError(error: unknown): void {
    this.errors.push(error);
  }
}

describe('ChatDecodekit with stories260K', () => {
  it('renders the chat with the model’s template (plain Role: content for stories260K) and matches core', async () => {
    const chat = new ChatDecodekit({ maxTokens: 24 });
    const reply = await chat.invoke([
      new SystemMessage('You tell stories.'),
      new HumanMessage('Tell me about a cat.'),
    ]);
    const expected = await coreReply(
      [
        { role: 'system', content: 'You tell stories.' },
        { role: 'user', content: 'Tell me about a cat.' },
      ],
      24,
    );
    expect(reply).toBeInstanceOf(AIMessage);
    expect(reply.text).toBe(expected.text);
    expect(reply.text.length).toBeGreaterThan(0);
    const rendered = model.tokenizer.applyChatTemplate([
      { role: 'system', content: 'You tell stories.' },
      { role: 'user', content: 'Tell me about a cat.' },
    ]);
    expect(rendered).toBe('System: You tell stories.\nUser: Tell me about a cat.\nAssistant:');
    expect(reply.usage_metadata).toEqual({
      input_tokens: model.tokenizer.encode(rendered).length,
      output_tokens: expected.tokens.length,
      total_tokens: model.tokenizer.encode(rendered).length + expected.tokens.length,
    });
    expect(reply.response_metadata).toMatchObject({
      model: 'karpathy/tinyllamas/stories260K',
      model_provider: 'decodekit',
      finish_reason: expected.reason === 'length' ? 'length' : 'stop',
    });
  });

  it('uses a Jinja chat_template when the tokenizer has one', async () => {
    const tokenizerJson = JSON.parse(await readFile(join(model.source, 'tokenizer.json'), 'utf8'));
    const chatTemplate =
      "{% for message in messages %}[{{ message['role'] }}] {{ message['content'] }}\n{% endfor %}" +
      '{% if add_generation_prompt %}[assistant]{% endif %}';
    const tokenizer = createTokenizer({
      tokenizerJson,
      tokenizerConfig: { chat_template: chatTemplate },
    });
    const templated: LoadedModel = {
      info: model.info,
      capabilities: model.capabilities,
      source: model.source,
      tokenizer,
      createSequence: () => model.createSequence(),
      dispose: async () => {},
    };
    const recorder = new Recorder();
    const reply = await new ChatDecodekit({ model: templated, maxTokens: 8 }).invoke('Hi', {
      callbacks: [recorder],
    });
    expect(reply.usage_metadata?.input_tokens).toBe(
      tokenizer.encode('[user] Hi\n[assistant]').length,
    );
  });

  it('streams chunks whose text and callbacks add up to invoke’s reply, usage on the last chunk', async () => {
    const chat = new ChatDecodekit({ maxTokens: 32 });
    const recorder = new Recorder();
    const chunks: AIMessageChunk[] = [];
    for await (const chunk of await chat.stream('Once upon a time', { callbacks: [recorder] }))
      chunks.push(chunk);
    const invoked = await chat.invoke('Once upon a time');
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk).toBeInstanceOf(AIMessageChunk);
    const full = chunks.reduce((left, right) => left.concat(right));
    expect(full.text).toBe(invoked.text);
    expect(recorder.tokens.join('')).toBe(invoked.text);
    expect(recorder.ended).toBe(1);
    assert(invoked.usage_metadata, 'invoke reports usage');
    expect(full.usage_metadata).toMatchObject(invoked.usage_metadata);
    expect(chunks.slice(0, -1).every(chunk => chunk.usage_metadata === undefined)).toBe(true);
    expect(full.response_metadata).toMatchObject({
      finish_reason: 'length',
      model_name: 'karpathy/tinyllamas/stories260K',
    });
  });

  it('streaming: true routes invoke through the token stream (callbacks fire) with the same reply', async () => {
    const recorder = new Recorder();
    const streamed = await new ChatDecodekit({ maxTokens: 16, streaming: true }).invoke('Hello', {
      callbacks: [recorder],
    });
    const plain = await new ChatDecodekit({ maxTokens: 16 }).invoke('Hello');
    expect(streamed.text).toBe(plain.text);
    expect(recorder.tokens.join('')).toBe(plain.text);
    assert(plain.usage_metadata, 'invoke reports usage');
    expect(streamed.usage_metadata).toMatchObject(plain.usage_metadata);
  });

  it('batch gives each input the reply invoke gives it', async () => {
    const chat = new ChatDecodekit({ maxTokens: 12 });
    const [first, second] = await chat.batch([
      'Hello',
      'Once upon a time there was a dog named Max.',
    ]);
    expect(first.text).toBe((await chat.invoke('Hello')).text);
    expect(second.text).toBe(
      (await chat.invoke('Once upon a time there was a dog named Max.')).text,
    );
    expect(first.text).not.toBe(second.text);
  });

  it('stops before a stop string (call option, or constructor default that the call replaces)', async () => {
    const free = await new ChatDecodekit({ maxTokens: 48 }).invoke('Tell me a story.');
    const word = free.text.trim().split(/\s+/)[3];
    const cut = free.text.indexOf(word);
    const stopped = await new ChatDecodekit({ maxTokens: 48 }).invoke('Tell me a story.', {
      stop: [word],
    });
    expect(stopped.text).toBe(free.text.slice(0, cut));
    expect(stopped.response_metadata.finish_reason).toBe('stop');
    expect(stopped.response_metadata.decodekit_finish_reason).toBe('stop');
    const byDefault = new ChatDecodekit({ maxTokens: 48, stop: [word] });
    expect((await byDefault.invoke('Tell me a story.')).text).toBe(free.text.slice(0, cut));
    expect((await byDefault.invoke('Tell me a story.', { stop: ['\u0007'] })).text).toBe(free.text);
    let streamed = '';
    for await (const chunk of await byDefault.stream('Tell me a story.')) streamed += chunk.text;
    expect(streamed).toBe(free.text.slice(0, cut));
  });

  it('rejects on an aborted signal: before the call, during a stream, and on timeout', async () => {
    const chat = new ChatDecodekit({ maxTokens: 200 });
    await expect(chat.invoke('Hello', { signal: AbortSignal.abort() })).rejects.toThrow();
    const controller = new AbortController();
    const received: string[] = [];
    const run = async () => {
      for await (const chunk of await chat.stream('Once upon a time', {
        signal: controller.signal,
      })) {
        received.push(chunk.text);
        if (received.length === 3) controller.abort(new Error('enough'));
      }
    };
    await expect(run()).rejects.toThrow();
    expect(received.length).toBe(3);
    await expect(chat.invoke('Hello', { timeout: 20, strategy: slowStrategy() })).rejects.toThrow();
  });

  it('call options override the instance’s decode options for one call', async () => {
    const chat = new ChatDecodekit({ maxTokens: 20 });
    const short = await chat.invoke('Hello', { maxTokens: 5 });
    expect(short.usage_metadata?.output_tokens).toBe(5);
    const greedy = await chat.invoke('Hello');
    const sampledA = await chat.invoke('Hello', { temperature: 1, seed: 7 });
    const sampledB = await chat.invoke('Hello', { temperature: 1, seed: 7 });
    const sampledC = await chat.invoke('Hello', { temperature: 1, seed: 8 });
    expect(sampledA.text).toBe(sampledB.text);
    expect(new Set([greedy.text, sampledA.text, sampledC.text]).size).toBeGreaterThan(1);
    expect((await chat.invoke('Hello')).text).toBe(greedy.text); // the instance is unchanged
  });

  it('runs the configured strategy and processors (instance and per call)', async () => {
    const speculativeChat = new ChatDecodekit({
      maxTokens: 40,
      strategy: speculative({ drafter: promptLookup(), adaptive: false }),
    });
    const plain = await new ChatDecodekit({ maxTokens: 40 }).invoke('Tell me about Lily and Lily.');
    const drafted = await speculativeChat.invoke('Tell me about Lily and Lily.');
    expect(drafted.text).toBe(plain.text); // lossless at T = 0
    expect(
      (drafted.response_metadata as unknown as DecodekitResponseMetadata).decodekit_stats
        .draftTokens,
    ).toBeGreaterThan(0);
    expect(
      (plain.response_metadata as unknown as DecodekitResponseMetadata).decodekit_stats.draftTokens,
    ).toBeUndefined();

    const { tokens } = await coreReply(
      [{ role: 'user', content: 'Tell me about Lily and Lily.' }],
      40,
    );
    const withoutIt = await new ChatDecodekit({ maxTokens: 40 }).invoke(
      'Tell me about Lily and Lily.',
      {
        processors: [badWords([[tokens[0]]])],
      },
    );
    const expected = await createDecoder({ model, processors: [badWords([[tokens[0]]])] }).generate(
      { messages: [{ role: 'user', content: 'Tell me about Lily and Lily.' }] },
      { maxTokens: 40 },
    );
    expect(expected.tokens).not.toContain(tokens[0]);
    expect(withoutIt.text).toBe(expected.text);
    expect(withoutIt.text).not.toBe(plain.text);
  });

  it('reports LangSmith params and caches complex messages like any LangChain chat model', async () => {
    const chat = new ChatDecodekit({ maxTokens: 10, temperature: 0.5, cache: true });
    expect(chat.getLsParams({ stop: ['x'] } as never)).toEqual({
      ls_provider: 'decodekit',
      ls_model_name: 'karpathy/tinyllamas/stories260K',
      ls_model_type: 'chat',
      ls_temperature: 0.5,
      ls_max_tokens: 10,
      ls_stop: ['x'],
    });
    const message = new HumanMessage({ content: [{ type: 'text', text: 'Hello there!' }] });
    const generate = vi.spyOn(chat, '_generate');
    const first = await chat.invoke([message]);
    const second = await chat.invoke([message]);
    expect(second.text).toBe(first.text);
    expect(generate).toHaveBeenCalledTimes(1);
  });

  it('streamEvents: start, streamed chunks, end whose output equals the chunks', async () => {
    const chat = new ChatDecodekit({ maxTokens: 12 });
    const events = [];
    for await (const event of chat.streamEvents('Hello', { version: 'v2' })) events.push(event);
    expect(events[0].event).toBe('on_chat_model_start');
    const last = events.at(-1);
    assert(last, 'streamEvents yields events');
    expect(last.event).toBe('on_chat_model_end');
    expect(events[Math.floor(events.length / 2)].event).toBe('on_chat_model_stream');
    const streamed = events
      .filter(event => event.event === 'on_chat_model_stream')
      .map(event => (event.data.chunk as AIMessageChunk).text)
      .join('');
    expect((last.data.output as AIMessageChunk).text).toBe(streamed);
  });

  it('renders histories with tool results and rejects images', async () => {
    const chat = new ChatDecodekit({ maxTokens: 6 });
    const reply = await chat.invoke([
      new HumanMessage('What is 1 + 2?'),
      new AIMessage({
        content: '',
        tool_calls: [{ id: 'c1', name: 'add', args: { a: 1, b: 2 }, type: 'tool_call' }],
      }),
      new ToolMessage({ content: '3', tool_call_id: 'c1' }),
    ]);
    expect(reply.usage_metadata?.input_tokens).toBe(
      model.tokenizer.encode(
        'User: What is 1 + 2?\n' +
          'Assistant: <tool_call>\n{"name":"add","arguments":{"a":1,"b":2}}\n</tool_call>\n' +
          'Tool: 3\nAssistant:',
      ).length,
    );
    await expect(
      chat.invoke([
        new HumanMessage({
          content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }],
        }),
      ]),
    ).rejects.toThrow(/text only/);
  });

  it('works in a prompt | model | StringOutputParser chain', async () => {
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'You tell short stories about {animal}s.'],
      ['human', 'Tell me about the {animal}.'],
    ]);
    const chain = prompt.pipe(new ChatDecodekit({ maxTokens: 20 })).pipe(new StringOutputParser());
    const text = await chain.invoke({ animal: 'cat' });
    const expected = await coreReply(
      [
        { role: 'system', content: 'You tell short stories about cats.' },
        { role: 'user', content: 'Tell me about the cat.' },
      ],
      20,
    );
    expect(typeof text).toBe('string');
    expect(text).toBe(expected.text);
    let streamed = '';
    for await (const piece of await chain.stream({ animal: 'cat' })) streamed += piece;
    expect(streamed).toBe(expected.text);
  });

  it('validates options where they are given', () => {
    const cases: [() => unknown, string][] = [
      [() => new ChatDecodekit({ temperature: -1 }), 'temperature'],
      [() => new ChatDecodekit({ maxTokens: 0 }), 'maxTokens'],
      [() => new ChatDecodekit({ topP: 2 }), 'topP'],
      [() => new ChatDecodekit({ model: '' }), 'model'],
      [() => new ChatDecodekit({ model: {} as never }), 'model'],
      [() => new ChatDecodekit({ strategy: {} as never }), 'strategy'],
      [() => new ChatDecodekit({ processors: [{}] as never }), 'processors[0]'],
      [() => new ChatDecodekit({ toolCallFormat: { argumentsKey: '' } }), 'toolCallFormat'],
      [() => new ChatDecodekit({ toolCallFormat: { tag: 'x' } as never }), 'toolCallFormat'],
      [() => new ChatDecodekit({ toolCallFormat: { suffix: 3 } as never }), 'toolCallFormat'],
      [() => new ChatDecodekit({ timeout: -5 }), 'timeout'],
      [() => new ChatDecodekit({ maxRetries: 1.5 }), 'maxRetries'],
    ];
    for (const [make, argument] of cases) {
      let error: unknown;
      try {
        make();
      } catch (caught) {
        error = caught;
      }
      expect(InvalidArgumentError.isInstance(error), argument).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });

  it('validates call options on the call', async () => {
    await expect(new ChatDecodekit().invoke('Hi', { topK: -3 })).rejects.toThrow(/topK/);
  });
});

describe('withStructuredOutput (JSON-schema-constrained decoding)', () => {
  const character = z.object({
    name: z.string().min(1).max(12),
    age: z.number().int().min(1).max(99),
    kind: z.enum(['cat', 'dog', 'bird']),
  });

  it('returns parsed objects valid against the zod schema, greedy and sampled', async () => {
    const chat = new ChatDecodekit({ maxTokens: 48 });
    const structured = chat.withStructuredOutput(character);
    for (const options of [{}, { temperature: 1, seed: 1 }, { temperature: 1, seed: 2 }]) {
      const result = await structured.invoke('Describe a character from the story.', options);
      expect(character.safeParse(result).success, JSON.stringify(result)).toBe(true);
    }
  });

  it('includeRaw gives the raw AIMessage (compact JSON) and the parsed object', async () => {
    const structured = new ChatDecodekit({ maxTokens: 48 }).withStructuredOutput(character, {
      includeRaw: true,
      method: 'jsonSchema',
    });
    const { raw, parsed } = await structured.invoke('Describe a character.');
    expect(raw).toBeInstanceOf(AIMessage);
    expect(JSON.parse(raw.text as string)).toEqual(parsed);
    expect(raw.text).toBe(JSON.stringify(parsed));
    expect((raw as AIMessage).usage_metadata?.output_tokens).toBeGreaterThan(0);
  });

  it('accepts a JSON Schema object; outputs validate with ajv', async () => {
    const schema = {
      type: 'object',
      properties: {
        title: { type: 'string', maxLength: 16 },
        happy: { type: 'boolean' },
        friends: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 2 },
      },
      required: ['title', 'happy', 'friends'],
      additionalProperties: false,
    };
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const structured = new ChatDecodekit({ maxTokens: 64 }).withStructuredOutput(schema);
    for (const seed of [1, 2, 3]) {
      const result = await structured.invoke('Write a story card.', { temperature: 1, seed });
      expect(validate(result), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it('works after a prompt template and reports the schema to tracing', async () => {
    class OptionsRecorder extends BaseCallbackHandler {
      name = 'options';
      options: Record<string, unknown>[] = [];
      override handleChatModelStart(...args: unknown[]): void {
        this.options.push((args[4] as { options: Record<string, unknown> }).options);
      }
    }
    const adder = z.object({
      a: z.number().int().describe('First'),
      b: z.number().int().describe('Second'),
    });
    const recorder = new OptionsRecorder();
    const prompt = ChatPromptTemplate.fromMessages([['human', 'What is the sum of {x} and {y}?']]);
    const result = await prompt
      .pipe(
        new ChatDecodekit({ maxTokens: 40 }).withStructuredOutput(adder, { name: 'math_addition' }),
      )
      .invoke({ x: 1, y: 2 }, { callbacks: [recorder] });
    expect(typeof result.a).toBe('number');
    expect(typeof result.b).toBe('number');
    expect(recorder.options[0].ls_structured_output_format).toMatchObject({
      kwargs: { method: 'functionCalling' },
    });
  });

  it('the default method is functionCalling: the jsonSchema object, answered as a forced tool call', async () => {
    const chat = new ChatDecodekit({ maxTokens: 48 });
    const byDefault = chat.withStructuredOutput(character, { includeRaw: true });
    const asJson = chat.withStructuredOutput(character, { includeRaw: true, method: 'jsonSchema' });
    for (const options of [{}, { temperature: 1, seed: 5 }]) {
      const { raw, parsed } = await byDefault.invoke('Describe a character.', options);
      const json = await asJson.invoke('Describe a character.', options);
      // Same prompt, same constraint, same tokens: the object is identical, only its envelope differs.
      expect(parsed).toEqual(json.parsed);
      expect(raw.text).toBe('');
      expect((raw as AIMessage).tool_calls).toEqual([
        { id: expect.stringMatching(/^call_/), name: 'extract', args: parsed, type: 'tool_call' },
      ]);
      expect((raw as AIMessage).response_metadata.finish_reason).toBe('tool_calls');
      expect((raw as AIMessage).usage_metadata).toEqual((json.raw as AIMessage).usage_metadata);
    }
    // Streamed, the call arrives as tool_call_chunks: the name first, then the arguments as decoded.
    const bound = chat.withConfig({
      responseFormat: {
        type: 'json_schema',
        schema: toJsonSchema(character) as JsonSchema,
        toolName: 'character',
      },
    });
    const invoked = (await bound.invoke('Describe a character.')) as AIMessage;
    let merged: AIMessageChunk | undefined;
    let chunks = 0;
    for await (const chunk of await bound.stream('Describe a character.')) {
      expect(chunk.content).toBe('');
      if (chunk.tool_call_chunks?.length) chunks++;
      merged = merged ? merged.concat(chunk) : chunk;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(merged?.tool_calls?.map(({ name, args }) => ({ name, args }))).toEqual(
      invoked.tool_calls?.map(({ name, args }) => ({ name, args })),
    );
    expect(() => chat.withStructuredOutput(character, { name: 'two words' })).toThrow(/name/);
  });

  it('jsonMode constrains to any JSON object', async () => {
    const result = await new ChatDecodekit({ maxTokens: 24 })
      .withStructuredOutput({}, { method: 'jsonMode' })
      .invoke('Hi');
    expect(typeof result).toBe('object');
    expect(Array.isArray(result)).toBe(false);
  });

  it('functionCalling: the object arrives as a forced, schema-constrained tool call', async () => {
    const chat = new ChatDecodekit({ maxTokens: 120 });
    const structured = chat.withStructuredOutput(character, {
      method: 'functionCalling',
      name: 'character',
      includeRaw: true,
    });
    for (const options of [{}, { temperature: 1, seed: 4 }]) {
      const { raw, parsed } = await structured.invoke('Describe a character.', options);
      expect(character.safeParse(parsed).success, JSON.stringify(parsed)).toBe(true);
      expect((raw as AIMessage).tool_calls).toEqual([
        expect.objectContaining({ name: 'character', args: parsed }),
      ]);
    }
    const schema = {
      type: 'object',
      properties: { title: { type: 'string', maxLength: 10 } },
      required: ['title'],
    };
    const plain = await chat
      .withStructuredOutput(schema, { method: 'functionCalling' })
      .invoke('A title:');
    expect(typeof plain.title).toBe('string');
  });

  it('rejects unknown methods and schemas the constraint cannot enforce', () => {
    const chat = new ChatDecodekit();
    expect(() => chat.withStructuredOutput(character, { method: 'guess' as never })).toThrow(
      /guess/,
    );
    expect(() => chat.withStructuredOutput({ type: 'string', format: 'email' })).toThrow(/format/);
    expect(() =>
      chat.withStructuredOutput({ type: 'string', format: 'email' }, { method: 'functionCalling' }),
    ).toThrow(/format/);
  });

  it('caps the JSON budget to the room left in the context, so a long prompt still gets complete JSON', async () => {
    const { contextLength } = model.info;
    const promptLength = (text: string) =>
      model.tokenizer.encode(model.tokenizer.applyChatTemplate([{ role: 'user', content: text }]))
        .length;
    // Room for the smallest valid object plus a few tokens: less than the model writes when unconstrained.
    const minimal = jsonSchema(normalizeJsonSchema(toJsonSchema(character) as JsonSchema), {
      tokenizer: model.tokenizer,
    }).minimalTokens;
    let text = '';
    while (promptLength(`${text}The cat. `) < contextLength - minimal - 2) text += 'The cat. ';
    while (promptLength(`${text} a`) < contextLength - minimal - 2) text += ' a';
    expect(contextLength - promptLength(text)).toBeLessThan(minimal + 5);
    // The default maxTokens (256) is far more than the room left: the constraint must close in that room.
    const structured = new ChatDecodekit().withStructuredOutput(character, { includeRaw: true });
    for (const options of [{}, { temperature: 1, seed: 3 }]) {
      const { raw, parsed } = await structured.invoke(text, options);
      expect(character.safeParse(parsed).success, raw.text as string).toBe(true);
    }
    // No room at all for the smallest object: a context error, not a cut JSON.
    let full = text;
    while (promptLength(`${full}The cat. `) < contextLength - 3) full += 'The cat. ';
    await expect(new ChatDecodekit().withStructuredOutput(character).invoke(full)).rejects.toThrow(
      /context/i,
    );
  });

  it('explains a budget too small for the schema', async () => {
    const structured = new ChatDecodekit({ maxTokens: 3 }).withStructuredOutput(character);
    await expect(structured.invoke('Hi')).rejects.toThrow(/maxTokens|budget|minimal/i);
  });
});

/** An autoregressive strategy that waits before each step, so a 1 ms timeout is sure to fire mid-call. */
function slowStrategy() {
  return {
    kind: 'strategy' as const,
    name: 'slow',
    lossless: true,
    async run(context: import('@decodekit/core').StrategyContext) {
      for (;;) {
        await new Promise(resolve => setTimeout(resolve, 5));
        const { logits } = await context.forward({
          tokens: Int32Array.of(context.tokens[context.tokens.length - 1]),
        });
        context.sequence.commit([0]);
        const row = logits.slice(0, context.model.info.vocabSize);
        context.processor.process(row, context.processorState);
        if (!context.emit(context.sampler.sample(row, context.random), 'target')) return;
      }
    },
  };
}
