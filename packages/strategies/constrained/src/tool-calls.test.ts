import { InvalidArgumentError } from '@decodekit/core';
import { assert, describe, expect, it } from 'vitest';
import { byteTokenizer } from './__fixtures__/byte-tokenizer.js';
import {
  normalizeJsonSchema,
  outputConstraint,
  parseToolCall,
  toolCallReader,
  toolCalls,
  toolInstruction,
  validateTools,
  type ConstraintProcessor,
  type ToolDefinition,
} from './index.js';

const tokenizer = byteTokenizer();

/** The processor a call that must constrain returned. */
function constraintOf(processor: ConstraintProcessor | undefined): ConstraintProcessor {
  assert(processor, 'expected a constraint, got undefined');
  return processor;
}

/** True when the processor lets `text` through byte by byte and then allows EOS (id 0). */
function accepts(processor: ConstraintProcessor, text: string): boolean {
  let state = processor.init([]);
  for (const byte of new TextEncoder().encode(text)) {
    if (!processor.allowedTokens(state).includes(1 + byte)) return false;
    state = processor.advance(state, 1 + byte);
  }
  return processor.allowedTokens(state).includes(0);
}

const tools: ToolDefinition[] = [
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

describe('toolCalls', () => {
  it.each([
    ['auto', 'Sunny today.', true],
    ['auto', '', true],
    ['auto', '{"name":"get_weather","arguments":{"city":"Paris"}}', true],
    ['auto', '{"name":"add","arguments":{"a":1,"b":42}}', true],
    ['auto', '{"name":"add","arguments":{"a":1,"b":420}}', false], // maximum 99 through a rebased $ref
    ['auto', '{"name":"nope","arguments":{}}', false],
    ['auto', '{not a call', false],
    ['required', 'Sunny today.', false],
    ['required', '{"name":"add","arguments":{"a":3,"b":4}}', true],
    [{ name: 'add' }, '{"name":"get_weather","arguments":{"city":"Oslo"}}', false],
    [{ name: 'add' }, '{"name":"add","arguments":{"a":3,"b":4}}', true],
  ] as const)('choice %j accepts %j: %s', (choice, text, expected) => {
    const processor = constraintOf(toolCalls({ tools, choice }, { tokenizer }));
    expect(accepts(processor, text)).toBe(expected);
  });

  it('constrains nothing under "none" or without tools', () => {
    expect(toolCalls({ tools, choice: 'none' }, { tokenizer })).toBeUndefined();
    expect(toolCalls({ tools: [] }, { tokenizer })).toBeUndefined();
  });

  it('closes a call within the token budget', () => {
    const processor = constraintOf(
      toolCalls({ tools: [tools[1]], choice: 'required' }, { tokenizer, maxTokens: 60 }),
    );
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
    const call = parseToolCall(tokenizer.decode(ids), tools);
    expect(call?.name).toBe('add');
  });

  it.each([
    [[{ name: 'bad name', parameters: { type: 'object' } }], 'auto', 'tools[0].name'],
    [[tools[0], tools[0]], 'auto', 'tools[1].name'],
    [[{ name: 'x', parameters: { type: 'object', not: {} } }], 'auto', 'tools[0].parameters'],
    [tools, { name: 'missing' }, 'toolChoice'],
    [[], 'required', 'toolChoice'],
  ] as const)('rejects bad tools %#', (bad, choice, argument) => {
    const error = (() => {
      try {
        validateTools(bad as unknown as ToolDefinition[], choice);
      } catch (caught) {
        return caught;
      }
    })();
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});

describe('parseToolCall', () => {
  it('reads calls and leaves text alone', () => {
    expect(parseToolCall('{"name":"add","arguments":{"a":1,"b":2}}', tools)).toEqual({
      name: 'add',
      arguments: { a: 1, b: 2 },
      argumentsText: '{"a":1,"b":2}',
    });
    expect(parseToolCall('Hello')).toBeUndefined();
    expect(() => parseToolCall('{"name":"add","argu')).toThrow(/raise maxTokens/);
    expect(() => parseToolCall('{"name":"zzz","arguments":{}}', tools)).toThrow(
      /not among the tools/,
    );
  });
});

describe('helpers', () => {
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

  it('describes the tools and the call format', () => {
    const text = toolInstruction(tools, 'required');
    expect(text).toContain('get_weather: Weather of a city.');
    expect(text).toContain('Answer only with {"name"');
  });
});

describe('outputConstraint', () => {
  it('picks the schema, the tools or nothing', () => {
    expect(
      accepts(
        constraintOf(outputConstraint({ schema: { type: 'integer', maximum: 9 } }, { tokenizer })),
        '7',
      ),
    ).toBe(true);
    expect(
      accepts(
        constraintOf(outputConstraint({ schema: { type: 'integer', maximum: 9 } }, { tokenizer })),
        '17',
      ),
    ).toBe(false);
    expect(
      accepts(
        constraintOf(outputConstraint({ tools, toolChoice: 'required' }, { tokenizer })),
        '{"name":"add","arguments":{"a":1,"b":2}}',
      ),
    ).toBe(true);
    expect(outputConstraint({}, { tokenizer })).toBeUndefined();
    expect(
      outputConstraint(
        { schema: { type: 'object', propertyNames: { type: 'string' } } },
        { tokenizer },
      ),
    ).toBeDefined();
  });

  it('rejects a schema together with active tools, and schemas it cannot enforce', () => {
    expect(() => outputConstraint({ schema: { type: 'string' }, tools }, { tokenizer })).toThrow(
      /cannot apply to one answer/,
    );
    expect(
      outputConstraint({ schema: { type: 'string' }, tools, toolChoice: 'none' }, { tokenizer }),
    ).toBeDefined();
    expect(() =>
      outputConstraint({ schema: { type: 'string', format: 'email' } }, { tokenizer }),
    ).toThrow(InvalidArgumentError);
  });
});

describe('toolCallReader', () => {
  it.each([1, 2, 3, 7, 100])(
    'streams the name once and argument deltas that add up to the call (chunks of %d)',
    size => {
      const text = '{"name":"get_weather","arguments":{"city":"Par}is","days":{"n":[1,2]}}}';
      const reader = toolCallReader();
      const names: string[] = [];
      let args = '';
      for (let at = 0; at < text.length; at += size) {
        const { name, argumentsDelta } = reader.push(text.slice(at, at + size));
        if (name) names.push(name);
        args += argumentsDelta;
        expect(args.length).toBeLessThan(text.length - '{"name":"get_weather","arguments":'.length); // the closing brace is held back
      }
      args += reader.end();
      expect(names).toEqual(['get_weather']);
      expect(reader.name).toBe('get_weather');
      expect(args).toBe(parseToolCall(text)?.argumentsText);
      expect(JSON.parse(args)).toEqual({ city: 'Par}is', days: { n: [1, 2] } });
    },
  );

  it('reads nothing from text that is not a call', () => {
    const reader = toolCallReader();
    expect(reader.push('Hello {"name":"x"')).toEqual({ argumentsDelta: '' });
    expect(reader.end()).toBe('');
    expect(reader.name).toBeUndefined();
  });
});
