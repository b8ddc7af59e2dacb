import { InvalidArgumentError } from '@decodekit/core';
import {
  AIMessage,
  ChatMessage,
  HumanMessage,
  SystemMessage,
  ToolMessage,
} from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { toChatMessages } from './to-chat-messages.js';

describe('toChatMessages', () => {
  it('maps LangChain roles onto chat-template roles', () => {
    expect(
      toChatMessages([
        new SystemMessage('Be brief.'),
        new HumanMessage('Hi'),
        new AIMessage('Hello'),
        new ToolMessage({ content: '3', tool_call_id: 'call-1' }),
        new ChatMessage('Narrate.', 'narrator'),
      ]),
    ).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'tool', content: '3' },
      { role: 'narrator', content: 'Narrate.' },
    ]);
  });

  it('joins text blocks, drops an assistant’s tool-call and reasoning blocks, and writes its tool_calls', () => {
    const messages = toChatMessages([
      new HumanMessage({
        content: [
          { type: 'text', text: 'Hello ' },
          { type: 'text', text: 'there' },
        ],
      }),
      new AIMessage({
        content: [
          { type: 'reasoning', reasoning: 'hidden' },
          { type: 'text', text: 'Sure.' },
          { type: 'tool_use', id: 'x', name: 'add', input: {} },
        ],
        tool_calls: [{ id: 'x', name: 'add', args: {}, type: 'tool_call' }],
      }),
    ]);
    expect(messages).toEqual([
      { role: 'user', content: 'Hello there' },
      {
        role: 'assistant',
        content: 'Sure.\n<tool_call>\n{"name":"add","arguments":{}}\n</tool_call>',
      },
    ]);
    const custom = toChatMessages(
      [
        new AIMessage({
          content: '',
          tool_calls: [{ id: 'y', name: 'f', args: { x: 1 }, type: 'tool_call' }],
        }),
      ],
      { toolCallFormat: { prefix: '[CALL]', suffix: '[/CALL]', argumentsKey: 'parameters' } },
    );
    expect(custom).toEqual([
      { role: 'assistant', content: '[CALL]{"name":"f","parameters":{"x":1}}[/CALL]' },
    ]);
  });

  it('rejects non-text content with the message index', () => {
    const image = new HumanMessage({
      content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }],
    });
    let error: unknown;
    try {
      toChatMessages([new HumanMessage('hi'), image]);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe('messages[1]');
    expect((error as Error).message).toMatch(/image_url.*text only/);
  });
});
