import type { LoadedModel, LogitsProcessor } from '@decodekit/core';
import { toolPrompt } from '@decodekit/strategy-constrained';
import {
  AIMessage,
  AIMessageChunk,
  HumanMessage,
  SystemMessage,
  ToolMessage,
  type BaseMessage,
} from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { assert, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChatDecodekit } from './chat-decodekit.js';

let model: LoadedModel;

beforeAll(async () => {
  model = await new ChatDecodekit().loadModel();
});

const addArgs = z.object({
  a: z.number().int().min(0).max(99).describe('First addend'),
  b: z.number().int().min(0).max(99).describe('Second addend'),
});
const add = tool(({ a, b }) => String(a + b), {
  name: 'add',
  description: 'Adds two integers.',
  schema: addArgs,
});
const weatherArgs = z.object({ city: z.string().min(1).max(12), unit: z.enum(['c', 'f']) });
const weather = tool(({ city, unit }) => `Sunny in ${city}, 20°${unit.toUpperCase()}`, {
  name: 'get_weather',
  description: 'Current weather in a city.',
  schema: weatherArgs,
});
const argsOf: Record<string, z.ZodType> = { add: addArgs, get_weather: weatherArgs };

/** Every tool call names a bound tool, has an id, and arguments valid under that tool's schema. */
function expectValidCalls(message: AIMessage, names: readonly string[]): void {
  for (const call of message.tool_calls ?? []) {
    expect(names).toContain(call.name);
    expect(typeof call.id).toBe('string');
    expect(call.id?.length).toBeGreaterThan(0);
    expect(argsOf[call.name].safeParse(call.args).success, JSON.stringify(call)).toBe(true);
  }
}

describe('ChatDecodekit tool calling (grammar-constrained)', () => {
  it('tool_choice "any" / "required" always answers with one valid call; the id is unique', async () => {
    const chat = new ChatDecodekit({ maxTokens: 100 });
    for (const tool_choice of ['any', 'required'] as const) {
      const bound = chat.bindTools([add, weather], { tool_choice });
      const ids = new Set<string>();
      for (const options of [{}, { temperature: 1, seed: 1 }, { temperature: 1, seed: 2 }]) {
        const reply = (await bound.invoke('What is 2 plus 3?', options)) as AIMessage;
        expect(reply).toBeInstanceOf(AIMessage);
        expect(reply.tool_calls).toHaveLength(1);
        expect(reply.content).toBe('');
        expectValidCalls(reply, ['add', 'get_weather']);
        expect(reply.response_metadata.finish_reason).toBe('tool_calls');
        const id = reply.tool_calls?.[0]?.id;
        assert(id, 'a tool call has an id');
        ids.add(id);
      }
      expect(ids.size).toBe(3);
    }
  });

  it('a named tool_choice calls that tool (string or OpenAI form); "none" answers in text', async () => {
    const chat = new ChatDecodekit({ maxTokens: 100 });
    for (const tool_choice of [
      'get_weather',
      { type: 'function', function: { name: 'get_weather' } },
    ]) {
      const reply = (await chat
        .bindTools([add, weather], { tool_choice })
        .invoke('Weather in Paris?')) as AIMessage;
      expect(reply.tool_calls?.map(call => call.name)).toEqual(['get_weather']);
      expectValidCalls(reply, ['get_weather']);
    }
    const text = (await chat
      .bindTools([add, weather], { tool_choice: 'none' })
      .invoke('Tell me a story.')) as AIMessage;
    expect(text.tool_calls ?? []).toEqual([]);
    expect(typeof text.content).toBe('string');
    expect((text.content as string).length).toBeGreaterThan(0);
  });

  it('tool_choice "auto": text or a valid call, never a broken one (greedy and sampled)', async () => {
    const bound = new ChatDecodekit({ maxTokens: 60 }).bindTools([add, weather]);
    for (let seed = 0; seed < 6; seed++) {
      const reply = (await bound.invoke('What is 2 plus 3?', {
        temperature: seed === 0 ? 0 : 1.5,
        seed,
      })) as AIMessage;
      if ((reply.tool_calls ?? []).length > 0) expectValidCalls(reply, ['add', 'get_weather']);
      else expect(String(reply.content).startsWith('<tool_call>\n')).toBe(false);
    }
  });

  it('tool_choice "auto" lets the model choose: a model that starts a call gets a complete, valid one', async () => {
    // stories260K never starts a call by itself. This processor (it runs before the constraint) makes it
    // prefer the tokens that spell the call marker while its answer is still a prefix of it, as a model
    // that decided to call would; which tool and which arguments stay the model's choice.
    const marker = '<tool_call>\n';
    // A token's text after another token (a lone token decodes without its leading space).
    const [anchor] = model.tokenizer.encode('a', { addSpecialTokens: false });
    const anchorText = model.tokenizer.decode([anchor]);
    const pieces = Array.from({ length: model.info.vocabSize }, (_, id) =>
      model.tokenizer.decode([anchor, id]).slice(anchorText.length),
    );
    const prefersCall: LogitsProcessor<string> = {
      name: 'prefers-call',
      init: () => '',
      advance: (text, token) => text + pieces[token],
      process(logits, text) {
        if (text.length >= marker.length || !marker.startsWith(text)) return;
        pieces.forEach((piece, id) => {
          const next = text + piece;
          if (piece.length > 0 && (marker.startsWith(next) || next.startsWith(marker)))
            logits[id] += 50;
        });
      },
    };
    for (const processors of [[prefersCall], []]) {
      for (const streaming of [false, true]) {
        const reply = (await new ChatDecodekit({ maxTokens: 100, processors, streaming })
          .bindTools([add, weather])
          .invoke('What is 2 plus 3?')) as AIMessage;
        if (processors.length > 0) {
          expect(reply.tool_calls).toHaveLength(1);
          expect(reply.content).toBe('');
          expectValidCalls(reply, ['add', 'get_weather']);
        } else {
          expect(reply.tool_calls ?? []).toEqual([]);
          expect(String(reply.content).length).toBeGreaterThan(0);
        }
      }
    }
  });

  it('an empty prefix writes bare JSON calls (Llama 3 style), constrained, parsed and rendered the same way', async () => {
    const format = { prefix: '', suffix: '', argumentsKey: 'parameters' };
    const chat = new ChatDecodekit({ maxTokens: 100, toolCallFormat: format });
    const reply = (await chat
      .bindTools([add], { tool_choice: 'any' })
      .invoke('What is 2 plus 3?')) as AIMessage;
    expect(reply.tool_calls).toHaveLength(1);
    expectValidCalls(reply, ['add']);
    const history: BaseMessage[] = [new HumanMessage('What is 2 plus 3?'), reply];
    const next = (await chat
      .bindTools([add], { tool_choice: 'none' })
      .invoke(history)) as AIMessage;
    const call = reply.tool_calls?.[0];
    assert(call, 'a call was made');
    const expected =
      'User: What is 2 plus 3?\n' +
      `Assistant: ${JSON.stringify({ name: 'add', parameters: call.args })}\nAssistant:`;
    expect(next.usage_metadata?.input_tokens).toBe(model.tokenizer.encode(expected).length);
  });

  it('streams a call as tool_call_chunks that concatenate to invoke’s tool_calls; text never leaks the call', async () => {
    const bound = new ChatDecodekit({ maxTokens: 100 }).bindTools([add], { tool_choice: 'any' });
    const invoked = (await bound.invoke('What is 2 plus 3?')) as AIMessage;
    let full: AIMessageChunk | undefined;
    const toolChunks: AIMessageChunk[] = [];
    for await (const chunk of await bound.stream('What is 2 plus 3?')) {
      expect(String(chunk.content)).not.toContain('<tool_call>');
      if (chunk.tool_call_chunks?.length) toolChunks.push(chunk);
      full = full ? full.concat(chunk) : chunk;
    }
    // The name arrives first (with the id), then the arguments as they are decoded, not all at the end.
    expect(toolChunks.length).toBeGreaterThan(3);
    expect(toolChunks[0].tool_call_chunks?.[0]).toMatchObject({ name: 'add', index: 0 });
    expect(toolChunks[0].tool_call_chunks?.[0]?.id).toMatch(/^call_/);
    assert(full, 'the stream yields chunks');
    assert(invoked.tool_calls, 'invoke answers with tool calls');
    expect(full.tool_call_chunks?.length).toBeGreaterThan(0);
    expect(full.tool_calls?.map(({ name, args }) => ({ name, args }))).toEqual(
      invoked.tool_calls.map(({ name, args }) => ({ name, args })),
    );
    // streaming: true routes invoke through the same stream: the message carries tool_calls too.
    const streamed = (await new ChatDecodekit({ maxTokens: 100, streaming: true })
      .bindTools([add], { tool_choice: 'any' })
      .invoke('What is 2 plus 3?')) as AIMessage;
    expect(streamed.tool_calls?.map(({ name, args }) => ({ name, args }))).toEqual(
      invoked.tool_calls.map(({ name, args }) => ({ name, args })),
    );
  });

  it('renders tools, earlier calls and tool results in the chat template', async () => {
    const bound = new ChatDecodekit({ maxTokens: 8 }).bindTools([add]);
    const history: BaseMessage[] = [
      new SystemMessage('You are helpful.'),
      new HumanMessage('What is 1 + 2?'),
      new AIMessage({
        content: '',
        tool_calls: [{ id: 'c1', name: 'add', args: { a: 1, b: 2 }, type: 'tool_call' }],
      }),
      new ToolMessage({ content: '3', tool_call_id: 'c1' }),
    ];
    const reply = (await bound.invoke(history)) as AIMessage;
    const expected =
      `System: You are helpful.\n\n${toolPromptFor(bound)}\n` +
      'User: What is 1 + 2?\n' +
      'Assistant: <tool_call>\n{"name":"add","arguments":{"a":1,"b":2}}\n</tool_call>\n' +
      'Tool: 3\nAssistant:';
    expect(reply.usage_metadata?.input_tokens).toBe(model.tokenizer.encode(expected).length);
  });

  it('a LangChain agent loop runs: bindTools → tool call → ToolMessage → final answer', async () => {
    const tools = { add, get_weather: weather };
    const chat = new ChatDecodekit({ maxTokens: 100 });
    const messages: BaseMessage[] = [new HumanMessage('What is 2 plus 3? Use the add tool.')];
    let executed = 0;
    for (let step = 0; step < 4; step++) {
      // The first turn must call a tool, the last must answer; in between the model decides.
      const tool_choice = step === 0 ? 'any' : step === 3 ? 'none' : 'auto';
      const reply = (await chat
        .bindTools(Object.values(tools), { tool_choice })
        .invoke(messages)) as AIMessage;
      messages.push(reply);
      if (!reply.tool_calls?.length) break;
      expectValidCalls(reply, Object.keys(tools));
      for (const call of reply.tool_calls) {
        const selected = tools[call.name as keyof typeof tools] as {
          invoke(input: unknown): Promise<unknown>;
        };
        const result = (await selected.invoke(call)) as ToolMessage;
        expect(result).toBeInstanceOf(ToolMessage);
        expect(result.tool_call_id).toBe(call.id);
        messages.push(result);
        executed += 1;
      }
    }
    expect(executed).toBeGreaterThan(0);
    const final = messages.at(-1) as AIMessage;
    expect(final).toBeInstanceOf(AIMessage);
    expect(final.tool_calls ?? []).toEqual([]);
    expect(typeof final.content).toBe('string');
    expect(messages.filter(message => message instanceof ToolMessage).length).toBe(executed);
  });

  it('rejects what it cannot honour where it is given', () => {
    const chat = new ChatDecodekit();
    const emailTool = { name: 'mail', description: '', schema: z.object({ to: z.email() }) };
    expect(() => chat.bindTools([tool(() => '', emailTool)])).toThrow(/format|pattern/);
    expect(() => chat.bindTools([add, add])).toThrow(/repeats/);
    expect(() => chat.bindTools([add], { tool_choice: 'search' })).toThrow(/search/);
  });
});

/** The tool prompt a bound model adds for the `add` tool (as the model sees its JSON Schema). */
function toolPromptFor(bound: unknown): string {
  const { tools } = (bound as { config?: { tools?: never } }).config ?? {};
  return toolPrompt(tools ?? []);
}
