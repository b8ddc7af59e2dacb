import { InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { toChatMessages } from './index.js';

const tools = [
  {
    name: 'lookup',
    description: 'Looks up a word.',
    parameters: { type: 'object', properties: { word: { type: 'string' } } },
  },
];

describe('toChatMessages', () => {
  it('renders calls in the constrained format, results as tool turns, and opens with the tool instruction', () => {
    const messages = toChatMessages(
      [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look up ' },
            { type: 'text', text: 'cat.' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'hidden' },
            { type: 'tool-call', toolCallId: '1', toolName: 'lookup', input: { word: 'cat' } },
          ],
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: '1',
              toolName: 'lookup',
              output: { type: 'json', value: { meaning: 'an animal' } },
            },
          ],
        },
      ],
      tools,
      'auto',
    );
    expect(messages.map(message => message.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(messages[0].content).toMatch(
      /^Be brief\.\n\nYou can call these tools:\n- lookup\(word\?: string\): Looks up a word\.\n/,
    );
    expect(messages[1].content).toBe('Look up cat.');
    expect(messages[2].content).toBe('{"name":"lookup","arguments":{"word":"cat"}}');
    expect(messages[3].content).toBe('{"meaning":"an animal"}');
  });

  it('leaves the tools out under "none" and rejects non-text files', () => {
    expect(
      toChatMessages([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools, 'none'),
    ).toEqual([{ role: 'user', content: 'hi' }]);
    expect(() =>
      toChatMessages(
        [
          {
            role: 'user',
            content: [
              {
                type: 'file',
                mediaType: 'image/png',
                data: { type: 'data', data: new Uint8Array(1) },
              },
            ],
          },
        ],
        [],
        'auto',
      ),
    ).toThrow(InvalidArgumentError);
  });
});
