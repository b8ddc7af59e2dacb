/**
 * LangChain's standard chat-model tests (langchain-ai/langchainjs, internal/standard-tests:
 * ChatModelUnitTests and ChatModelIntegrationTests), restated for ChatDecodekit. `@langchain/standard-tests`
 * is not published on npm, so the behaviours are checked here one by one under the same names; the ones
 * that need multimodal input, or a model that decides by itself whether to call a tool, are listed in
 * `notApplicable` with the reason (also in the README). stories260K never chooses a tool call on its own,
 * so the tool tests pass `tool_choice: "any"` as their call options (the suite's per-test call options):
 * the call is forced, its format and arguments still come from the constraint.
 */
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import {
  AIMessage,
  AIMessageChunk,
  HumanMessage,
  SystemMessage,
  ToolMessage,
  getBufferString,
  type UsageMetadata,
} from '@langchain/core/messages';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnableLambda } from '@langchain/core/runnables';
import { StructuredTool } from '@langchain/core/tools';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import { assert, describe, expect, it } from 'vitest';
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

/** The suite's AdderTool. */
class AdderTool extends StructuredTool {
  name = 'AdderTool';
  description = 'A tool for adding two numbers together.';
  schema = z.object({ a: z.number().int(), b: z.number().int() });
  async _call({ a, b }: { a: number; b: number }): Promise<string> {
    return JSON.stringify({ result: a + b });
  }
}
const forceCall = { tool_choice: 'any' } as Record<string, unknown>;
const weatherParams = {
  name: 'get_current_weather',
  description: 'Get the current weather in a given location',
  schema: z.object({ location: z.string().describe('The city name, e.g. San Francisco') }),
};

/** The extra params LangChain passes to handleChatModelStart, as far as these tests read them. */
interface ChatModelStartParams {
  options: { ls_structured_output_format: { kwargs: { method?: string }; schema: unknown } };
}

class OptionsHandler extends BaseCallbackHandler {
  name = 'options';
  extraParams = {} as ChatModelStartParams;
  override handleChatModelStart(...args: unknown[]): void {
    this.extraParams = args[4] as ChatModelStartParams;
  }
}

function expectUsage(usage: UsageMetadata | undefined): void {
  assert(usage, 'usage metadata is reported');
  expect(typeof usage.input_tokens).toBe('number');
  expect(typeof usage.output_tokens).toBe('number');
  expect(typeof usage.total_tokens).toBe('number');
  expect(usage.input_tokens).toBeGreaterThan(0);
  expect(usage.output_tokens).toBeGreaterThan(0);
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

  it('testChatModelWithBindTools', () => {
    expect(create().bindTools([new AdderTool()])).toBeDefined();
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

  it('testWithStructuredOutput', async () => {
    const handler = new OptionsHandler();
    const result = await MATH_ADDITION_PROMPT.pipe(
      create().withStructuredOutput(adderSchema, { name: 'math_addition' }),
    ).invoke({ toolName: 'math_addition' }, { callbacks: [handler] });
    expect(typeof result.a).toBe('number');
    expect(typeof result.b).toBe('number');
    const format = handler.extraParams.options.ls_structured_output_format;
    expect(format.kwargs.method).toBe('functionCalling');
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
    expect((result.raw as AIMessage).tool_calls?.[0]).toMatchObject({
      name: 'math_addition',
      args: result.parsed,
    });
    const format = handler.extraParams.options.ls_structured_output_format;
    expect(format.kwargs.method).toBe('functionCalling');
    expect(format.schema).toEqual(toJsonSchema(adderSchema));
  });

  it('testCacheComplexMessageTypes', async () => {
    const model = create({ cache: true });
    const message = new HumanMessage({ content: [{ type: 'text', text: 'Hello there!' }] });
    const prompt = getBufferString([message]);
    const llmKey = model._getSerializedCacheKeyParametersForCall({} as never);
    await model.invoke([message]);
    const { cache } = model;
    assert(cache, 'cache: true installs a cache');
    const cached = await cache.lookup(prompt, llmKey);
    assert(cached, 'the first invoke filled the cache');
    expect(cached).toHaveLength(1);
    const cachedMessage = (cached[0] as unknown as { message: AIMessage }).message;
    const result = await model.invoke([message]);
    expect(result).toEqual(cachedMessage);
    expect(await cache.lookup(prompt, llmKey)).toEqual(cached);
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

  it('testBindToolsWithOpenAIFormattedTools', async () => {
    const bound = create().bindTools([
      {
        type: 'function',
        function: {
          name: 'math_addition',
          description: adderSchema.description,
          parameters: toJsonSchema(adderSchema) as Record<string, unknown>,
        },
      },
    ]);
    const result = (await MATH_ADDITION_PROMPT.pipe(bound).invoke(
      { toolName: 'math_addition' },
      forceCall,
    )) as AIMessage;
    expect(result.tool_calls?.[0]?.name).toBe('math_addition');
  });

  it('testBindToolsWithRunnableToolLike', async () => {
    const runnableLike = RunnableLambda.from(() => {}).asTool({
      name: 'math_addition',
      description: adderSchema.description,
      schema: adderSchema,
    });
    const result = (await MATH_ADDITION_PROMPT.pipe(create().bindTools([runnableLike])).invoke(
      { toolName: 'math_addition' },
      forceCall,
    )) as AIMessage;
    expect(result.tool_calls).toHaveLength(1);
    const [call] = result.tool_calls ?? [];
    expect(call.name).toBe('math_addition');
    expect(call.args).toEqual({ a: expect.any(Number), b: expect.any(Number) });
    expect(call.id).toBeDefined();
    expect(call.type).toBe('tool_call');
  });

  const adderHistory = async () => {
    const adder = new AdderTool();
    const args = { a: 1, b: 2 };
    const output = await adder.invoke(args);
    return {
      adder,
      call: new AIMessage({
        content: '',
        tool_calls: [{ name: adder.name, args, id: 'abc123', type: 'tool_call' }],
      }),
      result: new ToolMessage(output, 'abc123', adder.name),
      output,
    };
  };

  it('testToolMessageHistoriesStringContent', async () => {
    const { adder, call, result } = await adderHistory();
    const reply = await create()
      .bindTools([adder])
      .invoke([new HumanMessage('What is 1 + 2'), call, result]);
    expect(reply).toBeInstanceOf(AIMessage);
    expect(reply.content).toBeDefined();
  });

  it('testToolMessageHistoriesListContent', async () => {
    const { adder, call, result } = await adderHistory();
    const listCall = new AIMessage({
      content: [
        { type: 'text', text: 'some text' },
        { type: 'tool_use', id: 'abc123', name: adder.name, input: { a: 1, b: 2 } },
      ],
      tool_calls: call.tool_calls,
    });
    const reply = await create()
      .bindTools([adder])
      .invoke([new HumanMessage('What is 1 + 2'), listCall, result]);
    expect(reply).toBeInstanceOf(AIMessage);
    expect(reply.content).toBeDefined();
  });

  it('testStructuredFewShotExamples', async () => {
    const { adder, call, result, output } = await adderHistory();
    const reply = await create()
      .bindTools([adder])
      .invoke([
        new HumanMessage('What is 1 + 2'),
        call,
        result,
        new AIMessage(output),
        new HumanMessage('What is 3 + 4'),
      ]);
    expect(reply).toBeInstanceOf(AIMessage);
  });

  it('testStreamTokensWithToolCalls', async () => {
    let result: AIMessageChunk | undefined;
    for await (const chunk of await MATH_ADDITION_PROMPT.pipe(
      create().bindTools([new AdderTool()]),
    ).stream({ toolName: 'math_addition' }, forceCall))
      result = result ? result.concat(chunk) : chunk;
    expect(result?.tool_calls?.[0]).toBeDefined();
    expectUsage(result?.usage_metadata);
  });

  it('testModelCanAcceptStructuredToolParamsSchema', async () => {
    const result = (await create()
      .bindTools([weatherParams])
      .invoke("What's the weather like in San Francisco today?", forceCall)) as AIMessage;
    expect(result.tool_calls?.length).toBeGreaterThanOrEqual(1);
    expect(result.tool_calls?.[0].name).toBe(weatherParams.name);
    expect(result.tool_calls?.[0].args).toHaveProperty('location');
  });

  it('testStreamTools', async () => {
    let full: AIMessageChunk | undefined;
    for await (const chunk of await create()
      .bindTools([weatherParams])
      .stream("What's the weather like in San Francisco today?", forceCall))
      full = full ? full.concat(chunk) : chunk;
    expect(full?.tool_calls?.length).toBeGreaterThanOrEqual(1);
    expect(full?.tool_calls?.[0].name).toBe(weatherParams.name);
    expect(full?.tool_calls?.[0].args).toHaveProperty('location');
  });

  // Multimodal input, and tests that need a model that decides by itself between calling and answering.
  const notApplicable: Record<string, string> = {
    testToolCalling:
      'asserts the arguments are exactly { a: 1, b: 2 } for "What is 1 + 2?": a 260K story model cannot read arithmetic (the call itself is valid: tools.int.test.ts).',
    testModelCanUseToolUseAIMessage:
      'needs a model that understands the request: it must decide to call the tool on the first turn and to answer in text on the second, under the same call options. Under "auto" the constraint allows both (tools.int.test.ts shows a model that starts a call gets a valid one), but stories260K answers in text; a forced choice ("any") makes the second turn a call as well. The loop runs with per-turn tool_choice in tools.int.test.ts.',
    testModelCanUseToolUseAIMessageWithStreaming: 'as testModelCanUseToolUseAIMessage.',
    testParallelToolCalling:
      'needs the model to choose two different tools in one answer (parallel_tool_calls: true is supported and constrained).',
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
