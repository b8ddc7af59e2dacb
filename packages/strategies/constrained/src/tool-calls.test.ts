import { InvalidArgumentError } from '@decodekit/core';
import Ajv2020 from 'ajv/dist/2020.js';
import { assert, describe, expect, it } from 'vitest';
import { byteTokenizer } from './__fixtures__/byte-tokenizer.js';
import { randomWalk } from './__fixtures__/random-walk.js';
import {
  JSON_TOOL_CALL_FORMAT,
  formatToolCalls,
  normalizeJsonSchema,
  outputConstraint,
  parseToolCalls,
  readToolCalls,
  toolCallConstraint,
  toolCallStream,
  toolPrompt,
  validateTools,
  type ConstraintProcessor,
  type ToolCallFormat,
  type ToolDefinition,
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

const weather: ToolDefinition = {
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 8 }, unit: { enum: ['c', 'f'] } },
    required: ['city', 'unit'],
  },
};
const add: ToolDefinition = {
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
      { name: 'add', arguments: { a: 1, b: 2 }, argumentsText: '{"a":1,"b":2}' },
      {
        name: 'get_weather',
        arguments: { city: 'Rome', unit: 'c' },
        argumentsText: '{"city":"Rome","unit":"c"}',
      },
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
      { name: 'add', arguments: { a: 5, b: 6 }, argumentsText: '{"a":5,"b":6}' },
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
        const { text } = randomWalk(processor, seed, bytes);
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
      const { text, tokens } = randomWalk(processor, seed, bytes);
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
      expect(parseToolCalls(randomWalk(auto, seed, bytes).text).calls).toEqual([]);
  });

  it.each([
    [[weather, weather], 'auto', 'tools[1].name'],
    [[{ name: '' }], 'auto', 'tools[0].name'],
    [[{ name: 'bad name' }], 'auto', 'tools[0].name'],
    [[], 'required', 'toolChoice'],
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
      toolCallConstraint(badTools as ToolDefinition[], {
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
    const calls = [{ name: 'add', arguments: { a: 1, b: 2 }, argumentsText: '{"a":1,"b":2}' }];
    expect(parseToolCalls(formatToolCalls(calls))).toEqual({ text: '', calls });
    expect(parseToolCalls('Hello <tool_call>')).toEqual({ text: 'Hello <tool_call>', calls: [] });
    expect(parseToolCalls(call('f', { s: 'a } "x" ]' }))).toEqual({
      text: '',
      calls: [{ name: 'f', arguments: { s: 'a } "x" ]' }, argumentsText: '{"s":"a } \\"x\\" ]"}' }],
    });
  });

  it('throws on a call that did not finish (readToolCalls reads it as text)', () => {
    expect(() => parseToolCalls('<tool_call>\n{"name":"add","argum')).toThrow(InvalidArgumentError);
    expect(readToolCalls('<tool_call>\n{"name":"add","argum')).toEqual({
      text: '<tool_call>\n{"name":"add","argum',
      calls: [],
    });
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
    for (let i = 0; i < text.length; i += size) {
      const piece = reader.push(text.slice(i, i + size));
      expect(piece.text).toBe('');
      deltas.push(...piece.calls);
    }
    expect(reader.end()).toEqual({ text: '', calls: [] });
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

describe('toolCallStream: text or a call', () => {
  it('holds back a strict prefix of the marker, then lets text through as it comes', () => {
    const reader = toolCallStream();
    expect(reader.push('<to')).toEqual({ text: '', calls: [] });
    expect(reader.mode).toBe('undecided');
    expect(reader.push('ol>')).toEqual({ text: '<tool>', calls: [] });
    expect(reader.mode).toBe('text');
    expect(reader.push(' and <tool_call>')).toEqual({ text: ' and <tool_call>', calls: [] });
    expect(reader.end()).toEqual({ text: '', calls: [] });
  });

  it('gives back held text at the end, and a call cut before its name as text', () => {
    const held = toolCallStream();
    expect(held.push('<tool_')).toEqual({ text: '', calls: [] });
    expect(held.end()).toEqual({ text: '<tool_', calls: [] });
    const cut = toolCallStream();
    expect(cut.push('<tool_call>\n{"na')).toEqual({ text: '', calls: [] });
    expect(cut.mode).toBe('call');
    expect(cut.end()).toEqual({ text: '<tool_call>\n{"na', calls: [] });
    const named = toolCallStream();
    named.push('<tool_call>\n{"name":"add","arguments":{"a":1');
    expect(named.namedCalls).toBe(1);
    expect(named.end()).toEqual({ text: '', calls: [] });
  });
});

/** Bare JSON calls (`JSON_TOOL_CALL_FORMAT`): what the OpenAI server and the AI SDK provider write. */
describe('JSON_TOOL_CALL_FORMAT', () => {
  const format: ToolCallFormat = JSON_TOOL_CALL_FORMAT;
  const plain = byteTokenizer();
  const jsonTools: ToolDefinition[] = [
    {
      name: 'get_weather',
      description: 'Weather of a city.',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string', maxLength: 12 } },
        required: ['city'],
      },
    },
    {
      name: 'add',
      parameters: {
        type: 'object',
        properties: { a: { $ref: '#/$defs/int' }, b: { $ref: '#/$defs/int' } },
        required: ['a', 'b'],
        $defs: { int: { type: 'integer', minimum: 0, maximum: 99 } },
      },
    },
  ];

  it.each([
    ['auto', 'Sunny today.', true],
    ['auto', '', true],
    ['auto', '{"name":"get_weather","arguments":{"city":"Paris"}}', true],
    ['auto', '{"name":"add","arguments":{"a":1,"b":42}}', true],
    ['auto', '{"name":"add","arguments":{"a":1,"b":420}}', false], // maximum 99 through a $ref
    ['auto', '{"name":"nope","arguments":{}}', false],
    ['auto', '{not a call', false],
    ['required', 'Sunny today.', false],
    ['required', '{"name":"add","arguments":{"a":3,"b":4}}', true],
    [{ name: 'add' }, '{"name":"get_weather","arguments":{"city":"Oslo"}}', false],
    [{ name: 'add' }, '{"name":"add","arguments":{"a":3,"b":4}}', true],
    ['none', '{"name":"add","arguments":{"a":3,"b":4}}', false],
    ['none', 'Sunny.', true],
  ] as const)('choice %j accepts %j: %s', (toolChoice, text, expected) => {
    const processor = toolCallConstraint(jsonTools, { tokenizer: plain, toolChoice, format });
    expect(accepts(processor, text)).toBe(expected);
  });

  it('parallel calls are joined by newlines and read back in order', () => {
    const processor = toolCallConstraint(jsonTools, {
      tokenizer: plain,
      toolChoice: 'required',
      parallel: true,
      format,
    });
    const two =
      '{"name":"add","arguments":{"a":1,"b":2}}\n{"name":"get_weather","arguments":{"city":"Rome"}}';
    expect(accepts(processor, two)).toBe(true);
    expect(parseToolCalls(two, { format }).calls.map(call => call.name)).toEqual([
      'add',
      'get_weather',
    ]);
  });

  it('closes a call within the token budget', () => {
    const processor = toolCallConstraint([jsonTools[1]], {
      tokenizer: plain,
      toolChoice: 'required',
      maxTokens: 60,
      format,
    });
    let state = processor.init([]);
    const ids: number[] = [];
    // Always take the highest allowed byte (longest detours first); the budget must still close the call.
    for (let step = 0; step < 60; step++) {
      const allowed = processor.allowedTokens(state);
      if (allowed.includes(0) && allowed.length === 1) break;
      const token = Math.max(...allowed.filter(id => id !== 0));
      ids.push(token);
      state = processor.advance(state, token);
    }
    expect(processor.isComplete(state)).toBe(true);
    expect(parseToolCalls(plain.decode(ids), { format }).calls[0]?.name).toBe('add');
  });

  it('reads calls and leaves text alone', () => {
    expect(parseToolCalls('{"name":"add","arguments":{"a":1,"b":2}}', { format })).toEqual({
      text: '',
      calls: [{ name: 'add', arguments: { a: 1, b: 2 }, argumentsText: '{"a":1,"b":2}' }],
    });
    expect(parseToolCalls('Hello', { format })).toEqual({ text: 'Hello', calls: [] });
    expect(() => parseToolCalls('{"name":"add","argu', { format })).toThrow(/raise maxTokens/);
    expect(readToolCalls('{"name":"add","argu', { format })).toEqual({
      text: '{"name":"add","argu',
      calls: [],
    });
  });

  it.each([1, 2, 3, 7, 100])(
    'streams the name once and argument deltas that add up to the call (chunks of %d)',
    size => {
      const text = '{"name":"get_weather","arguments":{"city":"Par}is","days":{"n":[1,2]}}}';
      const reader = toolCallStream({ format });
      const names: string[] = [];
      let args = '';
      for (let at = 0; at < text.length; at += size) {
        const { text: plainText, calls } = reader.push(text.slice(at, at + size));
        expect(plainText).toBe('');
        for (const delta of calls) {
          if (delta.name) names.push(delta.name);
          args += delta.argumentsDelta ?? '';
        }
      }
      expect(reader.end()).toEqual({ text: '', calls: [] });
      expect(names).toEqual(['get_weather']);
      expect(args).toBe(parseToolCalls(text, { format }).calls[0]?.argumentsText);
      expect(JSON.parse(args)).toEqual({ city: 'Par}is', days: { n: [1, 2] } });
    },
  );

  it('streams text that is not a call as text', () => {
    const reader = toolCallStream({ format });
    expect(reader.push('Hello {"name":"x"')).toEqual({ text: 'Hello {"name":"x"', calls: [] });
    expect(reader.end()).toEqual({ text: '', calls: [] });
    expect(reader.namedCalls).toBe(0);
  });

  it('writes the call format and the tool list into the prompt', () => {
    const text = toolPrompt(jsonTools, { toolChoice: 'required', format, detail: 'schema' });
    expect(text).toContain('{"name":"get_weather","description":"Weather of a city."');
    expect(text).toContain(
      'You must call one of them. To call a tool, answer with exactly:\n{"name":"get_weather","arguments":{...}}',
    );
    expect(formatToolCalls([{ name: 'add', arguments: { a: 1 } }], { format })).toBe(
      '{"name":"add","arguments":{"a":1}}',
    );
  });
});

describe('validateTools', () => {
  it.each([
    [[{ name: 'bad name', parameters: { type: 'object' } }], 'auto', 'tools[0].name'],
    [[weather, weather], 'auto', 'tools[1].name'],
    [[{ name: 'x', parameters: { type: 'object', not: {} } }], 'auto', 'tools[0].parameters'],
    [tools, { name: 'missing' }, 'toolChoice'],
    [[], 'required', 'toolChoice'],
    [tools, 'sometimes', 'toolChoice'],
  ] as const)('rejects bad tools %#', (bad, choice, argument) => {
    const error = (() => {
      try {
        validateTools(bad as unknown as ToolDefinition[], choice as never);
      } catch (caught) {
        return caught;
      }
    })();
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('says how to fix a repeated name', () => {
    expect(() => validateTools([weather, weather])).toThrow(/repeats the name "get_weather"/);
  });
});

describe('normalizeJsonSchema', () => {
  it('drops propertyNames that only say keys are strings, at any depth, without touching the input', () => {
    const schema = {
      type: 'object',
      properties: {
        tags: {
          type: 'object',
          propertyNames: { type: 'string' },
          additionalProperties: { type: 'number' },
        },
        list: { type: 'array', items: [{ propertyNames: {} }] },
        strict: { type: 'object', propertyNames: { type: 'string', maxLength: 3 } },
        propertyNames: { type: 'string' }, // a property called "propertyNames" stays
      },
    };
    const snapshot = structuredClone(schema);
    expect(normalizeJsonSchema(schema)).toEqual({
      type: 'object',
      properties: {
        tags: { type: 'object', additionalProperties: { type: 'number' } },
        list: { type: 'array', items: [{}] },
        strict: { type: 'object', propertyNames: { type: 'string', maxLength: 3 } },
        propertyNames: { type: 'string' },
      },
    });
    expect(schema).toEqual(snapshot);
  });
  it('drops no-op propertyNames but keeps a property named propertyNames', () => {
    expect(
      normalizeJsonSchema({
        type: 'object',
        propertyNames: { type: 'string' },
        properties: { propertyNames: { type: 'string' } },
      }),
    ).toEqual({
      type: 'object',
      properties: { propertyNames: { type: 'string' } },
    });
  });
});

describe('outputConstraint', () => {
  const plain = byteTokenizer();
  /** The processor a call that must constrain returned. */
  function constraintOf(processor: ConstraintProcessor | undefined): ConstraintProcessor {
    assert(processor, 'expected a constraint, got undefined');
    return processor;
  }

  it('picks the schema, the tools (in their call format) or nothing', () => {
    const digit = { schema: { type: 'integer', maximum: 9 } } as const;
    expect(accepts(constraintOf(outputConstraint(digit, { tokenizer: plain })), '7')).toBe(true);
    expect(accepts(constraintOf(outputConstraint(digit, { tokenizer: plain })), '17')).toBe(false);
    expect(
      accepts(
        constraintOf(
          outputConstraint(
            { tools, toolChoice: 'required', callFormat: JSON_TOOL_CALL_FORMAT },
            { tokenizer: plain },
          ),
        ),
        '{"name":"add","arguments":{"a":1,"b":2}}',
      ),
    ).toBe(true);
    expect(
      accepts(
        constraintOf(outputConstraint({ tools, toolChoice: 'required' }, { tokenizer: plain })),
        call('add', { a: 1, b: 2 }),
      ),
    ).toBe(true);
    expect(outputConstraint({}, { tokenizer: plain })).toBeUndefined();
    expect(outputConstraint({ tools, toolChoice: 'none' }, { tokenizer: plain })).toBeUndefined();
    expect(outputConstraint({ tools: [] }, { tokenizer: plain })).toBeUndefined();
    expect(
      outputConstraint(
        { schema: { type: 'object', propertyNames: { type: 'string' } } },
        { tokenizer: plain },
      ),
    ).toBeDefined();
  });

  it('rejects a schema together with active tools, and schemas it cannot enforce', () => {
    expect(() =>
      outputConstraint({ schema: { type: 'string' }, tools }, { tokenizer: plain }),
    ).toThrow(/cannot apply to one answer/);
    expect(
      outputConstraint(
        { schema: { type: 'string' }, tools, toolChoice: 'none' },
        { tokenizer: plain },
      ),
    ).toBeDefined();
    expect(() =>
      outputConstraint({ schema: { type: 'string', format: 'email' } }, { tokenizer: plain }),
    ).toThrow(InvalidArgumentError);
  });
});
