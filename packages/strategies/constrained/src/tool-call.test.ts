import { InvalidArgumentError, seededRandom } from '@decodekit/core';
import Ajv2020 from 'ajv/dist/2020.js';
import { assert, describe, expect, it } from 'vitest';
import { byteTokenizer } from './__fixtures__/byte-tokenizer.js';
import {
  formatToolCalls,
  parseToolCalls,
  toolCallConstraint,
  toolCallStream,
  toolPrompt,
  type ConstraintProcessor,
  type ConstraintState,
  type ToolSpec,
} from './index.js';

const bytes = byteTokenizer([
  '{"',
  '":',
  '","',
  '<tool_call>',
  '</tool_call>',
  'name',
  'arguments',
]);

const weather: ToolSpec = {
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 8 }, unit: { enum: ['c', 'f'] } },
    required: ['city', 'unit'],
  },
};
const add: ToolSpec = {
  name: 'add',
  parameters: {
    type: 'object',
    properties: { a: { type: 'integer', minimum: 0, maximum: 99 }, b: { $ref: '#/$defs/small' } },
    required: ['a', 'b'],
    $defs: { small: { type: 'integer', minimum: 0, maximum: 9 } },
  },
};
const tools = [weather, add];

/** Feeds `text` byte by byte; true when every byte was allowed and the text is complete (EOS allowed). */
function accepts(processor: ConstraintProcessor, text: string): boolean {
  let state = processor.init([]);
  for (const byte of new TextEncoder().encode(text)) {
    if (!processor.allowedTokens(state).includes(1 + byte)) return false;
    state = processor.advance(state, 1 + byte);
  }
  return processor.isComplete(state) && processor.allowedTokens(state).includes(0);
}

/** Random walk through allowed tokens, EOS taken with probability 1/4 when allowed. */
function randomWalk(
  processor: ConstraintProcessor,
  seed: number,
  limit = 400,
): { text: string; tokens: number } {
  const random = seededRandom(seed);
  let state: ConstraintState = processor.init([]);
  const ids: number[] = [];
  for (let step = 0; step < limit; step++) {
    const allowed = processor.allowedTokens(state);
    if (allowed.includes(0) && (allowed.length === 1 || random.next() < 0.25))
      return { text: bytes.decode(ids), tokens: ids.length };
    const choices = allowed.filter(id => id !== 0);
    const token = choices[Math.floor(random.next() * choices.length)];
    ids.push(token);
    state = processor.advance(state, token);
  }
  throw new Error(`no EOS after ${limit} tokens: ${bytes.decode(ids)}`);
}

const call = (name: string, args: unknown) =>
  `<tool_call>\n${JSON.stringify({ name, arguments: args })}\n</tool_call>`;

describe('toolCallConstraint', () => {
  it.each([
    ['auto', 'It is sunny.', true],
    ['auto', '', true],
    ['auto', '<tool', true], // a strict prefix of the marker is still text
    ['auto', '<tool_call>x', true], // the marker is "<tool_call>\n"
    ['auto', call('get_weather', { city: 'Paris', unit: 'c' }), true],
    ['auto', call('add', { a: 12, b: 3 }), true],
    ['auto', call('add', { a: 12, b: 30 }), false], // b's $ref allows 0..9
    ['auto', call('get_weather', { city: 'Paris' }), false], // unit is required
    ['auto', call('get_weather', { city: 'Paris', unit: 'k' }), false],
    ['auto', call('search', { q: 'x' }), false], // not a bound tool
    ['auto', `<tool_call>\n{"name":"add","arguments":{"a":1,"b":2}}`, false], // not closed
    ['auto', `${call('add', { a: 1, b: 2 })} and more`, false],
    ['auto', `${call('add', { a: 1, b: 2 })}\n${call('add', { a: 3, b: 4 })}`, false], // one call unless parallel
    ['required', 'It is sunny.', false],
    ['required', '', false],
    ['required', call('add', { a: 1, b: 2 }), true],
    ['any', call('get_weather', { city: 'Oslo', unit: 'f' }), true],
    ['none', 'It is sunny.', true],
    ['none', call('add', { a: 1, b: 2 }), false],
    ['add', call('add', { a: 1, b: 2 }), true],
    ['add', call('get_weather', { city: 'Oslo', unit: 'f' }), false],
    ['add', 'text', false],
  ] as const)('toolChoice %s on %j → %s', (choice, text, expected) => {
    const toolChoice = choice === 'add' ? { name: 'add' } : choice;
    expect(accepts(toolCallConstraint(tools, { tokenizer: bytes, toolChoice }), text)).toBe(
      expected,
    );
  });

  it('parallel: true allows several calls joined by the separator', () => {
    const processor = toolCallConstraint(tools, {
      tokenizer: bytes,
      parallel: true,
      toolChoice: 'required',
    });
    const two = `${call('add', { a: 1, b: 2 })}\n${call('get_weather', { city: 'Rome', unit: 'c' })}`;
    expect(accepts(processor, two)).toBe(true);
    expect(parseToolCalls(two).calls).toEqual([
      { name: 'add', arguments: { a: 1, b: 2 } },
      { name: 'get_weather', arguments: { city: 'Rome', unit: 'c' } },
    ]);
  });

  it('a custom format (Llama-style "parameters", no wrapper tags) is constrained and parsed the same way', () => {
    const format = {
      prefix: '[CALL]',
      suffix: '[/CALL]',
      separator: ';',
      argumentsKey: 'parameters',
    };
    const processor = toolCallConstraint(tools, { tokenizer: bytes, format });
    const text = '[CALL]{"name":"add","parameters":{"a":5,"b":6}}[/CALL]';
    expect(accepts(processor, text)).toBe(true);
    expect(parseToolCalls(text, { format }).calls).toEqual([
      { name: 'add', arguments: { a: 5, b: 6 } },
    ]);
    expect(formatToolCalls([{ name: 'add', arguments: { a: 5, b: 6 } }], { format })).toBe(text);
  });

  it('every random walk is text or calls whose arguments validate against the tool schema (auto and required)', () => {
    const ajv = new Ajv2020({ strict: false });
    const validators = new Map(
      tools.map(tool => [tool.name, ajv.compile(tool.parameters as object)]),
    );
    let sawText = false;
    let sawCall = false;
    for (const toolChoice of ['auto', 'required'] as const) {
      const processor = toolCallConstraint(tools, { tokenizer: bytes, toolChoice });
      for (let seed = 1; seed <= 40; seed++) {
        const { text } = randomWalk(processor, seed);
        const { calls } = parseToolCalls(text);
        if (calls.length === 0) {
          expect(toolChoice).toBe('auto');
          expect(text.startsWith('<tool_call>\n')).toBe(false);
          sawText = true;
        }
        for (const parsed of calls) {
          const validate = validators.get(parsed.name);
          assert(validate, `no validator for ${parsed.name}`);
          expect(validate(parsed.arguments), JSON.stringify(parsed)).toBe(true);
          sawCall = true;
        }
      }
    }
    expect(sawText && sawCall).toBe(true);
  });

  it('with maxTokens, a call is only begun when it can close in the budget, and always does', () => {
    const required = toolCallConstraint(tools, { tokenizer: bytes, toolChoice: 'required' });
    const budget = required.minimalTokens + 4;
    const processor = toolCallConstraint(tools, {
      tokenizer: bytes,
      toolChoice: 'required',
      maxTokens: budget,
    });
    for (let seed = 1; seed <= 20; seed++) {
      const { text, tokens } = randomWalk(processor, seed);
      expect(tokens).toBeLessThanOrEqual(budget);
      expect(parseToolCalls(text).calls).toHaveLength(1);
    }
    expect(() =>
      toolCallConstraint(tools, {
        tokenizer: bytes,
        toolChoice: 'required',
        maxTokens: required.minimalTokens - 1,
      }),
    ).toThrow(/maxTokens/);
    // auto with a budget too small for any call: text only, never a cut call.
    const auto = toolCallConstraint(tools, { tokenizer: bytes, maxTokens: 10 });
    for (let seed = 1; seed <= 20; seed++)
      expect(parseToolCalls(randomWalk(auto, seed).text).calls).toEqual([]);
  });

  it.each([
    [[weather, weather], 'auto', 'tools[1]'],
    [[{ name: '' }], 'auto', 'tools[0]'],
    [[], 'required', 'tools'],
    [tools, { name: 'search' }, 'toolChoice'],
    [tools, 'sometimes', 'toolChoice'],
    [
      [{ name: 'f', parameters: { type: 'string', format: 'email' } }],
      'auto',
      'tools[0].parameters',
    ],
  ] as const)('rejects %j with toolChoice %j (argument %s)', (badTools, toolChoice, argument) => {
    let error: unknown;
    try {
      toolCallConstraint(badTools as ToolSpec[], {
        tokenizer: bytes,
        toolChoice: toolChoice as never,
      });
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});

describe('parseToolCalls / formatToolCalls / toolPrompt', () => {
  it('round-trips calls and leaves text alone', () => {
    const calls = [{ name: 'add', arguments: { a: 1, b: 2 } }];
    expect(parseToolCalls(formatToolCalls(calls))).toEqual({ text: '', calls });
    expect(parseToolCalls('Hello <tool_call>')).toEqual({ text: 'Hello <tool_call>', calls: [] });
    expect(parseToolCalls(call('f', { s: 'a } "x" ]' }))).toEqual({
      text: '',
      calls: [{ name: 'f', arguments: { s: 'a } "x" ]' } }],
    });
  });

  it('throws on a call that did not finish', () => {
    expect(() => parseToolCalls('<tool_call>\n{"name":"add","argum')).toThrow(InvalidArgumentError);
    expect(() => parseToolCalls(`${call('add', { a: 1 })} trailing`)).toThrow(
      /after its tool calls/,
    );
  });

  it('toolPrompt lists the tools (signatures, or full schemas) and the call format', () => {
    const prompt = toolPrompt(tools, { toolChoice: 'required' });
    expect(prompt).toContain('- get_weather(city: string, unit: "c" | "f"): Weather in a city\n');
    expect(prompt).toContain('- add(a: integer, b: small)\n');
    expect(
      toolPrompt([
        {
          name: 'f',
          parameters: {
            type: 'object',
            properties: {
              xs: { type: 'array', items: { enum: [1, 2] } },
              o: { type: 'object', properties: { k: { type: 'string' } }, required: ['k'] },
            },
          },
        },
      ]),
    ).toContain('- f(xs?: (1 | 2)[], o?: { k: string })');
    const full = toolPrompt(tools, { detail: 'schema' });
    expect(full).toContain('"name":"get_weather"');
    expect(full).toContain('"description":"Weather in a city"');
    expect(prompt).toContain('You must call one of them.');
    expect(prompt).toContain('<tool_call>\n{"name":"get_weather","arguments":{...}}\n</tool_call>');
    expect(toolPrompt(tools, { toolChoice: { name: 'add' } })).not.toContain('get_weather');
  });
});

describe('toolCallStream', () => {
  /** Feeds `text` in pieces of `size` characters; returns the deltas. */
  function stream(text: string, size: number, format?: Parameters<typeof toolCallStream>[0]) {
    const reader = toolCallStream(format);
    const deltas = [];
    for (let i = 0; i < text.length; i += size)
      deltas.push(...reader.push(text.slice(i, i + size)));
    return deltas;
  }

  it.each([1, 3, 1000])(
    'pieces of %i characters: the name once, argument text that concatenates exactly',
    size => {
      const raw = '{"city":"Oslo","unit":"c","nested":{"s":"a } \\" ]"}}';
      const text = `<tool_call>\n{"name":"get_weather","arguments":${raw}}\n</tool_call>`;
      const deltas = stream(text, size);
      expect(deltas.filter(delta => delta.name !== undefined)).toEqual([
        { index: 0, name: 'get_weather' },
      ]);
      expect(deltas.map(delta => delta.argumentsDelta ?? '').join('')).toBe(raw);
      if (size === 1) expect(deltas.filter(delta => delta.argumentsDelta).length).toBe(raw.length);
    },
  );

  it('parallel calls count up their index; a suffix inside a string does not end the arguments', () => {
    const format = { prefix: '[CALL]', suffix: '[/CALL]', separator: ';' };
    const text =
      '[CALL]{"name":"a","arguments":{"x":"[/CALL]"}}[/CALL];[CALL]{"name":"b","arguments":{}}[/CALL]';
    const deltas = stream(text, 2, { format });
    const byIndex = (index: number) => deltas.filter(delta => delta.index === index);
    expect(byIndex(0).find(delta => delta.name)?.name).toBe('a');
    expect(
      byIndex(0)
        .map(delta => delta.argumentsDelta ?? '')
        .join(''),
    ).toBe('{"x":"[/CALL]"}');
    expect(byIndex(1).find(delta => delta.name)?.name).toBe('b');
    expect(
      byIndex(1)
        .map(delta => delta.argumentsDelta ?? '')
        .join(''),
    ).toBe('{}');
  });
});
