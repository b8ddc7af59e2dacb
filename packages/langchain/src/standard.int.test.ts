/**
 * LangChain's standard chat-model tests (langchain-ai/langchainjs, internal/standard-tests:
 * ChatModelUnitTests and ChatModelIntegrationTests), restated for ChatDecodekit. `@langchain/standard-tests`
 * is not published on npm, so the behaviours are checked here one by one under the same names; the ones
 * that need tool calling or multimodal input are listed in `notApplicable` with the reason (also in the
 * README).
 */
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import {
  AIMessage,
  AIMessageChunk,
  HumanMessage,
  SystemMessage,
  getBufferString,
  type UsageMetadata,
} from '@langchain/core/messages';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChatDecodekit, type ChatDecodekitInput } from './chat-decodekit.js';

// The standard suites construct the model with these parameters (temperature 0, 100 tokens, no stops).
const constructorArgs: ChatDecodekitInput = { temperature: 0, maxTokens: 100, stop: [] };
const create = (extra: Record<string, unknown> = {}) =>
  new ChatDecodekit({ ...constructorArgs, ...extra });

const person = z
  .object({
    name: z.string().describe('Name of the person'),
    age: z.number().int().positive().describe('Age'),
  })
  .describe('A person');
const adderSchema = z
  .object({
    a: z.number().int().describe('The first integer to add.'),
    b: z.number().int().describe('The second integer to add.'),
  })
  .describe('Add two integers');
const MATH_ADDITION_PROMPT = ChatPromptTemplate.fromMessages([
  ['system', 'You are bad at math and must ALWAYS call the {toolName} function.'],
  ['human', 'What is the sum of 1836281973 and 19973286?'],
]);

class OptionsHandler extends BaseCallbackHandler {
  name = 'options';
  extraParams: Record<string, any> = {};
  override handleChatModelStart(...args: unknown[]): void {
    this.extraParams = args[4] as Record<string, any>;
  }
}

function expectUsage(usage: UsageMetadata | undefined): void {
  expect(usage).toBeDefined();
  expect(typeof usage!.input_tokens).toBe('number');
  expect(typeof usage!.output_tokens).toBe('number');
  expect(typeof usage!.total_tokens).toBe('number');
  expect(usage!.input_tokens).toBeGreaterThan(0);
  expect(usage!.output_tokens).toBeGreaterThan(0);
}

describe('ChatModelUnitTests', () => {
  it('testChatModelInit', () => {
    expect(create()).toBeDefined();
  });

  it('testChatModelInitApiKey (an unused apiKey does not break construction)', () => {
    expect(create({ apiKey: 'test' })).toBeDefined();
  });

  it('testChatModelInitStreaming', () => {
    expect(create({ streaming: true }).streaming).toBe(true);
  });

  it('testChatModelWithStructuredOutput', () => {
    expect(create().withStructuredOutput(person)).toBeDefined();
  });

  it('testStandardParams', () => {
    const params = create().getLsParams({} as never);
    expect(Object.keys(params).sort()).toEqual(
      [
        'ls_provider',
        'ls_model_name',
        'ls_model_type',
        'ls_temperature',
        'ls_max_tokens',
        'ls_stop',
      ].sort(),
    );
    expect(params).toMatchObject({
      ls_provider: 'decodekit',
      ls_model_type: 'chat',
      ls_temperature: 0,
      ls_max_tokens: 100,
    });
  });

  it('testInvokeThrowsWithAbortedSignal', async () => {
    await expect(
      create().invoke([new HumanMessage('hello')], { signal: AbortSignal.abort() }),
    ).rejects.toThrow();
  });

  it('testStreamReturnsEarlyWithAbortedSignal', async () => {
    const chunks: AIMessageChunk[] = [];
    let threw = false;
    try {
      for await (const chunk of await create().stream([new HumanMessage('hello')], {
        signal: AbortSignal.abort(),
      })) {
        chunks.push(chunk);
      }
    } catch {
      threw = true;
    }
    expect(threw || chunks.length === 0).toBe(true);
    expect(chunks).toHaveLength(0);
  });
});

describe('ChatModelIntegrationTests', () => {
  it('testInvoke', async () => {
    const result = await create().invoke('Hello');
    expect(result).toBeInstanceOf(AIMessage);
    expect(typeof result.text).toBe('string');
    expect(result.text).not.toBe('');
  });

  it('testStream', async () => {
    let characters = 0;
    let count = 0;
    for await (const chunk of await create().stream('Hello')) {
      count += 1;
      expect(chunk).toBeInstanceOf(AIMessageChunk);
      expect(typeof chunk.content).toBe('string');
      characters += chunk.text.length;
    }
    expect(count).toBeGreaterThan(0);
    expect(characters).toBeGreaterThan(0);
  });

  it('testBatch', async () => {
    const results = await create().batch(['Hello', 'Hey']);
    expect(results).toHaveLength(2);
    for (const result of results) {
      expect(result).toBeInstanceOf(AIMessage);
      expect(result.text).not.toBe('');
    }
  });

  it('testStreamEvents', async () => {
    const events = [];
    for await (const event of create().streamEvents('Hello', { version: 'v2' })) events.push(event);
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events[0].event).toBe('on_chat_model_start');
    expect(events.at(-1)!.event).toBe('on_chat_model_end');
    expect(events[Math.floor(events.length / 2)].event).toBe('on_chat_model_stream');
    const streamed = events
      .filter(event => event.event === 'on_chat_model_stream')
      .map(event => (event.data.chunk as AIMessageChunk).text)
      .join('');
    expect((events.at(-1)!.data.output as AIMessageChunk).text).toBe(streamed);
  });

  it('testConversation', async () => {
    const result = await create().invoke([
      new HumanMessage('hello'),
      new AIMessage('hello'),
      new HumanMessage('how are you'),
    ]);
    expect(result).toBeInstanceOf(AIMessage);
    expect(result.text).not.toBe('');
  });

  it('testDoubleMessageConversation', async () => {
    const result = await create().invoke([
      new SystemMessage('hello'),
      new SystemMessage('hello'),
      new HumanMessage('hello'),
      new HumanMessage('hello'),
      new AIMessage('hello'),
      new AIMessage('hello'),
      new HumanMessage('how are you'),
    ]);
    expect(result).toBeInstanceOf(AIMessage);
    expect(result.text).not.toBe('');
  });

  it('testUsageMetadata', async () => {
    const result = await create().invoke('Hello');
    expectUsage(result.usage_metadata);
    expect(typeof result.response_metadata.model).toBe('string');
    expect(result.response_metadata.model).not.toBe('');
  });

  it('testUsageMetadataStreaming', async () => {
    let full: AIMessageChunk | undefined;
    for await (const chunk of await create().stream('Hello'))
      full = full ? full.concat(chunk) : chunk;
    expectUsage(full?.usage_metadata);
  });

  it('testStopSequence', async () => {
    const result = await create().invoke('hi', { stop: ['you'] });
    expect(result).toBeInstanceOf(AIMessage);
    expect(result.text).not.toContain('you');
    const custom = await create({ stop: ['you'] }).invoke('hi');
    expect(custom).toBeInstanceOf(AIMessage);
    expect(custom.text).not.toContain('you');
  });

  it('testWithStructuredOutput (method jsonSchema: constrained decoding instead of a tool call)', async () => {
    const handler = new OptionsHandler();
    const result = await MATH_ADDITION_PROMPT.pipe(
      create().withStructuredOutput(adderSchema, { name: 'math_addition' }),
    ).invoke({ toolName: 'math_addition' }, { callbacks: [handler] });
    expect(typeof result.a).toBe('number');
    expect(typeof result.b).toBe('number');
    const format = handler.extraParams.options.ls_structured_output_format;
    expect(format.kwargs.method).toBe('jsonSchema');
    expect(format.schema).toEqual(toJsonSchema(adderSchema));
  });

  it('testWithStructuredOutputIncludeRaw', async () => {
    const handler = new OptionsHandler();
    const result = await MATH_ADDITION_PROMPT.pipe(
      create().withStructuredOutput(adderSchema, { includeRaw: true, name: 'math_addition' }),
    ).invoke({ toolName: 'math_addition' }, { callbacks: [handler] });
    expect(result.raw).toBeInstanceOf(AIMessage);
    expect(typeof result.parsed.a).toBe('number');
    expect(typeof result.parsed.b).toBe('number');
    expect(handler.extraParams.options.ls_structured_output_format.schema).toEqual(
      toJsonSchema(adderSchema),
    );
  });

  it('testCacheComplexMessageTypes', async () => {
    const model = create({ cache: true });
    const message = new HumanMessage({ content: [{ type: 'text', text: 'Hello there!' }] });
    const prompt = getBufferString([message]);
    const llmKey = model._getSerializedCacheKeyParametersForCall({} as never);
    await model.invoke([message]);
    const cached = await model.cache!.lookup(prompt, llmKey);
    expect(cached).toHaveLength(1);
    const cachedMessage = (cached![0] as unknown as { message: AIMessage }).message;
    const result = await model.invoke([message]);
    expect(result).toEqual(cachedMessage);
    expect(await model.cache!.lookup(prompt, llmKey)).toEqual(cached);
  });

  it('testStandardTextContentBlocks', async () => {
    const result = await create().invoke([
      new HumanMessage({
        content: [
          { type: 'text', source_type: 'text', text: 'Hello from a text content block!' } as never,
        ],
      }),
    ]);
    expect(result.text).not.toBe('');
  });

  it('testInvokeMoreComplexTools (through withStructuredOutput; z.record(z.unknown()) is any JSON object)', async () => {
    const complexSchema = z.object({
      decision: z.enum(['UseAPI', 'UseFallback']),
      explanation: z.string().max(20),
      apiDetails: z.object({
        serviceName: z.string().max(12),
        endpointName: z.string().max(12),
        parameters: z.record(z.string(), z.unknown()),
        extractionPath: z.string().max(20),
      }),
    });
    const result = await create({ maxTokens: 200 })
      .withStructuredOutput(complexSchema, { name: 'service_tool' })
      .invoke('Use the API.');
    expect(complexSchema.safeParse(result).success).toBe(true);
    expect(typeof result.apiDetails).toBe('object');
  });

  // Tool calling and multimodal input are not features of a local text model without tools.
  const notApplicable: Record<string, string> = {
    testChatModelWithBindTools:
      'ChatDecodekit has no bindTools: the models it runs are not trained to call tools.',
    testToolCalling: 'needs bindTools and tool_calls in the reply.',
    testBindToolsWithRunnableToolLike: 'needs bindTools.',
    testBindToolsWithOpenAIFormattedTools: 'needs bindTools.',
    testToolMessageHistoriesStringContent:
      'needs bindTools (tool-result histories do render: see chat-decodekit.int.test.ts).',
    testToolMessageHistoriesListContent: 'needs bindTools.',
    testStructuredFewShotExamples: 'needs bindTools.',
    testStreamTokensWithToolCalls: 'needs bindTools and tool_calls in the stream.',
    testModelCanUseToolUseAIMessage: 'needs tool_calls in the reply.',
    testModelCanUseToolUseAIMessageWithStreaming: 'needs tool_calls in the stream.',
    testParallelToolCalling: 'needs parallel tool calls.',
    testModelCanAcceptStructuredToolParamsSchema: 'needs bindTools.',
    testStreamTools: 'needs bindTools.',
    testStandardImageContentBlocks:
      'text-only models: image blocks are rejected with InvalidArgumentError.',
    testStandardAudioContentBlocks:
      'text-only models: audio blocks are rejected with InvalidArgumentError.',
    testStandardFileContentBlocks:
      'text-only models: file blocks are rejected with InvalidArgumentError.',
    'usage details (audio, reasoning, cache read/creation)':
      'a local decoder has no such token categories.',
  };
  for (const [name, reason] of Object.entries(notApplicable))
    it.skip(`${name} — not applicable: ${reason}`, () => {});
});
